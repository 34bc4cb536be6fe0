"""Findings of a walk through the demo community as an outsider: each a request that once
answered with a server error or showed what it should not, kept as a regression test."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.hostile.conftest import Hostile

pytestmark = pytest.mark.django_db


def _web(h: Hostile, who: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _api(h: Hostile, who: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


@pytest.mark.parametrize("page", ["30", "١٢", str(2**62), str(2**70)])
def test_registry_list__page_past_the_end__shows_the_last_page(hostile: Hostile, page: str) -> None:
    # A bookmark to page 30 of a list that has since shrunk (or any number typed into the
    # address) once raised EmptyPage out of the paginator: a server error.
    response = _web(hostile, "commissioner_a").get("/registry/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.parametrize("page", [str(2**62), str(2**70)])
def test_registry_api__page_past_64_bit_offsets__not_found(hostile: Hostile, page: str) -> None:
    # page * 25 past a signed 64-bit OFFSET once reached the database: a server error.
    response = _api(hostile, "commissioner_a").get("/api/v1/registry/residents/", {"page": page})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
