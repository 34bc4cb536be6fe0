"""Categories: the SLA policy in force for one, its extra questions, and answers checked
against those questions (typed like Open311 attributes).

The catalogue (categories, their questions and SLA policies) and the routing directory are
read on every submission but change a few times a year, so each process keeps a snapshot of
them in memory (:func:`catalogue`). Every change to one of those tables — through a service,
the admin, the seed, in any process — writes a fresh random token into ``CatalogueStamp`` in
the same transaction (signals below, and explicit :func:`catalogue_changed` calls where rows
are changed with a queryset ``update``). A reader compares the token (one primary-key read)
with its snapshot's and loads again when they differ: a submission never sees a rule retired
or a category withdrawn in a committed transaction, whichever process made the change.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from sanan.core import hotpath
from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation
from sanan.workorders.models import (
    CatalogueStamp,
    Category,
    CategoryQuestion,
    QuestionType,
    RoutingRule,
    SlaPolicy,
)
from sanan.workorders.sla import local_zone

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_STRING = 200
MAX_TEXT = 4000


# --- the per-process snapshot -----------------------------------------------------------------


@dataclass
class Catalogue:
    """Categories (by id and path, with their own SLA policy), their own questions, the
    general policy and the active routing rules (by place path), as of ``token``."""

    token: str
    categories: dict[int, Category] = field(default_factory=dict)
    by_path: dict[str, Category] = field(default_factory=dict)
    questions: dict[str, list[CategoryQuestion]] = field(default_factory=dict)
    general: SlaPolicy | None = None
    rules: dict[str, list[RoutingRule]] = field(default_factory=dict)

    def policy_for(self, category: Category) -> SlaPolicy:
        for path in reversed(category.ancestor_paths()):
            holder = self.by_path.get(path)
            if holder is not None and holder.sla_policy is not None:
                return holder.sla_policy
        if self.general is None:
            raise DomainError(
                "work_order.no_sla_policy",
                _("No deadline policy applies to this category; ask the administrator to set one."),
            )
        return self.general

    def questions_for(self, category: Category) -> list[CategoryQuestion]:
        return [q for path in category.ancestor_paths() for q in self.questions.get(path, ())]

    def rules_for(self, category: Category, place_path: str, steplen: int) -> list[RoutingRule]:
        """Active rules of the place and its ancestors for the category's subtree (or for
        any category: the backstops)."""
        ancestors = set(category.ancestor_paths())
        found: list[RoutingRule] = []
        for i in range(steplen, len(place_path) + 1, steplen):
            for rule in self.rules.get(place_path[:i], ()):
                if rule.category is None or rule.category.path in ancestors:
                    found.append(rule)
        return found


def _stamp() -> str:
    """The catalogue's token, read on every use of the catalogue (``core.hotpath``)."""
    rows = hotpath.fetch("SELECT token FROM {0} WHERE id = 1", [], CatalogueStamp)
    return str(rows[0][0]) if rows else ""


def _load(token: str) -> Catalogue:
    snap = Catalogue(token=token)
    for category in Category.objects.select_related("sla_policy").order_by("path"):
        snap.categories[category.pk] = category
        snap.by_path[category.path] = category
    for question in CategoryQuestion.objects.select_related("category").order_by(
        "category__path", "order", "pk"
    ):
        snap.questions.setdefault(question.category.path, []).append(question)
    snap.general = SlaPolicy.objects.filter(code="general").first()
    rules = (
        RoutingRule.objects.filter(active=True)
        .select_related("category", "place", "lead_organisation")
        .prefetch_related("co_handlers")
        .order_by("pk")
    )
    for rule in rules:
        snap.rules.setdefault(rule.place.path, []).append(rule)
    return snap


class _CatalogueCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Catalogue | None = None

    def get(self) -> Catalogue:
        token = _stamp()  # read before the rows: the rows are at least as new as the token
        with self._lock:
            if self._snapshot is not None and self._snapshot.token == token:
                return self._snapshot
        snap = _load(token)
        with self._lock:
            self._snapshot = snap
        return snap

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


catalogue_cache = _CatalogueCache()


def catalogue() -> Catalogue:
    """The catalogue and routing directory in force (one small read when unchanged)."""
    return catalogue_cache.get()


def catalogue_changed(**_kwargs: Any) -> None:
    """Give the catalogue a new token in the current transaction (every process reloads)."""
    token = uuid.uuid4().hex
    if CatalogueStamp.objects.filter(pk=1).update(token=token):
        return
    try:
        with transaction.atomic():
            CatalogueStamp.objects.create(pk=1, token=token)
    except IntegrityError:  # created meanwhile by another transaction
        CatalogueStamp.objects.filter(pk=1).update(token=token)


_WATCHED: Iterable[type] = (Category, CategoryQuestion, SlaPolicy, RoutingRule, Organisation)
for _model in _WATCHED:
    post_save.connect(catalogue_changed, sender=_model, weak=False, dispatch_uid=f"cat-{_model}")
    post_delete.connect(
        catalogue_changed, sender=_model, weak=False, dispatch_uid=f"cat-del-{_model}"
    )
m2m_changed.connect(
    catalogue_changed,
    sender=RoutingRule.co_handlers.through,
    weak=False,
    dispatch_uid="cat-routing-co",
)


# --- policies and questions -------------------------------------------------------------------


def effective_policy(category: Category) -> SlaPolicy:
    """The category's own policy, else the nearest ancestor's, else the general one."""
    return catalogue().policy_for(category)


def questions_for(category: Category) -> list[CategoryQuestion]:
    """The category's questions after those of its ancestors (a child asks them too)."""
    return catalogue().questions_for(category)


def _problem(code: str, message: Any) -> dict[str, list[Any]]:
    return {f"answers.{code}": [message]}


def _clean_one(question: CategoryQuestion, value: Any) -> Any:
    kind = question.datatype
    if kind in (QuestionType.STRING, QuestionType.TEXT):
        if not isinstance(value, str):
            raise ValueError(_("Write text here."))
        value = value.strip()
        limit = MAX_STRING if kind == QuestionType.STRING else MAX_TEXT
        if len(value) > limit:
            raise ValueError(_("At most %(n)d characters.") % {"n": limit})
        return value
    if kind == QuestionType.NUMBER:
        if isinstance(value, bool):
            raise ValueError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == QuestionType.DATETIME:
        parsed = parse_datetime(str(value)) if isinstance(value, str) else None
        if parsed is None:
            raise ValueError(_("Enter a date and time, e.g. 2026-11-26T08:30."))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=local_zone())
        return parsed.astimezone(dt.UTC).isoformat()
    keys = question.choice_keys()
    if kind == QuestionType.SINGLE:
        if str(value) not in keys:
            raise ValueError(_("Choose one of the offered answers."))
        return str(value)
    if kind == QuestionType.MULTI:
        if not isinstance(value, list) or not value:
            raise ValueError(_("Choose one or more of the offered answers."))
        chosen = [str(v) for v in value]
        if any(v not in keys for v in chosen):
            raise ValueError(_("Choose only among the offered answers."))
        return sorted(set(chosen), key=keys.index)
    raise ValueError(_("This question cannot be answered."))  # pragma: no cover


def clean_answers(
    category: Category, answers: dict[str, Any] | None, *, snapshot: Catalogue | None = None
) -> dict[str, Any]:
    """The answers, normalised, or ``work_order.invalid_answers`` (400) naming each problem:
    a required question unanswered, an unknown question, a value of the wrong type."""
    answers = dict(answers or {})
    problems: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    asked = (snapshot or catalogue()).questions_for(category)
    questions = {q.code: q for q in asked}
    for code in answers:
        if code not in questions:
            problems.update(_problem(code, _("This category does not ask this.")))
    for code, question in questions.items():
        value = answers.get(code)
        if value is None or value == "" or value == []:
            if question.required:
                problems.update(_problem(code, _("Please answer this question.")))
            continue
        try:
            cleaned[code] = _clean_one(question, value)
        except ValueError as exc:
            problems.update(_problem(code, exc.args[0]))
    if problems:
        raise DomainError(
            "work_order.invalid_answers",
            _("Some answers need correcting."),
            fields=problems,
        )
    return cleaned
