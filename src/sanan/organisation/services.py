"""Writes for the organisation pillar: organisations, members and terms; posts and areas
(定岗包片) with the courtyard commissioner's scoped role; member cards and commitments (双亮);
the contact ledger, whose problems become work orders in one step.

Every service takes keyword-only arguments, checks the actor's rights when the actor is a
person (Sanan itself and the demo pass a label such as ``"demo"``), writes in one transaction
and records an audit event in it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sanan.accounts.models import RoleAssignment
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant, role_revoke
from sanan.audit.services import audit_record
from sanan.core import clock
from sanan.core.errors import DomainError, PermissionDenied
from sanan.organisation.models import (
    Attendance,
    ButlerActivity,
    ButlerActivityKind,
    ButlerOrigin,
    Commitment,
    CommitmentComment,
    CommitmentState,
    Event,
    EventKind,
    MemberProfile,
    Membership,
    Organisation,
    OrganisationKind,
    Position,
    Post,
    PostType,
    RedButler,
    Term,
    Visit,
    VisitProblem,
)
from sanan.places.models import Place, PlaceKind

MANAGE = "organisation.manage"
RECORD_VISIT = "visit.record"
PUBLISH = "commitment.publish"
MAX_TEXT = 2000


def _is_person(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _require(actor: Any, action: str, obj: Any) -> None:
    """404 out of sight, 403 in sight but not allowed; Sanan itself may do anything."""
    if _is_person(actor):
        permissions_for(actor).require(action, obj)


def _forget_permissions(user: Any) -> None:
    if hasattr(user, "_sanan_permissions"):
        del user._sanan_permissions


def _text(value: str, *, limit: int = MAX_TEXT, field: str = "text") -> str:
    """``value`` trimmed; refused, never cut, when it is longer than ``limit`` or holds a NUL
    byte (which PostgreSQL cannot store)."""
    text = (value or "").strip()
    if "\x00" in text:
        raise DomainError(
            "validation.invalid",
            _("Null characters are not allowed."),
            fields={field: [_("Null characters are not allowed.")]},
        )
    if len(text) > limit:
        message = ngettext(
            "Keep it to %(limit)d character (this text has %(count)d).",
            "Keep it to %(limit)d characters (this text has %(count)d).",
            limit,
        ) % {"limit": limit, "count": len(text)}
        raise DomainError("validation.invalid", message, fields={field: [message]})
    return text


# --- organisations, members, terms ----------------------------------------------------------


def organisation_ensure(
    *,
    actor: Any,
    kind: str,
    code: str,
    name: str,
    place: Place,
    parent: Organisation | None = None,
) -> Organisation:
    """The organisation with ``code``, created (and audited) if it does not exist yet."""
    with transaction.atomic():
        org, created = Organisation.objects.get_or_create(
            code=code, defaults={"kind": kind, "name": name, "place": place, "parent": parent}
        )
        if created:
            audit_record(actor=actor, action="organisation.created", target=org)
    return org


def term_ensure(
    *,
    actor: Any,
    organisation: Organisation,
    name: str,
    starts_on: date,
    ends_on: date | None,
    strict: bool = False,
) -> Term:
    """The term ``name`` of ``organisation`` (idempotent; with ``strict`` an existing name is
    refused)."""
    _require(actor, MANAGE, organisation)
    name = _text(name, limit=60)
    if not name:
        raise DomainError(
            "term.name_required", _("Name the term."), fields={"name": [_("Required.")]}
        )
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(
            "term.ends_before_start",
            _("A term cannot end before it starts."),
            fields={"ends_on": [_("Choose a later date.")]},
        )
    with transaction.atomic():
        term, created = Term.objects.get_or_create(
            organisation=organisation,
            name=name,
            defaults={"starts_on": starts_on, "ends_on": ends_on},
        )
        if not created and strict:
            raise DomainError(
                "term.name_taken",
                _("This organisation already has a term with this name."),
                fields={"name": [_("Choose another name.")]},
            )
        if created:
            audit_record(
                actor=actor, action="term.created", target=organisation, data={"term": name}
            )
    return term


PARTY_KINDS = frozenset({OrganisationKind.PARTY_BRANCH, OrganisationKind.PARTY_COMMITTEE})


def membership_add(
    *,
    actor: Any,
    organisation: Organisation,
    user: Any,
    title: str = "",
    position: str = Position.MEMBER,
    term: Term | None = None,
    started_on: date | None = None,
    strict: bool = False,
) -> Membership:
    """Make ``user`` a current member of ``organisation`` (idempotent; with ``strict`` a
    current member is refused). A member of a Party branch or committee receives the scoped
    ``party_member`` role over its place (to publish their own commitments) and a public
    card, in the same transaction."""
    _require(actor, MANAGE, organisation)
    try:
        position = Position(position)
    except ValueError:
        raise DomainError(
            "membership.position_invalid",
            _("Choose a position from the list."),
            fields={"position": [_("Choose a position from the list.")]},
        ) from None
    if term is not None and term.organisation_id != organisation.pk:
        raise DomainError(
            "membership.term_mismatch",
            _("This term belongs to another organisation."),
            fields={"term": [_("Choose a term of this organisation.")]},
        )
    if not user.is_active:
        raise DomainError(
            "membership.user_inactive",
            _("This person's account is closed."),
            fields={"user": [_("Choose an active person.")]},
        )
    started_on = started_on or clock.today()
    if started_on > clock.today() + dt.timedelta(days=366):
        raise DomainError(
            "membership.starts_too_late",
            _("A membership starts within a year from today."),
            fields={"started_on": [_("Choose an earlier date.")]},
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            organisation=organisation,
            user=user,
            ended_on=None,
            defaults={
                "title": _text(title, limit=60),
                "position": position,
                "term": term,
                "started_on": started_on,
            },
        )
        if not created and strict:
            raise DomainError(
                "membership.already_member",
                _("%(name)s is already a member of %(organisation)s.")
                % {"name": user, "organisation": organisation.name},
                fields={"user": [_("Choose someone who is not a member yet.")]},
            )
        if created:
            if organisation.kind in PARTY_KINDS:
                role_grant(
                    actor=actor,
                    user=user,
                    role=Role.PARTY_MEMBER,
                    place=organisation.place,
                    reason=str(_("Party membership: %(org)s") % {"org": organisation.name}),
                )
                member_profile_ensure(actor=actor, user=user, place=organisation.place)
            audit_record(
                actor=actor,
                action="membership.added",
                target=organisation,
                data={"user": user.pk, "title": title, "position": position.value},
            )
    _forget_permissions(user)
    return membership


def membership_end(
    *, actor: Any, membership: Membership, ended_on: date | None = None, reason: str = ""
) -> Membership:
    """End a membership. Leaving a Party body ends the posts held for it (their roles go
    with them, and a courtyard left without a commissioner shows as a gap at once) and the
    ``party_member`` role, unless another current Party membership grants it there."""
    organisation = membership.organisation
    _require(actor, MANAGE, organisation)
    ended_on = ended_on or clock.today()
    if ended_on < membership.started_on:
        raise DomainError(
            "membership.ends_before_start",
            _("A membership cannot end before it started (%(day)s).")
            % {"day": membership.started_on.isoformat()},
            fields={"ended_on": [_("Choose a later date.")]},
        )
    with transaction.atomic():
        claimed = Membership.objects.filter(pk=membership.pk, ended_on__isnull=True).update(
            ended_on=ended_on
        )
        if not claimed:
            raise DomainError(
                "membership.already_ended",
                _("This membership has already ended."),
                status_code=409,
            )
        membership.refresh_from_db()
        user = membership.user
        if organisation.kind in PARTY_KINDS:
            for post in Post.objects.current().filter(holder=user, organisation=organisation):
                post_end(actor=actor, post=post, reason=reason or "membership ended")
            still_member = Membership.objects.filter(
                user=user,
                ended_on__isnull=True,
                organisation__kind__in=PARTY_KINDS,
                organisation__place=organisation.place,
            ).exists()
            assignment = RoleAssignment.objects.filter(
                user=user,
                role=Role.PARTY_MEMBER,
                place=organisation.place,
                organisation__isnull=True,
            ).first()
            if assignment is not None and not still_member:
                role_revoke(
                    actor=actor, assignment=assignment, reason=reason or "left the Party body"
                )
        audit_record(
            actor=actor,
            action="membership.ended",
            target=organisation,
            reason=reason,
            data={"user": membership.user_id},
        )
    _forget_permissions(membership.user)
    return membership


# --- posts and areas ------------------------------------------------------------------------


def _post_place_ok(post_type: PostType, place: Place) -> None:
    if post_type.covers_courtyards and place.kind != PlaceKind.COURTYARD:
        raise DomainError(
            "post.courtyard_required",
            _("A courtyard commissioner covers courtyards: choose a courtyard."),
            fields={"place": [_("Choose a courtyard.")]},
        )
    if place.kind not in (PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.COURTYARD):
        raise DomainError(
            "post.place_kind",
            _("A post covers a community, a residential area or a courtyard."),
            fields={"place": [_("Choose a community, area or courtyard.")]},
        )


def post_assign(
    *,
    actor: Any,
    holder: Any,
    post_type: PostType,
    place: Place,
    organisation: Organisation | None = None,
    started_on: date | None = None,
) -> Post:
    """``holder`` takes ``post_type`` over ``place``. A post type that grants a role (the
    courtyard commissioner) grants it over ``place`` in the same transaction. Assigning a
    post the holder already holds there returns it unchanged."""
    _require(actor, MANAGE, place)
    if not post_type.active:
        raise DomainError(
            "post.type_inactive",
            _("This post is no longer used; choose another."),
            fields={"post_type": [_("Choose another post.")]},
        )
    _post_place_ok(post_type, place)
    if not holder.is_active:
        raise DomainError(
            "post.holder_inactive",
            _("This person's account is closed."),
            fields={"holder": [_("Choose an active person.")]},
        )
    with transaction.atomic():
        existing = (
            Post.objects.current().filter(post_type=post_type, holder=holder, place=place).first()
        )
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                post = Post.objects.create(
                    post_type=post_type,
                    holder=holder,
                    place=place,
                    organisation=organisation,
                    started_on=started_on or clock.today(),
                )
        except IntegrityError:  # a concurrent assignment of the same post won
            return Post.objects.current().get(post_type=post_type, holder=holder, place=place)
        if post_type.grants_role:
            role_grant(
                actor=actor,
                user=holder,
                role=Role(post_type.grants_role),
                place=place,
                reason=str(_("post assigned: %(post)s") % {"post": post_type.name}),
            )
        audit_record(
            actor=actor,
            action="post.assigned",
            target=post,
            data={"post_type": post_type.code, "holder": holder.pk, "place": place.code},
        )
    _forget_permissions(holder)
    return post


def post_end(*, actor: Any, post: Post, reason: str = "", ended_on: date | None = None) -> Post:
    """End ``post``; its role over the place is revoked unless another current post of the
    holder grants the same role there."""
    _require(actor, MANAGE, post.place)
    if post.ended_on is not None:
        raise DomainError("post.already_ended", _("This post has already ended."))
    with transaction.atomic():
        claimed = Post.objects.filter(pk=post.pk, ended_on__isnull=True).update(
            ended_on=ended_on or clock.today()
        )
        if not claimed:
            raise DomainError(
                "post.already_ended", _("This post has already ended."), status_code=409
            )
        post.refresh_from_db()
        role = post.post_type.grants_role
        if role:
            still_held = (
                Post.objects.current()
                .filter(holder=post.holder, place=post.place, post_type__grants_role=role)
                .exists()
            )
            assignment = RoleAssignment.objects.filter(
                user=post.holder, role=role, place=post.place, organisation__isnull=True
            ).first()
            if assignment is not None and not still_held:
                role_revoke(actor=actor, assignment=assignment, reason=reason or "post ended")
        audit_record(
            actor=actor,
            action="post.ended",
            target=post,
            reason=reason,
            data={"post_type": post.post_type.code, "holder": post.holder_id},
        )
    _forget_permissions(post.holder)
    return post


# --- post types (data: renamed, added, retired) ------------------------------------------------

GRANTABLE_ROLES = ("", Role.COMMISSIONER.value)


def _require_manage_somewhere(actor: Any) -> None:
    """Post types are the community's shared list: anyone who manages the organisation
    somewhere may edit it (Sanan itself always)."""
    if _is_person(actor) and not permissions_for(actor).has(MANAGE):
        raise PermissionDenied("auth.forbidden", _("You may not change the list of posts."))


def _post_type_names(
    name: str, name_en: str, description: str, exclude: int | None
) -> tuple[str, str, str]:
    name, name_en, description = (
        _text(name, limit=40),
        _text(name_en, limit=60),
        _text(description, limit=200),
    )
    if not name:
        raise DomainError(
            "post_type.name_required",
            _("Give the post a name in Chinese."),
            fields={"name": [_("Required.")]},
        )
    taken = PostType.objects.filter(name=name).exclude(pk=exclude or 0).exists()
    if taken:
        raise DomainError(
            "post_type.name_taken",
            _("Another post already has this name."),
            fields={"name": [_("Choose another name.")]},
        )
    return name, name_en, description


def post_type_create(
    *,
    actor: Any,
    name: str,
    name_en: str = "",
    description: str = "",
    grants_role: str = "",
    covers_courtyards: bool = False,
    code: str = "",
) -> PostType:
    """A new kind of post, listed after the others."""
    _require_manage_somewhere(actor)
    name, name_en, description = _post_type_names(name, name_en, description, None)
    if grants_role not in GRANTABLE_ROLES:
        raise DomainError(
            "post_type.role_invalid",
            _("A post may grant the courtyard commissioner's role, or none."),
            fields={"grants_role": [_("Choose from the list.")]},
        )
    code = slugify(code or name_en)[:40] or "post"
    base, n = code, 1
    while PostType.objects.filter(code=code).exists():
        n += 1
        code = f"{base[:36]}-{n}"
    last = PostType.objects.order_by("-order").values_list("order", flat=True).first() or 0
    with transaction.atomic():
        post_type = PostType.objects.create(
            code=code,
            name=name,
            name_en=name_en,
            description=description,
            grants_role=grants_role,
            covers_courtyards=covers_courtyards,
            order=last + 1,
        )
        audit_record(actor=actor, action="post_type.created", target=post_type)
    return post_type


def post_type_update(
    *, actor: Any, post_type: PostType, name: str, name_en: str = "", description: str = ""
) -> PostType:
    """Rename a post or change its duties; posts already held keep their type."""
    _require_manage_somewhere(actor)
    name, name_en, description = _post_type_names(name, name_en, description, post_type.pk)
    with transaction.atomic():
        before = {"name": post_type.name, "name_en": post_type.name_en}
        post_type.name, post_type.name_en, post_type.description = name, name_en, description
        post_type.save(update_fields=["name", "name_en", "description"])
        audit_record(
            actor=actor,
            action="post_type.updated",
            target=post_type,
            data={"before": before, "after": {"name": name, "name_en": name_en}},
        )
    return post_type


def post_type_retire(*, actor: Any, post_type: PostType, active: bool = False) -> PostType:
    """Retire a post (no new assignments; history stays), or bring it back with
    ``active=True``. A post still held cannot be retired: end those posts first."""
    _require_manage_somewhere(actor)
    with transaction.atomic():
        locked = PostType.objects.select_for_update().get(pk=post_type.pk)
        if locked.active == active:
            return locked
        if not active:
            held = Post.objects.current().filter(post_type=locked).count()
            if held:
                raise DomainError(
                    "post_type.still_held",
                    ngettext(
                        "%(n)d person still holds this post: end that post first.",
                        "%(n)d people still hold this post: end their posts first.",
                        held,
                    )
                    % {"n": held},
                    status_code=409,
                )
        locked.active = active
        locked.save(update_fields=["active"])
        audit_record(
            actor=actor,
            action="post_type.restored" if active else "post_type.retired",
            target=locked,
        )
    return locked


# --- member cards and commitments (双亮) ------------------------------------------------------


def member_profile_ensure(
    *,
    actor: Any,
    user: Any,
    place: Place,
    party_member: bool = True,
    joined_party_on: date | None = None,
    motto: str = "",
    card_token: str | None = None,
) -> MemberProfile:
    """The member's public card (created once; the QR code's token never changes)."""
    _require(actor, MANAGE, place)
    with transaction.atomic():
        profile, created = MemberProfile.objects.get_or_create(
            user=user,
            defaults={
                "place": place,
                "party_member": party_member,
                "joined_party_on": joined_party_on,
                "motto": _text(motto, limit=120),
                "card_token": card_token or secrets.token_urlsafe(12),
            },
        )
        if created:
            audit_record(actor=actor, action="member_card.created", target=profile)
        elif motto and (profile.motto != _text(motto, limit=120) or profile.place_id != place.pk):
            profile.motto, profile.place = _text(motto, limit=120), place
            profile.save(update_fields=["motto", "place"])
            audit_record(actor=actor, action="member_card.updated", target=profile)
    return profile


def _require_own_or_manage(actor: Any, member: Any, place: Place) -> None:
    if _is_person(actor) and actor.pk != member.pk:
        _require(actor, MANAGE, place)


def commitment_publish(
    *,
    actor: Any,
    member: Any,
    place: Place,
    title: str,
    due_on: date,
    detail: str = "",
    published_on: date | None = None,
    code: str = "",
) -> Commitment:
    """A member promises something in public, by a date. Members publish their own; the
    committee may publish for them."""
    if _is_person(actor):
        perms = permissions_for(actor)
        if actor.pk != member.pk or not perms.can(PUBLISH, place):
            if not perms.can_see(place):
                raise DomainError("not_found", _("No such place."), status_code=404)
            if not perms.can(MANAGE, place):
                raise PermissionDenied(
                    "commitment.not_a_member",
                    _(
                        "Commitments are published by Party members, over the places where "
                        "they serve."
                    ),
                )
    title = _text(title, limit=120)
    if not title:
        raise DomainError(
            "commitment.title_required",
            _("Say what you promise."),
            fields={"title": [_("Required.")]},
        )
    published_on = published_on or clock.today()
    if due_on < published_on:
        raise DomainError(
            "commitment.due_in_past",
            _("The due date must be on or after the day it is published."),
            fields={"due_on": [_("Choose a later date.")]},
        )
    if code and (found := Commitment.objects.filter(code=code).first()) is not None:
        return found
    with transaction.atomic():
        commitment = Commitment.objects.create(
            member=member,
            place=place,
            title=title,
            detail=_text(detail),
            published_on=published_on,
            due_on=due_on,
            code=code,
        )
        audit_record(actor=actor, action="commitment.published", target=commitment)
    return commitment


def commitment_fulfil(
    *, actor: Any, commitment: Commitment, evidence: str, fulfilled_on: date | None = None
) -> Commitment:
    """Mark a promise kept, saying how (the evidence residents will read)."""
    _require_own_or_manage(actor, commitment.member, commitment.place)
    evidence = _text(evidence)
    if not evidence:
        raise DomainError(
            "commitment.evidence_required",
            _("Say what was done, so residents can check it."),
            fields={"evidence": [_("Required.")]},
        )
    with transaction.atomic():
        claimed = Commitment.objects.filter(
            pk=commitment.pk, state=CommitmentState.PUBLISHED
        ).update(
            state=CommitmentState.FULFILLED,
            fulfilled_on=fulfilled_on or clock.today(),
            evidence=evidence,
        )
        if not claimed:
            raise DomainError(
                "commitment.not_open",
                _("This commitment is no longer open."),
                status_code=409,
            )
        commitment.refresh_from_db()
        audit_record(actor=actor, action="commitment.fulfilled", target=commitment)
    return commitment


def commitment_comment(
    *, actor: Any, commitment: Commitment, body: str, at: dt.datetime | None = None
) -> CommitmentComment:
    """A resident (or anyone signed in who can see the place) comments on a commitment."""
    if not _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("Sign in to comment."))
    if not place_related(actor, commitment.place):
        raise DomainError("not_found", _("Not found."), status_code=404)
    body = _text(body, limit=500)
    if not body:
        raise DomainError(
            "comment.body_required", _("Write a comment."), fields={"body": [_("Required.")]}
        )
    with transaction.atomic():
        comment = CommitmentComment.objects.create(
            commitment=commitment, author=actor, body=body, created_at=at or clock.now()
        )
        audit_record(actor=actor, action="commitment.commented", target=commitment)
    return comment


def place_related(user: Any, place: Place) -> bool:
    """Does ``place`` lie inside the user's viewing scope, or contain it (a resident's own
    courtyard and residential area)?"""
    roots = permissions_for(user).scope_paths("place.view")
    return any(place.path.startswith(r) or r.startswith(place.path) for r in roots)


# --- the contact ledger (联系台账) ---------------------------------------------------------------


@dataclass(frozen=True)
class ProblemInput:
    """A problem found on a visit. With ``category`` it becomes a work order at once
    (channel: commissioner's discovery); else it is noted, solved on the spot or not."""

    description: str
    category: Any = None  # workorders.Category
    solved_on_spot: bool = False


def _submit_order(actor: Any, visit: Visit, problem: VisitProblem, category: Any) -> Any:
    from sanan.workorders.models import Channel
    from sanan.workorders.services import work_order_submit

    submitted = work_order_submit(
        actor=actor,
        channel=Channel.DISCOVERY,
        category=category,
        description=problem.description,
        place=visit.place,
        idempotency_key=f"visit-problem-{problem.pk}",
        duplicate_hints=False,
    )
    problem.work_order = submitted.order
    problem.save(update_fields=["work_order"])
    return submitted.order


def visit_record(
    *,
    actor: Any,
    household: Any,
    topics: str,
    visited_at: dt.datetime | None = None,
    problems: Sequence[ProblemInput] = (),
    code: str = "",
) -> Visit:
    """Record a visit to ``household``. Each problem with a category becomes a work order in
    the same transaction (through ``workorders.services.work_order_submit``, channel
    "commissioner's discovery"), linked to the ledger line; if any order is refused, nothing
    is written."""
    if not _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("A visit is recorded by the person visiting."))
    place = household.place
    _require(actor, RECORD_VISIT, place)
    topics = _text(topics, field="topics")
    if not topics:
        raise DomainError(
            "visit.topics_required",
            _("Note in a few words what you talked about."),
            fields={"topics": [_("Required.")]},
        )
    now = clock.now()
    visited_at = visited_at or now
    if visited_at > now + dt.timedelta(minutes=5):
        raise DomainError(
            "visit.in_future",
            _("A visit cannot be recorded before it happens."),
            fields={"visited_at": [_("Choose a time that has passed.")]},
        )
    cleaned = []
    for i, p in enumerate(problems):
        text = _text(p.description, limit=500, field=f"problems.{i}.description")
        if not text:
            continue
        if p.category is not None and p.solved_on_spot:
            raise DomainError(
                "visit.problem_solved_and_ordered",
                _("A problem solved on the spot needs no work order."),
                fields={f"problems.{i}": [_("Either solved on the spot or a work order.")]},
            )
        cleaned.append(ProblemInput(text, p.category, p.solved_on_spot))
    if code and (found := Visit.objects.filter(code=code).first()) is not None:
        return found
    with transaction.atomic():
        visit = Visit.objects.create(
            household=household,
            place=place,
            visitor=actor,
            visited_at=visited_at,
            topics=topics,
            code=code,
        )
        orders = []
        for p in cleaned:
            problem = VisitProblem.objects.create(
                visit=visit, description=p.description, solved_on_spot=p.solved_on_spot
            )
            if p.category is not None:
                orders.append(_submit_order(actor, visit, problem, p.category).pk)
        audit_record(
            actor=actor,
            action="visit.recorded",
            target=visit,
            data={"household": household.pk, "problems": len(cleaned), "work_orders": orders},
        )
    return visit


def visit_problem_to_work_order(*, actor: Any, problem: VisitProblem, category: Any) -> Any:
    """Turn a problem noted earlier on a visit into a work order (once)."""
    visit = problem.visit
    _require(actor, RECORD_VISIT, visit.place)
    if problem.work_order_id is not None or problem.solved_on_spot:
        raise DomainError(
            "visit.problem_already_handled",
            _("This problem is already a work order or was solved on the spot."),
            status_code=409,
        )
    with transaction.atomic():
        locked = VisitProblem.objects.select_for_update().get(pk=problem.pk)
        if locked.work_order_id is not None:
            raise DomainError(
                "visit.problem_already_handled",
                _("This problem is already a work order or was solved on the spot."),
                status_code=409,
            )
        order = _submit_order(actor, visit, locked, category)
        audit_record(
            actor=actor,
            action="visit.problem_ordered",
            target=visit,
            data={"problem": locked.pk, "work_order": order.pk},
        )
    problem.refresh_from_db()
    return order


# --- Red Butlers ------------------------------------------------------------------------------


def butler_appoint(
    *,
    actor: Any,
    user: Any,
    origin: str,
    place: Place,
    started_on: date | None = None,
) -> RedButler:
    """Make ``user`` a Red Butler of the courtyard ``place`` (grants ``red_butler`` there)."""
    _require(actor, MANAGE, place)
    origin = ButlerOrigin(origin)
    if place.kind != PlaceKind.COURTYARD:
        raise DomainError(
            "butler.courtyard_required",
            _("A Red Butler is assigned to a courtyard."),
            fields={"place": [_("Choose a courtyard.")]},
        )
    with transaction.atomic():
        current = RedButler.objects.filter(user=user, ended_on__isnull=True).first()
        if current is not None:
            if current.place_id == place.pk:
                return current
            raise DomainError(
                "butler.already_serving",
                _("This person is already a Red Butler of another courtyard."),
                fields={"user": [_("End their current assignment first.")]},
            )
        butler = RedButler.objects.create(
            user=user, origin=origin, place=place, started_on=started_on or clock.today()
        )
        role_grant(actor=actor, user=user, role=Role.RED_BUTLER, place=place, reason="Red Butler")
        audit_record(actor=actor, action="butler.appointed", target=butler, data={"user": user.pk})
    _forget_permissions(user)
    return butler


def butler_end(*, actor: Any, butler: RedButler, reason: str = "") -> RedButler:
    _require(actor, MANAGE, butler.place)
    with transaction.atomic():
        if not RedButler.objects.filter(pk=butler.pk, ended_on__isnull=True).update(
            ended_on=clock.today()
        ):
            raise DomainError("butler.already_ended", _("This assignment has already ended."))
        butler.refresh_from_db()
        assignment = RoleAssignment.objects.filter(
            user=butler.user, role=Role.RED_BUTLER, place=butler.place, organisation__isnull=True
        ).first()
        if assignment is not None:
            role_revoke(actor=actor, assignment=assignment, reason=reason or "Red Butler ended")
        audit_record(actor=actor, action="butler.ended", target=butler, reason=reason)
    _forget_permissions(butler.user)
    return butler


def butler_activity_record(
    *,
    actor: Any,
    butler: RedButler,
    kind: str,
    occurred_on: date | None = None,
    place: Place | None = None,
    note: str = "",
) -> ButlerActivity:
    """A Red Butler records what they did (or the committee records it for them)."""
    _require_own_or_manage(actor, butler.user, butler.place)
    kind = ButlerActivityKind(kind)
    occurred_on = occurred_on or clock.today()
    if occurred_on > clock.today():
        raise DomainError(
            "butler_activity.in_future",
            _("Record what has happened, not what is planned."),
            fields={"occurred_on": [_("Choose a day that has passed.")]},
        )
    if butler.ended_on is not None and occurred_on > butler.ended_on:
        raise DomainError(
            "butler_activity.after_end", _("This Red Butler's assignment had ended by then.")
        )
    with transaction.atomic():
        activity = ButlerActivity.objects.create(
            butler=butler,
            kind=kind,
            place=place or butler.place,
            occurred_on=occurred_on,
            note=_text(note, limit=300),
        )
        audit_record(
            actor=actor, action="butler.activity_recorded", target=butler, data={"kind": kind}
        )
    return activity


# --- events -----------------------------------------------------------------------------------

CHECK_IN_EARLY = dt.timedelta(hours=2)


def event_create(
    *,
    actor: Any,
    title: str,
    kind: str,
    place: Place,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    venue: str = "",
    capacity: int | None = None,
    code: str = "",
    signin_token: str | None = None,
) -> Event:
    _require(actor, MANAGE, place)
    kind = EventKind(kind)
    title = _text(title, limit=120)
    if not title:
        raise DomainError(
            "event.title_required", _("Give the event a title."), fields={"title": [_("Required.")]}
        )
    if ends_at <= starts_at:
        raise DomainError(
            "event.ends_before_start",
            _("An event ends after it starts."),
            fields={"ends_at": [_("Choose a later time.")]},
        )
    if code and (found := Event.objects.filter(code=code).first()) is not None:
        return found
    with transaction.atomic():
        event = Event.objects.create(
            title=title,
            kind=kind,
            place=place,
            venue=_text(venue, limit=120),
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            code=code,
            signin_token=signin_token or secrets.token_urlsafe(12),
        )
        audit_record(actor=actor, action="event.created", target=event)
    return event


def courtyard_of_user(user: Any) -> Place | None:
    """Where a person lives or serves, at courtyard level: their role's place (a resident's
    unit, a commissioner's courtyard), else their Red Butler courtyard or member card."""
    depth = [k.value for k in PlaceKind].index(PlaceKind.COURTYARD) + 1
    length = depth * Place.steplen
    paths = [
        p
        for p in user.role_assignments.values_list("place__path", flat=True).order_by("place__path")
        if len(p) >= length
    ]
    butler = RedButler.objects.filter(user=user, ended_on__isnull=True).first()
    if butler is not None:
        paths.append(butler.place.path)
    profile = MemberProfile.objects.filter(user=user).select_related("place").first()
    if profile is not None and len(profile.place.path) >= length:
        paths.append(profile.place.path)
    if not paths:
        return None
    return Place.objects.filter(path=paths[0][:length], kind=PlaceKind.COURTYARD).first()


def _attendee_check(actor: Any, event: Event) -> None:
    if not _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("Sign in first."))
    if not place_related(actor, event.place):
        raise DomainError("not_found", _("Not found."), status_code=404)


def event_sign_up(*, actor: Any, event: Event) -> Attendance:
    """Sign up for an event (idempotent); refused once it has started or is full."""
    _attendee_check(actor, event)
    now = clock.now()
    if now >= event.starts_at:
        raise DomainError("event.started", _("Sign-up has closed: the event has started."))
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        existing = Attendance.objects.filter(event=locked, user=actor).first()
        if existing is not None and existing.signed_up_at is not None:
            return existing
        if (
            locked.capacity is not None
            and Attendance.objects.filter(event=locked, signed_up_at__isnull=False).count()
            >= locked.capacity
        ):
            raise DomainError("event.full", _("The event is full."), status_code=409)
        attendance, _created = Attendance.objects.update_or_create(
            event=locked,
            user=actor,
            defaults={"signed_up_at": now, "courtyard": courtyard_of_user(actor)},
        )
        audit_record(actor=actor, action="event.signed_up", target=locked)
    return attendance


def event_check_in(*, actor: Any, event: Event, token: str) -> Attendance:
    """Sign in at the door with the event's QR code; a walk-in without sign-up is welcome."""
    _attendee_check(actor, event)
    # as bytes: compare_digest refuses str holding anything but ASCII
    given = (token or "").encode("utf-8", "replace")
    if not secrets.compare_digest(given, event.signin_token.encode()):
        raise PermissionDenied("event.bad_token", _("This QR code is not for this event."))
    now = clock.now()
    if now < event.starts_at - CHECK_IN_EARLY or now > event.ends_at:
        raise DomainError(
            "event.not_open", _("Sign-in is open from two hours before the event until it ends.")
        )
    with transaction.atomic():
        attendance, _created = Attendance.objects.get_or_create(
            event=event, user=actor, defaults={"courtyard": courtyard_of_user(actor)}
        )
        if attendance.checked_in_at is None:
            attendance.checked_in_at = now
            attendance.save(update_fields=["checked_in_at"])
            audit_record(actor=actor, action="event.checked_in", target=event)
    return attendance
