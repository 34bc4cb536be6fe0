"""Import and export of the registry over the API (mounted under ``/api/v1/registry/``).

Import, as the wizard does it:

1. ``POST imports/`` (multipart: ``file``, optional ``kind``) keeps the file (encrypted) and
   answers the job with the columns found and the proposed mapping;
2. ``POST imports/{id}/check/`` (``mapping``, optional ``kind``) checks every row in the
   background; ``GET imports/{id}/`` shows the progress, then the bad rows or the counts;
3. ``POST imports/{id}/apply/`` imports, all rows or none.

Export: ``POST exports/`` (``kind``, ``format``, ``filters``; ``reveal`` and ``reason`` for full
numbers) answers the file. Both need their permission (``resident.import``,
``resident.export``): without ``resident.view`` anywhere the endpoints do not exist (404),
with it but without the permission they are forbidden (403).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from sanan.core.parsers import StrictJSONParser
from sanan.registry import exports, imports
from sanan.registry.api import ErrorSerializer, RegistryApiMixin
from sanan.registry.models_io import ImportJob, ImportKind, ImportPhase, ImportState

PROBLEMS_SHOWN = 500


class ImportFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]


class DetectedColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    header = serializers.CharField()
    letter = serializers.CharField()
    field = serializers.CharField(help_text="the proposed field, empty when not recognised")
    samples = serializers.ListField(child=serializers.CharField())


class RowProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="the row number as the spreadsheet shows it")
    column = serializers.CharField()
    field = serializers.CharField()
    code = serializers.CharField(help_text="stable, e.g. resident.id_number_checksum")
    message = serializers.CharField(help_text="the reason, in the caller's language")


class ImportJobSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices, read_only=True)
    state = serializers.ChoiceField(choices=ImportState.choices, read_only=True)
    state_label = serializers.CharField(source="get_state_display")
    phase = serializers.ChoiceField(choices=[*ImportPhase.choices, ("", "")], read_only=True)
    phase_label = serializers.CharField(source="get_phase_display")
    percent = serializers.IntegerField()
    finished = serializers.BooleanField()
    problems = serializers.SerializerMethodField()
    counts = serializers.DictField(child=serializers.IntegerField())
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "filename",
            "file_format",
            "mapping",
            "dry_run",
            "state",
            "state_label",
            "phase",
            "phase_label",
            "rows_total",
            "rows_done",
            "percent",
            "finished",
            "counts",
            "problem_count",
            "problems",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RowProblemSerializer(many=True))
    def get_problems(self, job: ImportJob) -> list[dict[str, Any]]:
        return imports.import_job_problems(job, limit=PROBLEMS_SHOWN)


class ImportUploadOutput(serializers.Serializer):
    job = ImportJobSerializer()
    columns = DetectedColumnSerializer(many=True)
    targets = ImportFieldSerializer(many=True, help_text="the fields a column can go to")
    missing = serializers.ListField(child=serializers.CharField())


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportKind.choices, required=False)


class ImportRunInput(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="{column key: field}; the job's proposal when left out",
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices, required=False)


class ExportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    format = serializers.ChoiceField(choices=exports.FORMATS, default="xlsx")
    filters = serializers.DictField(required=False, help_text="the list filters, e.g. place")
    reveal = serializers.BooleanField(default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _upload_output(job: ImportJob, parsed: imports.ParsedFile) -> dict[str, Any]:
    return {
        "job": ImportJobSerializer(job).data,
        "columns": [DetectedColumnSerializer(c).data for c in parsed.columns],
        "targets": [
            {"name": f.name, "label": str(f.label), "required": f.required}
            for f in imports.FIELDS[parsed.kind]
        ],
        "missing": list(parsed.missing),
    }


class ImportJobViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    """Uploads of the registry import wizard; each user sees their own."""

    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return ImportJob.objects.visible_to(self.request.user)

    def _job(self) -> ImportJob:
        return imports.import_job_get_for(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        summary="Upload a spreadsheet to import (XLSX or CSV): its columns and a mapping",
        request={"multipart/form-data": ImportUploadInput},
        responses={201: ImportUploadOutput, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _valid(ImportUploadInput, request.data)
        upload = data["file"]
        job, parsed = imports.import_job_create(
            actor=request.user, file=upload, kind=data.get("kind"), filename=upload.name or ""
        )
        return Response(_upload_output(job, parsed), status=status.HTTP_201_CREATED)

    @extend_schema(summary="An import: progress, then the bad rows or the counts")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ImportJobSerializer(self._job()).data)

    @extend_schema(
        summary="The columns of an upload and the proposed mapping (again)",
        responses=ImportUploadOutput,
    )
    @action(detail=True, methods=["get"])
    def columns(self, request: Request, pk: str) -> Response:
        job = self._job()
        return Response(_upload_output(job, imports.import_job_parsed(job)))

    def _start(self, request: Request, *, dry_run: bool) -> Response:
        job = self._job()
        data = _valid(ImportRunInput, request.data)
        job = imports.import_job_start(
            actor=request.user,
            job=job,
            mapping=data.get("mapping"),
            kind=data.get("kind"),
            dry_run=dry_run,
            language=getattr(request, "LANGUAGE_CODE", ""),
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Check every row (writes nothing); poll the import for the report",
        request=ImportRunInput,
        responses={202: ImportJobSerializer, 400: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str) -> Response:
        return self._start(request, dry_run=True)

    @extend_schema(
        summary="Import: every row in one transaction, or none when a row is bad",
        request=ImportRunInput,
        responses={202: ImportJobSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def apply(self, request: Request, pk: str) -> Response:
        return self._start(request, dry_run=False)


class RegistryExportApi(RegistryApiMixin):
    """Residents, houses, rentals or vehicles as XLSX or CSV, numbers masked unless revealed."""

    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(
        summary="Export to XLSX or CSV (masked; `reveal` with a reason needs pii.reveal)",
        request=ExportInput,
        responses={
            (200, exports.CONTENT_TYPES["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY),
            (200, exports.CONTENT_TYPES["csv"]): OpenApiResponse(OpenApiTypes.BINARY),
            400: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> HttpResponse:
        data = _valid(ExportInput, request.data)
        content, result = exports.export_bytes(
            kind=data["kind"],
            actor=request.user,
            fmt=data["format"],
            filters=data.get("filters") or {},
            reveal=data["reveal"],
            reason=data["reason"],
        )
        response = HttpResponse(content, content_type=exports.CONTENT_TYPES[result.format])
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=result.filename
        )
        response["X-Export-Count"] = str(result.count)
        response["Cache-Control"] = "no-store"
        return response


router = SimpleRouter()
router.register("registry/imports", ImportJobViewSet, basename="registry-import")

urlpatterns: list[Any] = [
    path("registry/exports/", RegistryExportApi.as_view(), name="registry-export"),
    *router.urls,
]
