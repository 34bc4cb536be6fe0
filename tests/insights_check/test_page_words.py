"""Words of the figures page as a Chinese reader sees them: the breakdown's first column heads
rows of courtyards, departments, categories or months, not a person's name (姓名)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from sanan.accounts.models import User
from tests.personas import World

pytestmark = pytest.mark.django_db


def test_breakdown_column_of_places_is_not_headed_as_a_persons_name(
    world: World, web_as: Callable
) -> None:
    client = web_as(User.objects.get(username="p-leader"))
    html = client.get("/insights/?by=courtyard", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    head = re.search(r"<thead><tr><th[^>]*>([^<]*)</th>", html)
    assert head is not None
    assert head.group(1) != "姓名"
