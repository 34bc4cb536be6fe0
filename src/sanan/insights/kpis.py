"""The key figures as data: what each one counts, written once for the pages, the API, the
rollups and ``docs/kpis.md``.

Every figure is a ratio of two counters of the order facts (``models.OrderFact``): the
*numerator* counter and the *denominator* counter, summed over the orders registered in the
period (the registration month, Asia/Shanghai, puts an order into a month). ``kind`` says how
the value is derived from the sums:

- ``rate``: numerator / denominator, a share (0–1), shown as a percentage;
- ``mean_hours``: the summed handling minutes / the denominator / 60;
- ``p90_hours``: the upper edge of the handling-time histogram bucket holding the 90th
  percentile (``HOUR_BUCKETS``);
- ``per_1000``: numerator × 1000 / the residents of the scope (``PlacePopulation``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Upper edges (hours) of the handling-time histogram: an order whose handling took h hours
# falls into the first bucket whose edge is >= h (the last bucket takes everything longer).
HOUR_BUCKETS: tuple[int, ...] = (
    2, 4, 8, 24, 48, 72, 120, 168, 240, 360, 504, 720, 1080, 1440, 2160, 4320,
)  # fmt: skip
BUCKET_FIELDS: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(len(HOUR_BUCKETS)))


def bucket_of(minutes: int) -> int:
    """The histogram bucket of a handling time in minutes."""
    for i, edge in enumerate(HOUR_BUCKETS):
        if minutes <= edge * 60:
            return i
    return len(HOUR_BUCKETS) - 1


# The per-order counters (0 or 1, except ``handling_minutes``) that the rollups sum.
FLAGS: tuple[str, ...] = (
    "orders",  # counted (not merged into another order)
    "dispatched",  # given to an organisation at least once
    "responded",  # its first contact with the reporter came before the contact deadline
    "signed",  # signed for at least once
    "signed_on_time",  # every sign-for before its deadline
    "finished",  # finished at least once
    "finished_on_time",  # every finish before its deadline
    "returned",  # returned (退单) at least once
    "rehandled",  # re-handled (重办) at least once
    "rated_resolution",  # a complaint whose latest call-back says solved / partly / not solved
    "solved",  # ... and that says solved
    "rated_satisfaction",  # a complaint whose latest call-back gives a satisfaction
    "satisfied",  # ... satisfied or fairly satisfied
    "fcr",  # solved the first time: one call-back, solved; never returned, transferred, re-handled
)
COUNTERS: tuple[str, ...] = (*FLAGS, "handling_minutes", *BUCKET_FIELDS)


@dataclass(frozen=True)
class Kpi:
    code: str
    name_zh: str
    name: str | Promise  # English, through gettext
    numerator: str  # a counter of FLAGS (or "handling_minutes")
    denominator: str  # a counter of FLAGS, or "residents"
    numerator_text: str | Promise
    denominator_text: str | Promise
    unit: str  # "%", "h", "‰" (per 1,000 residents)
    higher_is_better: bool
    kind: str = "rate"
    # The counter whose orders a drill-down of the numerator lists (for hours: the finished).
    numerator_orders: str = ""

    @property
    def numerator_list(self) -> str:
        return self.numerator_orders or self.numerator


KPIS: dict[str, Kpi] = {
    k.code: k
    for k in [
        Kpi(
            "response_rate", "响应率", _("Response rate"), "responded", "dispatched",
            _("orders whose first contact with the reporter came before its deadline"),
            _("orders given to an organisation"), "%", True,
        ),
        Kpi(
            "resolution_rate", "解决率", _("Resolution rate"), "solved", "rated_resolution",
            _("complaints the reporter's latest call-back calls solved"),
            _("complaints with a call-back saying whether they were solved"), "%", True,
        ),
        Kpi(
            "satisfaction_rate", "满意率", _("Satisfaction rate"), "satisfied",
            "rated_satisfaction",
            _("complaints rated satisfied or fairly satisfied at the latest call-back"),
            _("complaints rated at a call-back (not counting “not rated”)"), "%", True,
        ),
        Kpi(
            "on_time_signing", "按时签收率", _("On-time signing"), "signed_on_time", "signed",
            _("orders whose every sign-for came before its deadline"),
            _("orders signed for"), "%", True,
        ),
        Kpi(
            "on_time_finishing", "按时办结率", _("On-time finishing"), "finished_on_time",
            "finished", _("orders whose every finish came before its deadline"),
            _("orders finished"), "%", True,
        ),
        Kpi(
            "return_rate", "回退率", _("Return rate"), "returned", "dispatched",
            _("orders returned by an organisation at least once"),
            _("orders given to an organisation"), "%", False,
        ),
        Kpi(
            "rehandling_rate", "重办率", _("Re-handling rate"), "rehandled", "finished",
            _("orders re-handled after a call-back at least once"),
            _("orders finished"), "%", False,
        ),
        Kpi(
            "first_contact_resolution", "一次性解决率", _("First-time resolution"), "fcr",
            "rated_resolution",
            _("complaints solved the first time: one call-back saying solved, never returned, "
              "transferred or re-handled"),
            _("complaints with a call-back saying whether they were solved"), "%", True,
        ),
        Kpi(
            "handling_hours_avg", "平均办理时长", _("Average handling time"),
            "handling_minutes", "finished",
            _("hours from registration to the latest finish, summed"),
            _("orders finished"), "h", False, kind="mean_hours", numerator_orders="finished",
        ),
        Kpi(
            "handling_hours_p90", "办理时长P90", _("Handling time, 90th percentile"),
            "handling_minutes", "finished",
            _("the hours within which nine in ten finished orders were finished (histogram "
              "bucket edge)"),
            _("orders finished"), "h", False, kind="p90_hours", numerator_orders="finished",
        ),
        Kpi(
            "orders_per_1000_residents", "千人工单量", _("Orders per 1,000 residents"),
            "orders", "residents", _("orders registered"),
            _("residents living in the place now (registry)"), "‰", False, kind="per_1000",
        ),
    ]
}  # fmt: skip

THREE_RATES: tuple[str, ...] = ("response_rate", "resolution_rate", "satisfaction_rate")


def kpi_name(kpi: Kpi) -> str:
    """The figure's name in the active language (Chinese names are the practice's own)."""
    from django.utils import translation

    language = translation.get_language() or "zh-hans"
    return str(kpi.name) if language.startswith("en") else kpi.name_zh
