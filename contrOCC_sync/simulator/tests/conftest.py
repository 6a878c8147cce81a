"""Fixtures of the simulator's suite: an authorised API client, a small council, the clock, and the
simulator itself as a real gunicorn process on a free port (on this suite's PostgreSQL test database)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import time_machine
from django.db import connection
from django.test import Client

from contrOCC_sync.simulator.backoffice.models import CarePackageLine, Provider, ServiceType, ServiceUser
from contrOCC_sync.simulator.clock import LONDON

REPO = Path(__file__).resolve().parents[3]
TOKEN = "demo-backoffice-token"  # the settings' default outside production

# A Monday, and the week's deadline: Tuesday 8 September 2026 17:00 London (BST).
WEEK = dt.date(2026, 8, 31)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


@pytest.fixture
def at():
    """`at(moment)`: the clock stands still at that moment until the next call (or the test's end)."""
    travellers: list[Any] = []

    def move(moment: dt.datetime) -> None:
        while travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield move
    while travellers:
        travellers.pop().stop()


class Api:
    """The portal's view of the back office: every call carries the token; writes carry a fresh key."""

    def __init__(self, client: Client):
        self.client = client
        self.auth = {"Authorization": f"Bearer {TOKEN}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.auth)

    def post(
        self, path: str, body: Any = None, *, key: str | None = "", headers: dict[str, str] | None = None
    ) -> Any:
        extra = dict(self.auth)
        if key == "":
            key = str(uuid.uuid4())
        if key is not None:
            extra["Idempotency-Key"] = key
        extra |= headers or {}
        return self.client.post(path, json.dumps(body or {}), content_type="application/json", headers=extra)

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every result of a cursor-paged list, following next_cursor."""
        results, since = [], None
        while True:
            page = self.get(path, **params, **({"since": since} if since else {})).json()
            results += page["results"]
            since = page["next_cursor"]
            if not page["has_more"]:
                return results


@pytest.fixture
def api(db) -> Api:
    return Api(Client())


@dataclass
class Council:
    homesup: ServiceType  # paid on actuals, hours in quarters, extras allowed
    suplive: ServiceType  # paid on plan, no extras
    daycare: ServiceType  # paid on plan, sessions, extras allowed
    agency: ServiceType  # paid on invoice
    provider_a: Provider
    provider_b: Provider
    alice: ServiceUser
    bob: ServiceUser
    child: ServiceUser
    line_a: CarePackageLine  # Alice's home support with A: 10 h a week at 21.37
    line_plan: CarePackageLine  # Alice's supported living with A: 40 h a week at 20.00
    line_day: CarePackageLine  # Bob's day care with A: 3 sessions at 55.50
    line_b: CarePackageLine  # Bob's home support with B
    line_agency: CarePackageLine  # the child's agency placement with B: a week at 1000.00


@pytest.fixture
def council(db) -> Council:
    def st(code: str, unit: str, step: str, extras: bool, paid_on: str) -> ServiceType:
        return ServiceType.objects.create(
            code=code, name=code.title(), unit=unit, step=Decimal(step), allows_extras=extras, paid_on=paid_on
        )

    homesup = st("HOMESUP", "hours", "0.25", True, "actuals")
    suplive = st("SUPLIV", "hours", "0.25", False, "plan")
    daycare = st("DAYCARE", "sessions", "1", True, "plan")
    agency = st("AGENCY", "weeks", "1", False, "invoice")
    provider_a = Provider.objects.create(ref="PRV00001", name="Airedale Home Care Ltd", kind="adult")
    provider_b = Provider.objects.create(ref="PRV00002", name="Brookside Fostering Ltd", kind="children")
    alice = ServiceUser.objects.create(
        ref="CL000001", name="Alice Ashworth", weekly_contribution=Decimal("45.00")
    )
    bob = ServiceUser.objects.create(ref="CL000002", name="Bob Booth", weekly_contribution=Decimal("0"))
    child = ServiceUser.objects.create(ref="CL000003", name="Chloe Child")

    def line(
        ref: str, provider: Provider, person: ServiceUser, kind: ServiceType, planned: str, rate: str
    ) -> CarePackageLine:
        return CarePackageLine.objects.create(
            ref=ref,
            provider=provider,
            service_user=person,
            service_type=kind,
            planned_per_week=Decimal(planned),
            rate=Decimal(rate),
            start_date=dt.date(2025, 1, 6),
        )

    return Council(
        homesup, suplive, daycare, agency, provider_a, provider_b, alice, bob, child,
        line("CPL0000001", provider_a, alice, homesup, "10.00", "21.37"),
        line("CPL0000002", provider_a, alice, suplive, "40.00", "20.00"),
        line("CPL0000003", provider_a, bob, daycare, "3", "55.50"),
        line("CPL0000004", provider_b, bob, homesup, "5.00", "22.00"),
        line("CPL0000005", provider_b, child, agency, "1", "1000.00"),
    )  # fmt: skip


def actual(
    portal_line_id: int,
    *,
    line: str = "CPL0000001",
    version: int = 1,
    delivered: str = "10.00",
    frustrated: str = "0",
    missed: str = "0",
    extra: str = "0",
    amount: str = "213.70",
    form: str = "",
) -> dict[str, Any]:
    return {
        "portal_line_id": portal_line_id,
        "version": version,
        "care_package_line_ref": line,
        "planned": "10.00",
        "delivered": delivered,
        "frustrated": frustrated,
        "missed": missed,
        "extra": extra,
        "adjustment_form_ref": form,
        "comment": "",
        "amount": amount,
    }


def submission(*lines: dict[str, Any], provider: str = "PRV00001", week: dt.date = WEEK) -> dict[str, Any]:
    return {
        "provider_ref": provider,
        "week_start": week.isoformat(),
        "confirmed_at": "2026-09-07T10:00:00+01:00",
        "confirmed_by": "sam.okafor@example.org",
        "lines": list(lines),
    }


# The simulator as a real process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """This suite's test database (pytest-django's test_backoffice), for the processes a test starts."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKOFFICE_", "DJANGO_SETTINGS"))}
    return (
        env
        | {"PORTAL_ENV": "test", "BACKOFFICE_DATABASE_URL": database_url(), "BACKOFFICE_TOKEN": TOKEN}
        | extra
    )


@dataclass
class LiveBackoffice:
    url: str
    log: Path

    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return headers | ({"Idempotency-Key": key} if key else {})

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.url}/sim/{path}", json=body, headers=self.headers(), timeout=30
        )
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture(scope="session")
def live_backoffice(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveBackoffice]:
    """gunicorn serving the simulator as bin/demo runs it (gthread workers), on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("backoffice") / "gunicorn.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(gunicorn), "contrOCC_sync.simulator.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--worker-class", "gthread", "--threads", "8", "--timeout", "120", "--log-level", "debug"],
            cwd=REPO, env=process_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(
                f"{url}/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2
            ).ok:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError("the simulator did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
    yield LiveBackoffice(url=url, log=log)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def settings_sim_off(settings):
    settings.BACKOFFICE_SIM_CONTROLS = False
    return settings
