"""Work orders: categories, SLA policies, the routing directory, orders, their events, the
working calendar and the notification outbox. Writes go through ``workorders.services``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from sanan.accounts.permissions import ScopedQuerySet
from sanan.core import crypto
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.state import (
    Action,
    Resolution,
    ReturnReason,
    Ruling,
    Satisfaction,
    State,
)

CONTACT_PHONE_PURPOSE = "work_order.contact_phone"
# What the dispatcher's board counts: the open orders and those waiting for their rating. A
# tuple in a fixed order, so the partial index and the board's queries spell the same IN (...).
BOARD_STATES: tuple[str, ...] = (
    State.REGISTERED, State.RETURNED, State.DISPATCHED, State.SIGNED, State.CONTACTED,
    State.IN_PROGRESS, State.FINISHED,
)  # fmt: skip
# The columns the board reads, all in its partial index (the board never reads the table).
BOARD_INDEX_FIELDS = [
    "place_path", "state", "courtyard", "due_at", "escalation_level", "escalation_at",
    "emergency", "supervision_level", "reporter", "created_by",
]  # fmt: skip
# The board's orders by deadline, in two partial indexes split at the chase (which the sweep
# marks at the deadline): the chased ones whose deadline is still ahead (an extension) and the
# others whose deadline has passed (the sweep has not come yet). Both ranges stay small while
# the sweep keeps up, however many orders are overdue; with what their counts read.
BOARD_DUE_INDEX_FIELDS = [
    "due_at", "place_path", "state", "courtyard", "escalation_level", "lead_organisation",
    "reporter", "created_by",
]  # fmt: skip
crypto.register_encrypted_field(
    "workorders.WorkOrder", "contact_phone_encrypted", purpose=CONTACT_PHONE_PURPOSE
)


def _localised(zh: str, en: str) -> str:
    """The Chinese or English name, whichever the active language wants (Chinese by default)."""
    language = translation.get_language() or "zh-hans"
    return (en or zh) if language.startswith("en") else (zh or en)


# --- Categories and their SLA ---------------------------------------------------------------


class SlaClock(models.TextChoices):
    WORKING = "working", _("Working time (Chinese working calendar)")
    ROUND_THE_CLOCK = "round_the_clock", _("Around the clock")


class SlaPolicy(models.Model):
    """Deadlines for one kind of problem, counted from dispatch.

    Minutes are working minutes on the working calendar, or plain minutes for a
    round-the-clock policy (emergencies do not wait for Monday)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    sign_minutes = models.PositiveIntegerField(_("sign for within (minutes)"))
    contact_minutes = models.PositiveIntegerField(_("first contact within (minutes)"))
    finish_minutes = models.PositiveIntegerField(_("finish within (minutes)"))
    emergency = models.BooleanField(_("emergency"), default=False)
    clock = models.CharField(
        _("clock"), max_length=16, choices=SlaClock.choices, default=SlaClock.WORKING
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("warn when this share of the time has passed (%)"),
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    supervise_after_days = models.PositiveSmallIntegerField(
        _("supervise this many working days after the deadline"), default=2
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sign_minutes__lte=models.F("contact_minutes"))
                & models.Q(contact_minutes__lte=models.F("finish_minutes")),
                name="sla_policy_deadlines_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _localised(self.name_zh, self.name_en)


class CategoryQuerySet(MP_NodeQuerySet):
    def active(self) -> CategoryQuerySet:
        return self.filter(active=True)


class CategoryManager(MP_NodeManager):
    def get_queryset(self) -> CategoryQuerySet:
        return CategoryQuerySet(self.model, using=self._db).order_by("path")


class Category(MP_Node):
    """A node of the three-level category tree. Level 1 uses the stable codes of domain.md;
    levels 2 and 3 are data. An empty SLA policy is inherited from the parent."""

    MAX_DEPTH = 3

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=80)
    icon = models.CharField(_("icon"), max_length=40, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy"),
    )
    active = models.BooleanField(_("active"), default=True)

    steplen = 4
    objects = CategoryManager()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _localised(self.name_zh, self.name_en)

    @property
    def level(self) -> int:
        return self.depth

    def ancestor_paths(self) -> list[str]:
        """Paths of the ancestors and of the category itself, root first."""
        return [self.path[: i * self.steplen] for i in range(1, self.depth + 1)]


class QuestionType(models.TextChoices):
    """Open311 GeoReport v2 attribute data types."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE = "singlevaluelist", _("One choice")
    MULTI = "multivaluelist", _("Several choices")


class CategoryQuestion(models.Model):
    """An extra question asked for a category (and its descendants), like an Open311 attribute.

    ``values`` is a list of ``{"key": ..., "name_zh": ..., "name_en": ...}`` for the list types."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(_("code"), max_length=40)
    datatype = models.CharField(_("type"), max_length=16, choices=QuestionType.choices)
    label_zh = models.CharField(_("question (Chinese)"), max_length=120)
    label_en = models.CharField(_("question (English)"), max_length=160)
    required = models.BooleanField(_("required"), default=False)
    values = models.JSONField(_("choices"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("category question")
        verbose_name_plural = _("category questions")
        ordering = ["category", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="category_question_code")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localised(self.label_zh, self.label_en)

    def choice_keys(self) -> list[str]:
        return [str(v["key"]) for v in self.values or []]


class TemplateStage(models.TextChoices):
    CONTACT = "contact", _("First contact")
    REPLY = "reply", _("Progress reply")
    FINISH = "finish", _("Finishing reply")
    RETURN = "return", _("Return")


class ResponseTemplate(models.Model):
    """A reply a handler can start from; ``category`` empty: offered for every category."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="templates"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=TemplateStage.choices)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["stage", "order", "id"]

    def __str__(self) -> str:
        return self.title


# --- Routing directory (派单目录) -------------------------------------------------------------


class RoutingKind(models.TextChoices):
    RULE = "rule", _("Rule (dispatches automatically)")
    BACKSTOP = "backstop", _("Backstop owner (suggested, never automatic)")


class RoutingRule(models.Model):
    """(category subtree, place subtree) → lead organisation and co-handlers.

    The most specific matching rule (deepest category, then deepest place) dispatches an order
    at intake. A backstop names the owner of last resort for a place: the dispatcher's board
    suggests it when no rule matches, and it never dispatches by itself."""

    kind = models.CharField(
        _("kind"), max_length=16, choices=RoutingKind.choices, default=RoutingKind.RULE
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="routing_rules",
        verbose_name=_("category"),
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="routing_rules", verbose_name=_("place")
    )
    lead_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="routing_rules_led",
        verbose_name=_("lead organisation"),
    )
    co_handlers = models.ManyToManyField(
        Organisation, blank=True, related_name="routing_rules_co", verbose_name=_("co-handlers")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="rule") & models.Q(category__isnull=False))
                | (models.Q(kind="backstop") & models.Q(category__isnull=True)),
                name="routing_rule_kind_category",
            ),
            models.UniqueConstraint(
                fields=["category", "place"],
                condition=models.Q(active=True, kind="rule"),
                name="routing_rule_one_active",
            ),
            models.UniqueConstraint(
                fields=["place"],
                condition=models.Q(active=True, kind="backstop"),
                name="routing_backstop_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or _('anything')} @ {self.place} → {self.lead_organisation}"


class CatalogueStamp(models.Model):
    """One row whose ``token`` changes (a fresh random value) whenever a category, question,
    SLA policy or routing rule changes, in the transaction of the change.

    Intake keeps the catalogue and the routing directory in process memory and reads only this
    token per submission: a different token means "load again". A random token, not a counter,
    so that a change rolled back and another change made afterwards never look alike."""

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("catalogue stamp")
        verbose_name_plural = _("catalogue stamps")

    def __str__(self) -> str:
        return self.token


# --- Orders ---------------------------------------------------------------------------------


class Channel(models.TextChoices):
    RESIDENT_FORM = "resident_form", _("Resident's form")
    HOTLINE = "hotline", _("Hotline")
    DISCOVERY = "discovery", _("Commissioner's discovery")
    COUNCIL = "council", _("Council proposal")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311")


class DueStage(models.TextChoices):
    NONE = "", _("No deadline running")
    SIGN = "sign", _("Sign for")
    CONTACT = "contact", _("First contact")
    FINISH = "finish", _("Finish")


class EscalationLevel(models.IntegerChoices):
    NONE = 0, _("On time")
    WARNED = 1, _("Deadline near")
    CHASED = 2, _("Overdue, chased")
    SUPERVISED = 3, _("Overdue, under supervision")


class WorkOrderQuerySet(ScopedQuerySet["WorkOrder"]):
    def visible_to(self, user: Any, action: str = "work_order.view") -> WorkOrderQuerySet:
        """Orders the user may see: their own, those in their place scope, and those assigned
        to their organisation (lead or co-handler). See ``workorders.access``."""
        from sanan.workorders.access import visible_orders_q

        return self.filter(visible_orders_q(user))


class WorkOrder(models.Model):
    """One request, complaint or discovered problem, from intake to archive.

    ``state`` changes only through the services, which bump ``version`` with a conditional
    UPDATE so that of two people acting at once exactly one wins. ``due_at`` is the deadline
    of the current stage (sign / contact / finish) and ``escalation_at`` when the SLA sweep
    next has to look at the order; both are indexed."""

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("category")
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("place")
    )
    courtyard = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courtyard_work_orders",
        verbose_name=_("courtyard"),
    )
    # The path of ``place`` when the order was registered (places do not move): the scope of
    # the board and of the lists is a prefix of it, read without joining the place table.
    place_path = models.CharField(max_length=255, default="", editable=False)
    title = models.CharField(_("title"), max_length=80)
    description = models.TextField(_("description"))
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    # Where, in WGS-84, and what the client sent (its coordinate system).
    latitude = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    longitude = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    point_system = models.CharField(_("coordinate system sent"), max_length=8, blank=True)

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    is_discovery = models.BooleanField(_("found on patrol"), default=False, db_index=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_work_orders",
        verbose_name=_("reporter"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entered_work_orders",
        verbose_name=_("entered by"),
    )
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    contact_phone_encrypted = models.TextField(blank=True, default="")
    contact_phone_masked = models.CharField(_("contact phone"), max_length=16, blank=True)
    # Keyed blind index of the contact phone: the call-taker finds a caller's earlier orders.
    contact_phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    idempotency_key = models.CharField(max_length=80, blank=True, default="")
    request_fingerprint = models.CharField(max_length=64, blank=True)

    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REGISTERED
    )
    version = models.PositiveIntegerField(default=1)
    emergency = models.BooleanField(_("emergency"), default=False)

    lead_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_work_orders",
        verbose_name=_("lead organisation"),
    )
    co_handlers = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="co_handled_work_orders",
        verbose_name=_("co-handlers"),
    )
    suggested_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suggested organisation"),
    )
    routing_rule = models.ForeignKey(
        RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    return_locked = models.BooleanField(_("returns refused after a ruling"), default=False)

    # SLA: the policy in force when the clock started, and the deadlines it gave.
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sla_clock = models.CharField(max_length=16, choices=SlaClock.choices, blank=True)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    sign_due_at = models.DateTimeField(_("sign for by"), null=True, blank=True, db_index=True)
    contact_due_at = models.DateTimeField(_("contact by"), null=True, blank=True, db_index=True)
    finish_due_at = models.DateTimeField(_("finish by"), null=True, blank=True, db_index=True)
    paused_minutes = models.PositiveIntegerField(_("paused by extensions (minutes)"), default=0)
    due_stage = models.CharField(max_length=8, choices=DueStage.choices, blank=True, default="")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(
        choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalation_at = models.DateTimeField(null=True, blank=True)
    chase_count = models.PositiveSmallIntegerField(_("chased"), default=0)
    supervision_level = models.PositiveSmallIntegerField(_("supervision level"), default=0)
    rehandle_count = models.PositiveSmallIntegerField(_("re-handled"), default=0)

    resolution = models.CharField(
        _("resolution"), max_length=16, choices=Resolution.choices, blank=True
    )
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True
    )

    created_at = models.DateTimeField(_("registered at"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # A duplicate merged into another order (合并) points to it; the parent's updates reach
    # the duplicate's reporter through ``WorkOrderFollower``.
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("merged into"),
    )

    objects = WorkOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="work_order_state_created"),
            models.Index(fields=["due_at"], name="work_order_due_at"),
            # What the SLA sweep reads (``escalation_at <= now``): only orders whose clock still
            # runs have the time; the archive's NULLs stay out of the index.
            models.Index(
                fields=["escalation_at"],
                condition=models.Q(escalation_at__isnull=False),
                name="work_order_escalating",
            ),
            models.Index(fields=["lead_organisation", "state"], name="work_order_lead_state"),
            models.Index(fields=["courtyard", "state"], name="work_order_courtyard_state"),
            models.Index(fields=["reporter", "created_at"], name="work_order_reporter"),
            models.Index(fields=["state", "finished_at"], name="work_order_state_finished"),
            # What the dispatcher's board reads, for the orders it can show (open or waiting
            # for their rating): the board scans this instead of the whole table, which
            # mostly holds archived orders.
            models.Index(
                fields=BOARD_INDEX_FIELDS,
                condition=models.Q(state__in=BOARD_STATES),
                name="work_order_board",
            ),
            # The board's clock-dependent counts (overdue, due soon): the chased orders not
            # due (``due_at > now``) and the unchased ones due (``due_at <= now``).
            models.Index(
                fields=BOARD_DUE_INDEX_FIELDS,
                condition=models.Q(state__in=BOARD_STATES, escalation_level__gte=2),
                name="work_order_board_chased",
            ),
            models.Index(
                fields=BOARD_DUE_INDEX_FIELDS,
                condition=models.Q(state__in=BOARD_STATES, escalation_level__lt=2),
                name="work_order_board_unchased",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="work_order_idempotency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.place_path and self.place_id is not None:
            self.place_path = self.place.path
        super().save(*args, **kwargs)

    def audit_label(self) -> str:
        return f"{self.reference} · {self.category_id}"  # no personal text in the audit log

    @property
    def reference(self) -> str:
        """The number people quote on the phone: registration day and id, e.g. 20261126-000123."""
        return f"{self.created_at:%Y%m%d}-{self.pk:06d}"

    @property
    def reporter_contact_phone(self) -> str:
        """The plain contact number; callers must have checked permission and audited."""
        if not self.contact_phone_encrypted:
            return ""
        return crypto.decrypt(self.contact_phone_encrypted, purpose=CONTACT_PHONE_PURPOSE)


class BoardCount(models.Model):
    """How many orders the board can show (``BOARD_STATES``) share one combination of the
    columns it counts: the place path cut at the courtyard, the courtyard, the lead
    organisation, the state, emergency, under supervision, past the warning point, chased
    (the sweep's mark at the deadline).

    Kept by ``workorders.counts`` with ``n = n ± 1`` in the transaction of every write that
    creates an order or changes one of those columns, so that the board and the queue add up
    a few hundred rows instead of counting every open order (decision 0003). ``0`` stands for
    no courtyard or no lead (a unique key treats NULLs as distinct). Repaired by
    ``sanan workorders recount``."""

    path = models.CharField(max_length=255)
    courtyard = models.IntegerField(default=0)
    lead = models.IntegerField(default=0)
    state = models.CharField(max_length=16)
    emergency = models.BooleanField(default=False)
    supervised = models.BooleanField(default=False)
    warned = models.BooleanField(default=False)
    chased = models.BooleanField(default=False)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "path",
                    "courtyard",
                    "lead",
                    "state",
                    "emergency",
                    "supervised",
                    "warned",
                    "chased",
                ],
                name="board_count_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.path} {self.state} lead={self.lead}: {self.n}"


class EventQuerySet(models.QuerySet["WorkOrderEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("work-order events are immutable")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("work-order events are immutable")


class WorkOrderEvent(models.Model):
    """One thing that happened to an order: who, when, from which state to which, why.

    Immutable: the key figures (response, resolution, satisfaction, on-time rates) are all
    computed from these rows. ``public_note`` is shown to the reporter; ``internal_note`` only
    to staff. ``attachments`` lists attachment ids (photos), filled by the upload feature."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_label = models.CharField(_("who"), max_length=150)
    acting_organisation = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=State.choices)
    reason_code = models.CharField(_("reason"), max_length=32, blank=True)
    reason = models.TextField(_("why"), blank=True)
    public_note = models.TextField(_("reply"), blank=True)
    internal_note = models.TextField(_("internal note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    attachments = models.JSONField(default=list, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["order", "at"], name="work_order_event_order"),
            models.Index(fields=["action", "at"], name="work_order_event_action"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("work-order events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("work-order events are immutable")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn (the order moved on)")


class ExtensionRequest(models.Model):
    """A handler's request for more time, made before the finish deadline. Approval pauses
    the finish clock for the granted working days (the deadline moves by exactly that)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    days = models.PositiveSmallIntegerField(_("working days asked for"))
    reason = models.TextField(_("why"))
    status = models.CharField(
        max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    granted_days = models.PositiveSmallIntegerField(default=0)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status="pending"),
                name="extension_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} +{self.days}d ({self.status})"


# --- Photos, followers ----------------------------------------------------------------------


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def visible_to(self, user: Any) -> AttachmentQuerySet:
        """Attachments of the orders the user may see."""
        return self.filter(order__in=WorkOrder.objects.visible_to(user).values("pk"))


class Attachment(models.Model):
    """A photo of an order, checked by its content (JPEG, PNG or WebP), re-encoded without
    its metadata (EXIF location included) and stored under a random name with a thumbnail.
    ``original_name`` is what the sender called it, cleaned, for display only."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        WorkOrderEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.CharField(max_length=200)  # storage name, random
    thumbnail = models.CharField(max_length=200)
    original_name = models.CharField(_("file name"), max_length=120, blank=True)
    content_type = models.CharField(max_length=32)
    thumbnail_content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.pk} {self.content_type}"


class FollowReason(models.TextChoices):
    CHOSEN = "chosen", _("Chose to follow")
    MERGED = "merged", _("Reported a duplicate that was merged in")


class WorkOrderFollower(models.Model):
    """Someone who gets the public updates of an order without being its reporter: a user,
    or — for a hotline caller without an account — the contact phone of ``via_order`` (the
    duplicate they reported), to which text messages go."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followed_work_orders",
    )
    via_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=FollowReason.choices)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(via_order__isnull=False),
                name="work_order_follower_someone",
            ),
            models.UniqueConstraint(
                fields=["order", "user"],
                condition=models.Q(user__isnull=False),
                name="work_order_follower_user",
            ),
            models.UniqueConstraint(
                fields=["order", "via_order"],
                condition=models.Q(user__isnull=True),
                name="work_order_follower_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} ← {self.user_id or self.via_order_id}"


# --- Notifications outbox -------------------------------------------------------------------


class OutboxChannel(models.TextChoices):
    INBOX = "inbox", _("In-app inbox")
    SMS = "sms", _("Text message")
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Delivered")
    FAILED = "failed", _("Failed")


class OutboxMessage(models.Model):
    """A notification, written in the transaction of the change it tells about and delivered
    after commit by the worker. The recipient is a user, an organisation's members, or the
    people holding ``recipient_action`` over ``recipient_place``; the payload never carries
    personal data (the deliverer looks it up). ``dedupe_key`` makes each message unique."""

    created_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=OutboxChannel.choices)
    template = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    recipient_organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    recipient_action = models.CharField(max_length=64, blank=True)
    recipient_place = models.ForeignKey(
        Place, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    event = models.ForeignKey(
        WorkOrderEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    dedupe_key = models.CharField(max_length=160, unique=True)
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.template} → {self.channel}"


# --- The working calendar -------------------------------------------------------------------


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Public holiday (no work)")
    WORKDAY = "workday", _("Make-up working day (调休)")


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("chinese-calendar package")
    MANUAL = "manual", _("Entered by hand")


class WorkCalendarDay(models.Model):
    """A day that differs from the Monday–Friday rule: a holiday on a weekday (or weekend
    days inside a holiday), or a weekend day that is worked (make-up day)."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(max_length=8, choices=CalendarSource.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class WorkCalendarYear(models.Model):
    """A year whose holidays and make-up days are known. Years without a row are counted
    Monday–Friday, and :func:`sanan.workorders.sla.calendar_status` says so."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    source = models.CharField(max_length=8, choices=CalendarSource.choices)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class WorkingPeriod(models.Model):
    """Working hours of a working day, in local time (Asia/Shanghai), e.g. 09:00–12:00."""

    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")
        ordering = ["starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts__lt=models.F("ends")), name="working_period_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts:%H:%M}–{self.ends:%H:%M}"


__all__ = [
    "Action",
    "Attachment",
    "CatalogueStamp",
    "Category",
    "CategoryQuestion",
    "Channel",
    "ExtensionRequest",
    "OutboxMessage",
    "ResponseTemplate",
    "ReturnReason",
    "RoutingRule",
    "Ruling",
    "SlaPolicy",
    "State",
    "WorkCalendarDay",
    "WorkCalendarYear",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderFollower",
    "WorkingPeriod",
]
