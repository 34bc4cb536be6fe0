"""The work-order state machine as data: one ``TRANSITIONS`` table.

Each row names an action, the states it may start from, the state it leads to (``None``: the
state does not change — chase, supervise, notes, extensions), and who may do it: a role action
(``accounts.roles.ROLE_ACTIONS``) held by a *party* to the order:

- ``SCOPE``: a role without an organisation whose place scope covers the order (dispatcher,
  leader, administrator);
- ``LEAD``: a member of the lead organisation (handler or unit member acting for it);
- ``ASSIGNED``: a member of the lead organisation or of a co-handling one;
- ``REPORTER``: the person who reported the order.

``system`` rows may also be done by Sanan itself (intake routing, the SLA sweep, closures).
The services call :func:`ensure_transition` before anything else, the pages and the API show
the actions :func:`sanan.workorders.access.allowed_actions` finds in this table, and a test
walks every (state, action) pair of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.core.errors import Conflict


class State(models.TextChoices):
    """The status words residents know from the 12345 hotline."""

    REGISTERED = "registered", pgettext_lazy("work order", "Registered")  # 已受理
    DISPATCHED = "dispatched", _("Dispatched")  # 已派单
    RETURNED = "returned", _("Returned")  # 已退单 (awaiting the community's ruling)
    SIGNED = "signed", _("Signed for")  # 已签收
    CONTACTED = "contacted", _("Contacted")  # 已联系
    IN_PROGRESS = "in_progress", _("In progress")  # 办理中
    FINISHED = "finished", _("Finished, awaiting rating")  # 已办结 · 待评价
    CALLBACK = "callback", _("Rated")  # 已回访
    ARCHIVED = "archived", _("Archived")  # 已归档


class Action(models.TextChoices):
    SUBMIT = "submit", _("Submit")  # 受理 (intake; not in TRANSITIONS: it creates the order)
    DISPATCH = "dispatch", _("Dispatch")  # 派单
    SIGN = "sign", _("Sign for")  # 签收
    RETURN = "return", _("Return")  # 退单
    RULE = "rule", _("Rule on a return")  # 审定
    TRANSFER = "transfer", _("Transfer")  # 转派
    CONTACT = "contact", _("Record first contact")  # 先行联系
    START = "start", _("Start handling")  # 办理
    REQUEST_EXTENSION = "request_extension", _("Request an extension")  # 延期申请
    DECIDE_EXTENSION = "decide_extension", _("Decide on an extension")  # 延期审批
    WARN = "warn", _("Deadline warning")  # 预警
    CHASE = "chase", _("Chase")  # 催办
    SUPERVISE = "supervise", _("Supervise")  # 督办
    FINISH = "finish", _("Finish")  # 办结
    CALLBACK = "callback", _("Call back and rate")  # 回访
    REHANDLE = "rehandle", _("Re-handle")  # 重办
    ARCHIVE = "archive", _("Archive")  # 归档
    CLOSE_UNRATED = "close_unrated", _("Close as not rated")  # 逾期未评
    NOTE = "note", _("Add a note")  # 备注 / 回复
    MERGE = "merge", _("Merge into another order")  # 合并 (a duplicate closes into its parent)


class Party(StrEnum):
    SCOPE = "scope"
    LEAD = "lead"
    ASSIGNED = "assigned"
    REPORTER = "reporter"


class ReturnReason(models.TextChoices):
    WRONG_PLACE = "wrong_place", _("Wrong place (not our area)")  # 属地不符
    UNCLEAR_OWNERSHIP = "unclear_ownership", _("Unclear ownership")  # 权属不清
    OVERLAPPING_MANDATES = "overlapping_mandates", _("Overlapping mandates")  # 职能交叉


class Ruling(models.TextChoices):
    REDISPATCH = "redispatch", _("Dispatch to another organisation")
    FORCE = "force", _("Send back to the same organisation")


class Resolution(models.TextChoices):
    SOLVED = "solved", _("Solved")
    PARTLY = "partly", _("Partly solved")
    NOT_SOLVED = "not_solved", _("Not solved")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    FAIRLY = "fairly", _("Fairly satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    NOT_RATED = "not_rated", _("Not rated")


@dataclass(frozen=True)
class Grant:
    """``permission`` (a role action) held as ``party`` to the order allows the transition."""

    permission: str
    party: Party


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State | None  # None: the order stays in its state
    grants: tuple[Grant, ...]
    system: bool = False  # Sanan itself may do it (routing at intake, sweeps)
    label: str | Promise = ""
    # Versioned transitions claim the order's version: of two people acting at once exactly
    # one wins. Flags and notes only require the state to be unchanged, so that a resident's
    # note never makes a handler's sign-for fail.
    versioned: bool = True


S = State
OPEN_WORK = frozenset({S.DISPATCHED, S.SIGNED, S.CONTACTED, S.IN_PROGRESS})
HANDLING = frozenset({S.SIGNED, S.CONTACTED, S.IN_PROGRESS})
NOT_CLOSED = frozenset(set(State) - {S.ARCHIVED})
# Orders nobody has finished yet: a duplicate among them may be merged into another order.
MERGEABLE = frozenset({S.REGISTERED, S.RETURNED, *OPEN_WORK})

DESK_DISPATCH = Grant("work_order.dispatch", Party.SCOPE)
DESK_RULE = Grant("work_order.rule", Party.SCOPE)
DESK_SUPERVISE = Grant("work_order.supervise", Party.SCOPE)
DESK_CALLBACK = Grant("work_order.callback", Party.SCOPE)
LEAD_HANDLE = Grant("work_order.handle", Party.LEAD)
ASSIGNED_HANDLE = Grant("work_order.handle", Party.ASSIGNED)
REPORTER_RATE = Grant("work_order.rate", Party.REPORTER)
REPORTER_CREATE = Grant("work_order.create", Party.REPORTER)


def _t(
    action: Action,
    sources: frozenset[State] | set[State],
    target: State | None,
    *grants: Grant,
    system: bool = False,
    versioned: bool = True,
) -> Transition:
    return Transition(action, frozenset(sources), target, grants, system, action.label, versioned)


TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        _t(Action.DISPATCH, {S.REGISTERED}, S.DISPATCHED, DESK_DISPATCH, system=True),
        _t(Action.SIGN, {S.DISPATCHED}, S.SIGNED, LEAD_HANDLE),
        _t(Action.RETURN, {S.DISPATCHED, S.SIGNED}, S.RETURNED, LEAD_HANDLE),
        _t(Action.RULE, {S.RETURNED}, S.DISPATCHED, DESK_RULE),
        # The desk transfers to anyone; the lead organisation only to one of its own units.
        _t(Action.TRANSFER, OPEN_WORK, S.DISPATCHED, DESK_DISPATCH, LEAD_HANDLE),
        _t(Action.CONTACT, {S.SIGNED}, S.CONTACTED, LEAD_HANDLE),
        _t(Action.START, {S.CONTACTED}, S.IN_PROGRESS, LEAD_HANDLE),
        _t(Action.REQUEST_EXTENSION, HANDLING, None, LEAD_HANDLE),
        _t(Action.DECIDE_EXTENSION, HANDLING, None, DESK_DISPATCH),
        _t(Action.WARN, OPEN_WORK, None, system=True, versioned=False),
        _t(Action.CHASE, OPEN_WORK, None, DESK_SUPERVISE, system=True, versioned=False),
        _t(Action.SUPERVISE, OPEN_WORK, None, DESK_SUPERVISE, system=True, versioned=False),
        # A simple job may be done during the first contact: finish from contacted too.
        _t(Action.FINISH, {S.CONTACTED, S.IN_PROGRESS}, S.FINISHED, LEAD_HANDLE),
        _t(Action.CALLBACK, {S.FINISHED}, S.CALLBACK, DESK_CALLBACK, REPORTER_RATE),
        # After a "not solved" or "dissatisfied" call-back Sanan re-opens the order itself; the
        # desk may also re-open a rated order (a complaint that came back), giving a reason.
        _t(Action.REHANDLE, {S.CALLBACK}, S.DISPATCHED, DESK_CALLBACK, system=True),
        _t(Action.ARCHIVE, {S.CALLBACK}, S.ARCHIVED, DESK_CALLBACK, system=True),
        _t(Action.CLOSE_UNRATED, {S.FINISHED}, S.ARCHIVED, DESK_CALLBACK, system=True),
        # A duplicate closes into its parent (合并): archived, ``parent`` set, its reporter
        # follows the parent from then on.
        _t(Action.MERGE, MERGEABLE, S.ARCHIVED, DESK_DISPATCH),
        _t(
            Action.NOTE,
            NOT_CLOSED,
            None,
            DESK_DISPATCH,
            ASSIGNED_HANDLE,
            REPORTER_CREATE,
            versioned=False,
        ),
    ]
}

# Intake creates the order: not a row of the table (there is no state before it).
INTAKE = Transition(Action.SUBMIT, frozenset(), State.REGISTERED, (), False, Action.SUBMIT.label)

# The deadline that runs in each state ("" where no clock runs for the handler).
STAGE_OF_STATE: dict[str, str] = {
    S.DISPATCHED: "sign",
    S.SIGNED: "contact",
    S.CONTACTED: "finish",
    S.IN_PROGRESS: "finish",
}
OPEN_STATES = frozenset({S.REGISTERED, S.RETURNED, *OPEN_WORK})
CLOSED_STATES = frozenset({S.FINISHED, S.CALLBACK, S.ARCHIVED})


def ensure_transition(current: str, action: str) -> Transition:
    """The table's row for ``action`` if it may start from ``current``; otherwise a 409
    ``work_order.illegal_transition`` saying what the order's state allows instead."""
    try:
        spec = TRANSITIONS[Action(action)]
    except (KeyError, ValueError):
        raise Conflict(
            "work_order.illegal_transition", _("This is not something one can do to an order.")
        ) from None
    if current not in spec.sources:
        raise Conflict(
            "work_order.illegal_transition",
            _("An order that is “%(state)s” cannot be given “%(action)s”.")
            % {"state": State(current).label, "action": spec.label},
        )
    return spec


def actions_from(current: str) -> list[Action]:
    """Every action the table allows from ``current``, whoever may do it."""
    return [action for action, spec in TRANSITIONS.items() if current in spec.sources]
