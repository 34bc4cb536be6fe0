"""Figures kept up to date from the work-order event log.

``OrderFact``: one row per counted order, its counters derived from the order and its events
(``facts.order_facts``), keyed by the dimensions the figures are cut by. ``KpiRollup``: the
counters summed per (grain, place path, month, category, organisation, channel); the pages
read these. ``RefreshState`` holds the watermarks of the event log. All three are written
only by ``services.insights_refresh`` (the worker every minute, ``sanan insights refresh``,
the end of the demo build)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Grain(models.IntegerChoices):
    """How fine a rollup row is. The courtyard grains serve a community (or a courtyard);
    the community grains a sub-district, a district or a city; the plain grains the figures,
    trends and place breakdowns, the detail grains the cuts by category, organisation and
    channel."""

    COURTYARD = 1, _("courtyard × month")
    COURTYARD_DETAIL = 2, _("courtyard × month × category × organisation × channel")
    COMMUNITY = 3, _("community × month")
    COMMUNITY_DETAIL = 4, _("community × month × category × organisation × channel")


class Counters(models.Model):
    """The counters of ``kpis.COUNTERS`` as columns."""

    orders = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    signed = models.IntegerField(default=0)
    signed_on_time = models.IntegerField(default=0)
    finished = models.IntegerField(default=0)
    finished_on_time = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    rehandled = models.IntegerField(default=0)
    rated_resolution = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    rated_satisfaction = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    fcr = models.IntegerField(default=0)
    handling_minutes = models.BigIntegerField(default=0)
    h00 = models.IntegerField(default=0)
    h01 = models.IntegerField(default=0)
    h02 = models.IntegerField(default=0)
    h03 = models.IntegerField(default=0)
    h04 = models.IntegerField(default=0)
    h05 = models.IntegerField(default=0)
    h06 = models.IntegerField(default=0)
    h07 = models.IntegerField(default=0)
    h08 = models.IntegerField(default=0)
    h09 = models.IntegerField(default=0)
    h10 = models.IntegerField(default=0)
    h11 = models.IntegerField(default=0)
    h12 = models.IntegerField(default=0)
    h13 = models.IntegerField(default=0)
    h14 = models.IntegerField(default=0)
    h15 = models.IntegerField(default=0)

    class Meta:
        abstract = True


class OrderFact(Counters):
    """What one counted order contributes to the figures, as last computed from its events.

    ``place_path`` is the path of the order's courtyard (or of its own place when it lies
    above the courtyards), ``community_path`` that of its community; ``month`` the first day
    of its registration month in local time. A merged duplicate has no row."""

    order = models.OneToOneField(
        "workorders.WorkOrder",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="insight_fact",
    )
    month = models.DateField()
    place_path = models.CharField(max_length=255)
    community_path = models.CharField(max_length=255)
    category_id = models.IntegerField(default=0)  # level-1 category
    organisation_id = models.IntegerField(default=0)  # lead organisation, 0 when none
    channel = models.CharField(max_length=16, default="")
    discovery = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("order fact")
        verbose_name_plural = _("order facts")
        indexes = [
            models.Index(fields=["place_path", "month"], name="insights_fact_place_month"),
            models.Index(fields=["month", "place_path"], name="insights_fact_month_place"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.month:%Y-%m}"


class KpiRollup(Counters):
    """The counters of the order facts summed per key; ``category_id``, ``organisation_id``
    and ``channel`` are 0 / "" in the plain grains."""

    grain = models.PositiveSmallIntegerField(choices=Grain.choices)
    place_path = models.CharField(max_length=255)
    month = models.DateField()
    category_id = models.IntegerField(default=0)
    organisation_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=16, default="")

    class Meta:
        verbose_name = _("figure rollup")
        verbose_name_plural = _("figure rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "place_path", "month", "category_id", "organisation_id",
                        "channel"],
                name="insights_rollup_key",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["grain", "month", "place_path"], name="insights_rollup_month"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.place_path} {self.month:%Y-%m}"


class PlacePopulation(models.Model):
    """Residents living in a courtyard (or a community), counted from the registry when it
    changed: the denominator of orders per 1,000 residents."""

    grain = models.PositiveSmallIntegerField(choices=Grain.choices)
    place_path = models.CharField(max_length=255)
    residents = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("place population")
        verbose_name_plural = _("place populations")
        constraints = [
            models.UniqueConstraint(fields=["grain", "place_path"], name="insights_population")
        ]

    def __str__(self) -> str:
        return f"{self.place_path}: {self.residents}"


class RefreshState(models.Model):
    """The one row of watermarks. Events up to ``last_event_id`` have been applied; a
    refresh re-reads those above ``safe_event_id`` (the previous refresh's watermark) too, so
    that an event of a transaction that committed after a later one is not missed."""

    last_event_id = models.BigIntegerField(default=0)
    safe_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    population_stamp = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        verbose_name = _("figures refresh state")
        verbose_name_plural = _("figures refresh state")

    def __str__(self) -> str:
        return f"events ≤ {self.last_event_id}"
