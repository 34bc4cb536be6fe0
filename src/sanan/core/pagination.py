"""Pagination that does not count a million rows to show fifty.

A list page needs its rows and whether there are more; the exact size of a result of a million
rows costs more than the page itself (a full scan of the matching rows, on every page). The
paginators here count at most ``COUNT_CAP + 1`` rows, without ordering them: below the cap the
count is exact; above it ``count`` is ``COUNT_CAP`` and ``capped`` is true ("more than 1,000"),
and the pages go on as long as there are rows (``has_next`` looks one row ahead).

``CappedPaginator`` replaces Django's ``Paginator`` in pages; ``CappedPageNumberPagination``
replaces DRF's ``PageNumberPagination`` in the API, adding ``count_capped`` to the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import (
    PageNumberPagination,
    _get_displayed_page_numbers,
    _get_page_links,
)
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

if TYPE_CHECKING:
    from rest_framework.pagination import HtmlContextWithPageLinks  # the stubs' only

COUNT_CAP = 1_000
# The furthest row a page may start at: a larger offset is past any list (and past what the
# databases take as an OFFSET, a signed 64-bit number), so its page is simply empty.
MAX_OFFSET = 2**53


class CappedPage(Page):
    """A page of a result counted up to the cap: whether a next page exists is known from the
    rows fetched (one more than the page holds), not from the count."""

    def __init__(
        self, object_list: Sequence[Any], number: int, paginator: Paginator, *, more: bool
    ) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class CappedPaginator(Paginator):
    """``count`` is exact up to ``count_cap``; beyond it, ``capped`` is true and ``num_pages``
    is the number of pages known so far (the cap's), while later pages can still be asked for.

    Over a queryset, the first ``count_cap + 1`` primary keys are read in the list's order with
    one query: they give the count and the keys of the first pages at once. A page's rows are
    then read by primary key (a second query, whatever the page), so walking the list to reach
    a page touches the indexes only, never the rows skipped."""

    count_cap = COUNT_CAP

    def _queryset(self) -> QuerySet[Any]:
        assert isinstance(self.object_list, QuerySet)
        return self.object_list

    def _keys(self, start: int, stop: int) -> list[Any]:
        rows = self._queryset().prefetch_related(None).values_list("pk", flat=True)
        return list(rows[start:stop])

    @cached_property
    def head(self) -> list[Any] | None:
        """The primary keys of the first ``count_cap + 1`` rows, in order (querysets only)."""
        if not isinstance(self.object_list, QuerySet):
            return None
        return self._keys(0, self.count_cap + 1)

    @cached_property
    def counted(self) -> int:
        """The matching rows, counted up to ``count_cap + 1`` (set by ``page`` when a page past
        the first ``count_cap`` rows was read: the head is then not needed)."""
        return len(self.head) if self.head is not None else len(self.object_list)

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.count_cap)

    @property
    def capped(self) -> bool:
        return self.counted > self.count_cap

    def validate_number(self, number: Any) -> int:
        """A whole number from 1; a page past the end is found out by ``page`` itself (which
        needs no count for it)."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            value = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(_("That page number is not an integer")) from None
        if value < 1:
            raise EmptyPage(_("That page number is less than 1"))
        return value

    def page(self, number: Any) -> Page:
        """One query for the page's keys (the first pages: the same one that counts), one for
        its rows, whatever the page."""
        if not isinstance(self.object_list, QuerySet):
            return super().page(Paginator.validate_number(self, number))
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom > MAX_OFFSET:
            raise EmptyPage(_("That page contains no results"))
        keys = self._page_keys(bottom, bottom + self.per_page + 1)  # one more: a next page?
        if not keys and number > 1:
            raise EmptyPage(_("That page contains no results"))
        wanted = keys[: self.per_page]
        found = {row.pk: row for row in self._queryset().filter(pk__in=wanted)}
        rows = [found[key] for key in wanted if key in found]
        return CappedPage(rows, number, self, more=len(keys) > self.per_page)

    def _page_keys(self, bottom: int, stop: int) -> list[Any]:
        """The keys of rows ``bottom`` to ``stop``: from the head while it holds them."""
        if stop <= self.count_cap + 1:
            assert self.head is not None
            return self.head[bottom:stop]
        keys = self._keys(bottom, stop)
        if keys and "counted" not in self.__dict__:  # what the keys say of the count
            total = bottom + len(keys)  # exact when there is no next page
            self.__dict__["counted"] = min(total, self.count_cap + 1)
        return keys

    def get_page(self, number: Any) -> Page:
        """Like Django's: a page that is not a number is the first; one past the end (which
        ``page`` alone finds out) is the last page known."""
        try:
            return super().get_page(number)
        except EmptyPage:
            return self.page(self.num_pages)


class CountedPaginator(CappedPaginator):
    """Pages of a queryset numbered by a count known beforehand (a bucket's, which the board
    and the queue read from maintained counters) instead of counting its rows.

    The count only numbers the pages: each page reads its own keys, one more than it holds to
    know whether another follows, so a count behind the rows (an order that arrived between
    the two reads, counters awaiting a recount) hides none of them; the pages go on while
    there are rows. A count ahead of the rows ends on the last page that has some."""

    count_cap = 2**62

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["counted"] = max(0, count)

    def _page_keys(self, bottom: int, stop: int) -> list[Any]:
        return self._keys(bottom, stop)  # each page its own: no head, the count is given

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # the count was ahead of the rows: the last page known is empty too
            return self.page(1)


class CappedPageNumberPagination(PageNumberPagination):
    """DRF page-number pagination over ``CappedPaginator``: ``{"count", "count_capped",
    "next", "previous", "results"}``. ``count_capped`` true: there are more than ``count``."""

    django_paginator_class = CappedPaginator

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_capped": bool(getattr(paginator, "capped", False)),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_html_context(self) -> HtmlContextWithPageLinks:
        """The browsable API's page links: DRF's, up to the page shown and the next one when
        there is one (a capped list knows no last page; DRF's own links assume one)."""
        assert self.page is not None
        base_url = self.request.build_absolute_uri()  # type: ignore[union-attr]

        def page_number_to_url(number: int) -> str:
            if number == 1:
                return remove_query_param(base_url, self.page_query_param)
            return replace_query_param(base_url, self.page_query_param, number)

        current = self.page.number
        final = max(self.page.paginator.num_pages, current + int(self.page.has_next()))
        numbers = _get_displayed_page_numbers(current, final)
        return {
            "previous_url": self.get_previous_link(),  # type: ignore[typeddict-item]
            "next_url": self.get_next_link(),  # type: ignore[typeddict-item]
            "page_links": _get_page_links(numbers, current, page_number_to_url),
        }

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"Matching rows, exact up to {COUNT_CAP:,}; when count_capped is true there are more."
        )
        response["properties"]["count_capped"] = {"type": "boolean", "example": False}
        response["required"] = [*response.get("required", []), "count_capped"]
        return response
