"""Categories: the SLA policy in force for one, its extra questions, and answers checked
against those questions (typed like Open311 attributes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError
from sanan.workorders.models import Category, CategoryQuestion, QuestionType, SlaPolicy
from sanan.workorders.sla import local_zone

MAX_STRING = 200
MAX_TEXT = 4000


def effective_policy(category: Category) -> SlaPolicy:
    """The category's own policy, else the nearest ancestor's, else the general one."""
    holder = (
        Category.objects.filter(path__in=category.ancestor_paths(), sla_policy__isnull=False)
        .select_related("sla_policy")
        .order_by("-depth")
        .first()
    )
    if holder is not None and holder.sla_policy is not None:
        return holder.sla_policy
    fallback = SlaPolicy.objects.filter(code="general").first()
    if fallback is None:
        raise DomainError(
            "work_order.no_sla_policy",
            _("No deadline policy applies to this category; ask the administrator to set one."),
        )
    return fallback


def questions_for(category: Category) -> list[CategoryQuestion]:
    """The category's questions after those of its ancestors (a child asks them too)."""
    depth = {p: i for i, p in enumerate(category.ancestor_paths())}
    questions = CategoryQuestion.objects.filter(category__path__in=depth).select_related("category")
    return sorted(questions, key=lambda q: (depth[q.category.path], q.order, q.pk))


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


def clean_answers(category: Category, answers: dict[str, Any] | None) -> dict[str, Any]:
    """The answers, normalised, or ``work_order.invalid_answers`` (400) naming each problem:
    a required question unanswered, an unknown question, a value of the wrong type."""
    answers = dict(answers or {})
    problems: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    questions = {q.code: q for q in questions_for(category)}
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
