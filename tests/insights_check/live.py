"""The same check against a running Sanan (the demo): sign in for an API token, read every
order and its timeline, recompute every figure (``independent.py``) and compare with
``/api/v1/insights/…`` and with the dashboard's page.

    .venv/bin/python -m tests.insights_check.live http://127.0.0.1:8317 dispatcher leader PASSWORD

The first login reads the orders (a desk user sees every step's details), the second the
figures and the dashboard. Prints one line per figure and per difference; exits 1 on any.
"""

# ruff: noqa: T201, S310 (a command-line script: it prints, and opens the URL it is given)
from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import os
import pickle
import re
import sys
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import Any

from tests.insights_check import independent as ind

BREAKDOWNS = ("month", "channel", "category", "courtyard", "department", "unit", "campaign")


class Api:
    def __init__(self, base: str, login: str, password: str) -> None:
        self.base = base.rstrip("/")
        body = urllib.parse.urlencode({"username": login, "password": password}).encode()
        with urllib.request.urlopen(f"{self.base}/api/v1/auth/token/", body) as response:
            self.token = json.load(response)["token"]

    def get(self, url: str) -> Any:
        if url.startswith("/"):
            url = self.base + url
        request = urllib.request.Request(
            url, headers={"Authorization": f"Token {self.token}", "Accept-Language": "zh-hans"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)


def _dashboard_html(base: str, login: str, password: str, query: str = "") -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/login/").read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode(
        {"username": login, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", body, headers={"Referer": f"{base}/accounts/login/"}
    )
    opener.open(request).read()
    return str(opener.open(f"{base}/dashboard/{query}").read().decode())


def _shown(page: str, testid: str) -> list[str]:
    block = re.search(rf'data-testid="{testid}".*?</a>', page, re.S)
    if block is None:
        return []
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", block.group(0).split(">", 1)[1]))
    return re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))


def main(base: str, desk: str, leader: str, password: str) -> int:
    reader, boss = Api(base, desk, password), Api(base, leader, password)
    campaigns = [c["id"] for c in ind._pages(boss.get, "/api/v1/campaigns/?page_size=200")]
    cache = os.environ.get("SANAN_CHECK_CACHE", "")
    if cache and os.path.exists(cache):
        with open(cache, "rb") as f:
            data = pickle.load(f)  # noqa: S301 (a file this script wrote)
    else:
        data = ind.fetch(reader.get, campaigns=campaigns)
        if cache:
            with open(cache, "wb") as f:
                pickle.dump(data, f)
    today = dt.datetime.now(ind.SHANGHAI).date()
    last = today.replace(day=1)
    first = dt.date(last.year - 1, last.month, 1)
    first = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    period = {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}"}
    query = urllib.parse.urlencode(period)
    summary = boss.get(f"/api/v1/insights/kpis/?{query}")
    residents = next(
        f["denominator"] for f in summary["figures"] if f["code"] == "orders_per_1000_residents"
    )
    rows = [f for _o, f in ind.counted(data, first, last)]
    mine = ind.figures(rows, residents=residents)
    print(f"{len(data.orders)} orders read, {len(rows)} counted in {period}; {residents} residents")
    api = {f["code"]: f for f in summary["figures"]}
    for code, figure in mine.items():
        print(
            f"  {code:28} recomputed {figure.numerator:>10} / {figure.denominator:<6} = "
            f"{figure.value!s:22.22}  API {api[code]['numerator']:>10} / "
            f"{api[code]['denominator']:<6} = {api[code]['value']}"
        )
    problems = ind.compare(mine, summary["figures"], where="summary: ")
    for by in BREAKDOWNS:
        groups = ind.group(data, first, last, by)
        answer = boss.get(f"/api/v1/insights/breakdown/?by={by}&{query}")
        seen = set()
        for row in answer["rows"]:
            key = str(row["key"])
            if by == "courtyard":
                # Rows are keyed by place path, which the places API does not show: by name.
                key = _courtyard_ids(boss).get(row["label"], "")
            seen.add(key)
            problems += ind.compare(
                ind.figures(groups.get(key, [])), row["figures"], where=f"{by}={row['label']}: "
            )
        if by not in ("department", "unit"):
            problems += [
                f"{by}: {len(v)} orders of {k!r} in no row"
                for k, v in groups.items()
                if k not in seen and v
            ]
        print(f"  by {by}: {len(answer['rows'])} rows compared")
    month = dt.date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    for by in ("courtyard", "department"):
        answer = boss.get(f"/api/v1/insights/red-black/?month={month:%Y-%m}&by={by}")
        groups = ind.group(data, month, month, by)
        if by == "courtyard":
            names = {v: k for k, v in _courtyard_ids(boss).items()}
            groups = {names.get(k, k): v for k, v in groups.items()}
        red, black = ind.red_black(groups, min_orders=answer["min_orders"])
        key = "label" if by == "courtyard" else "key"
        theirs = ([str(r[key]) for r in answer["red"]], [str(r[key]) for r in answer["black"]])
        print(
            f"  red/black {month:%Y-%m} by {by}: {len(answer['red'])} red, "
            f"{len(answer['black'])} black"
        )
        if (red, black) != theirs:
            problems.append(f"red/black by {by}: API {theirs}, recomputed {(red, black)}")
    page = _dashboard_html(base, leader, password)
    for code in ("response_rate", "resolution_rate", "satisfaction_rate"):
        f = mine[code]
        expected = [f"{round((f.value or 0) * 100, 1)}", str(f.numerator), str(f.denominator)]
        shown = _shown(page, f"rate-{code}")[-3:]
        print(f"  dashboard {code}: shows {shown}, recomputed {expected}")
        if shown != expected:
            problems.append(f"dashboard {code}: shows {shown}, recomputed {expected}")
    for line in problems:
        print("DIFFERS", line)
    print("all figures match" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


_COURTYARDS: dict[str, str] = {}


def _courtyard_ids(api: Api) -> dict[str, str]:
    """Courtyard name -> id, from the places API (the demo's names are unique)."""
    if not _COURTYARDS:
        for place in ind._pages(api.get, "/api/v1/places/?kind=courtyard"):
            _COURTYARDS[place["name"]] = str(place["id"])
    return _COURTYARDS


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
