"""The admin of Open311 keys: issue, rotate and revoke through the services; the new key is
shown once, in the confirmation message. Secrets and hashes are never displayed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError
from sanan.open311.models import ApiKey
from sanan.open311.services import api_key_create, api_key_revoke, api_key_rotate, api_key_update
from sanan.places.models import Place, PlaceKind


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "jurisdiction", "rate_per_minute", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "jurisdiction" in self.fields:
            field = self.fields["jurisdiction"]
            field.queryset = Place.objects.filter(kind=PlaceKind.COMMUNITY)  # type: ignore[attr-defined]

    def clean_rate_per_minute(self) -> int:
        rate = int(self.cleaned_data["rate_per_minute"])
        if not 1 <= rate <= 100_000:
            raise forms.ValidationError(_("Between 1 and 100000."))
        return rate


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "jurisdiction", "rate_per_minute", "active", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["rotate", "revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ["prefix", "created_at", "revoked_at", "last_used_at"]
        return ["name", "jurisdiction", "prefix", "created_at", "revoked_at", "last_used_at"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ["name", "jurisdiction", "rate_per_minute", "note"]
        return [*self.get_readonly_fields(request, obj), "rate_per_minute", "note"]

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: ApiKey) -> bool:
        return obj.active

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the orders keep their client

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                api_key_update(
                    actor=request.user,
                    api_key=obj,
                    rate_per_minute=data["rate_per_minute"],
                    note=data.get("note", ""),
                )
                return
            issued = api_key_create(
                actor=request.user,
                name=data["name"],
                jurisdiction=data["jurisdiction"],
                rate_per_minute=data["rate_per_minute"],
                note=data.get("note", ""),
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return
        obj.pk = issued.api_key.pk
        messages.warning(
            request,
            _("The api_key of “%(name)s” is shown only now: %(key)s")
            % {"name": issued.api_key.name, "key": issued.key},
        )

    @admin.action(description=_("Rotate the selected keys (new secrets shown once)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for row in queryset:
            try:
                issued = api_key_rotate(actor=request.user, api_key=row)
            except DomainError as exc:
                messages.error(request, f"{row.name}: {exc.message}")
                continue
            messages.warning(
                request,
                _("The new api_key of “%(name)s” is shown only now: %(key)s")
                % {"name": row.name, "key": issued.key},
            )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for row in queryset:
            api_key_revoke(actor=request.user, api_key=row, reason="admin")
        messages.success(request, _("Revoked."))
