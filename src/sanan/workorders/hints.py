"""Reads the intake and order pages need beyond ``selectors``: orders one follows (the public
view of a parent one's duplicate was merged into), the answers to a category's questions in
words, and the reply templates a handler may start from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import formats, translation
from django.utils.dateparse import parse_datetime

from sanan.core.errors import NotFound
from sanan.workorders.catalogue import questions_for
from sanan.workorders.models import (
    Category,
    QuestionType,
    ResponseTemplate,
    TemplateStage,
    WorkOrder,
    WorkOrderFollower,
)
from sanan.workorders.selectors import with_relations
from sanan.workorders.sla import local_zone


def work_order_get_followed(*, user: Any, pk: int | str) -> WorkOrder:
    """An order ``user`` follows (for its public view); anything else is a 404."""
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise NotFound("not_found", "not found") from None
    if user_id is None:
        raise NotFound("not_found", "not found")
    followed = WorkOrderFollower.objects.filter(user_id=int(user_id)).values("order_id")
    order = with_relations(WorkOrder.objects.filter(pk=number, pk__in=followed)).first()
    if order is None:
        raise NotFound("not_found", "not found")
    return order


# --- answers in words -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    code: str
    label: str
    text: str


def _choice_name(question: Any, key: str) -> str:
    for value in question.values or []:
        if str(value.get("key")) == key:
            zh, en = value.get("name_zh", ""), value.get("name_en", "")
            english = (translation.get_language() or "").startswith("en")
            return str((en or zh) if english else (zh or en)) or key
    return key


def _in_words(question: Any, value: Any) -> str:
    kind = question.datatype if question is not None else None
    if kind == QuestionType.DATETIME and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            local = parsed.astimezone(local_zone()) if parsed.tzinfo else parsed
            return str(formats.date_format(local, "DATETIME_FORMAT"))
    if kind == QuestionType.SINGLE:
        return _choice_name(question, str(value))
    if kind == QuestionType.MULTI and isinstance(value, list):
        return "、".join(_choice_name(question, str(v)) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def work_order_answers(*, order: WorkOrder) -> list[Answer]:
    """The order's answers in the order its category asks them, each with its question in
    the reader's language and the answer in words (choices by name, times local); an answer
    to a question the category no longer asks is kept, under its code."""
    answers = order.answers or {}
    if not answers:
        return []
    rows: list[Answer] = []
    seen: set[str] = set()
    for question in questions_for(order.category):
        if question.code in answers and question.code not in seen:
            seen.add(question.code)
            rows.append(
                Answer(question.code, question.label, _in_words(question, answers[question.code]))
            )
    for code, value in answers.items():
        if code not in seen:
            rows.append(Answer(code, code, _in_words(None, value)))
    return rows


# --- reply templates --------------------------------------------------------------------------

# The reply field of each action's form and the template stage that fits it.
TEMPLATE_STAGES: dict[str, tuple[str, str]] = {
    "contact": ("public_note", TemplateStage.CONTACT),
    "start": ("public_note", TemplateStage.REPLY),
    "note": ("public_note", TemplateStage.REPLY),
    "finish": ("public_note", TemplateStage.FINISH),
    "return": ("reason", TemplateStage.RETURN),
}


def _language_code() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "zh-hans"


def response_templates_for(*, category: Category, stage: str) -> list[ResponseTemplate]:
    """Active templates of ``stage`` for ``category``: its own, its ancestors', and those for
    every category; in the reader's language when there are any in it, else all."""
    qs: QuerySet[ResponseTemplate] = ResponseTemplate.objects.filter(
        Q(category__isnull=True) | Q(category__path__in=category.ancestor_paths()),
        stage=stage,
        active=True,
    ).order_by(F("category__depth").desc(nulls_last=True), "order", "id")
    rows = list(qs)
    mine = [t for t in rows if t.language == _language_code()]
    return mine or rows


def response_template_get(*, category: Category, stage: str, pk: Any) -> ResponseTemplate | None:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return None
    return next(
        (t for t in response_templates_for(category=category, stage=stage) if t.pk == number),
        None,
    )


__all__ = [
    "TEMPLATE_STAGES",
    "Answer",
    "response_template_get",
    "response_templates_for",
    "work_order_answers",
    "work_order_get_followed",
]
