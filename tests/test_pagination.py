"""``CountedPaginator``: pages numbered by a count known beforehand (a bucket's, from the
board's counters), which never hides a row when the count is behind the rows and never fails
when it is ahead of them."""

from __future__ import annotations

import pytest

from sanan.accounts.models import User
from sanan.core.pagination import CountedPaginator

pytestmark = pytest.mark.django_db


def _rows() -> list[int]:
    for i in range(7):
        User.objects.create(username=f"paged-{i}")
    return list(User.objects.filter(username__startswith="paged-").order_by("pk").values_list(
        "pk", flat=True))  # fmt: skip


def _walk(count: int) -> tuple[list[int], list[int]]:
    """Every row shown by following "next" from page 1, and the page numbers visited."""
    qs = User.objects.filter(username__startswith="paged-").order_by("pk")
    paginator = CountedPaginator(qs, 2, count=count)
    seen: list[int] = []
    numbers = []
    page = paginator.get_page(1)
    while True:
        numbers.append(page.number)
        seen += [u.pk for u in page.object_list]
        if not page.has_next():
            return seen, numbers
        page = paginator.get_page(page.next_page_number())


@pytest.mark.parametrize("count", [0, 3, 6, 7, 12])
def test_counted_paginator__whatever_the_count__every_row_once_in_order(count: int) -> None:
    rows = _rows()
    seen, numbers = _walk(count)
    assert seen == rows
    assert numbers == [1, 2, 3, 4]


def test_counted_paginator__the_count_numbers_the_pages__without_counting() -> None:
    _rows()
    qs = User.objects.filter(username__startswith="paged-").order_by("pk")
    paginator = CountedPaginator(qs, 2, count=7)
    assert (paginator.count, paginator.num_pages, paginator.capped) == (7, 4, False)
    assert len(paginator.get_page(4).object_list) == 1


def test_counted_paginator__count_ahead_of_the_rows__a_page_past_them_is_the_first() -> None:
    rows = _rows()
    qs = User.objects.filter(username__startswith="paged-").order_by("pk")
    page = CountedPaginator(qs, 2, count=40).get_page(9)  # 20 pages by the count; 4 have rows
    assert [u.pk for u in page.object_list] == rows[:2]
    assert CountedPaginator(qs, 2, count=40).get_page("x").number == 1
