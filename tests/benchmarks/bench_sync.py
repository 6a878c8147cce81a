"""Sync benchmarks (issue 5, "Speed"): the outbox pushing 100,000 confirmed lines to the simulated back
office, and a pull of its 20,000 care package lines, each against its floor in the same run.

Both talk to the real simulator process (tests/benchmarks/backoffice.py: gunicorn, as the link's tests
start it, on a copy of the back office's `large` council). Runs are long (a minute or more), so each is
timed a few times, alternating with its floor (`time_runs_against_floor`), and each prepares itself
untimed: a fresh copy of the back office's database before every outbox run and its floor, an empty
lines table before every pull and its floor.

Each run also records where its time went (`Meter`): HTTP round trips as the client sees them (the back
office's own work included), SQL statements by kind and commits in this process, and the rest (Python:
the ORM, JSON, Celery's task wrapper). The meter costs about 2 µs a statement, well under 1 % of a run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from unittest import mock

import requests
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from contrOCC_sync.client import BackOfficeClient
from contrOCC_sync.inbound import stream_pull
from contrOCC_sync.models import OutboxMessage, ParkedRow, SyncRun, SyncStream
from contrOCC_sync.outbox import outbox_enqueue
from portal.celery import app as celery_app
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from tests.backoffice_process import BackOffice
from tests.benchmarks.backoffice import Simulator
from tests.benchmarks.harness import TODAY, Goal, Samples, benchmark, time_runs_against_floor

ISSUE_5 = "issue 5, “Speed (in `make bench`, not in tests)”"

# The outbox: 1,000 confirmed provider-weeks of 100 lines each.
SUBMISSIONS = 1_000
LINES_PER_SUBMISSION = 100
OUTBOX_LINES = SUBMISSIONS * LINES_PER_SUBMISSION
OUTBOX_REPETITIONS = 2  # each run of either is about 90 s here
OUTBOX_BUDGET_SECONDS = 480
_today = dt.date.fromisoformat(TODAY)
LATEST_WEEK = _today - dt.timedelta(days=_today.weekday() + 7)  # the last whole week before TODAY
CONFIRMED_AT = f"{TODAY}T10:00:00+00:00"
CONFIRMED_BY = "bench.provider.user@example.org"

# The pull: every care package line of the back office's `large` council.
LINES_STREAM = SyncStream.Name.CARE_PACKAGE_LINES
PULL_LINES = 20_000
PULL_REPETITIONS = 3  # a pull is about 75 s here
PULL_BUDGET_SECONDS = 330


# Where a run's time goes ------------------------------------------------------------------------------


_KIND = re.compile(r'^\s*(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+"(\w+)")?', re.DOTALL)


class Meter:
    """Time spent in HTTP requests (requests.Session.request: the whole round trip, the back office's
    work included), in SQL statements by kind and in commits, in this process."""

    def __init__(self) -> None:
        self.http_seconds = 0.0
        self.http_requests = 0
        self.commit_seconds = 0.0
        self.commits = 0
        self.statements: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self._kinds: dict[str, str] = {}

    def _kind(self, sql: str) -> str:
        kind = self._kinds.get(sql)
        if kind is None:
            match = _KIND.match(sql)
            verb = match.group(1).upper() if match else "?"
            table = match.group(2) if match and match.group(2) and verb != "SAVEPOINT" else ""
            kind = " ".join(
                part for part in (verb, table, "FOR UPDATE" if "FOR UPDATE" in sql else "") if part
            )
            self._kinds[sql] = kind
        return kind

    def _statement(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.statements[self._kind(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    @contextmanager
    def measuring(self) -> Iterator[Meter]:
        original_request = requests.Session.request
        original_commit = connection._commit

        def request(session: requests.Session, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original_request(session, *args, **kwargs)
            finally:
                self.http_seconds += time.perf_counter() - started
                self.http_requests += 1

        def commit() -> Any:
            started = time.perf_counter()
            try:
                return original_commit()
            finally:
                self.commit_seconds += time.perf_counter() - started
                self.commits += 1

        with (
            mock.patch.object(requests.Session, "request", request),
            mock.patch.object(connection, "_commit", commit),
            connection.execute_wrapper(self._statement),
        ):
            yield self

    @property
    def sql_seconds(self) -> float:
        return sum(seconds for _, seconds in self.statements.values())

    @property
    def sql_count(self) -> int:
        return int(sum(count for count, _ in self.statements.values()))

    def describe(self, total: float, *, per: int, per_what: str, top: int = 8) -> str:
        """One line: total, HTTP, SQL (its main kinds), commits and the rest, also per `per_what`."""

        def share(seconds: float) -> str:
            return f"{seconds:.1f} s ({seconds / per * 1000:.2f} ms a {per_what})"

        rest = total - self.http_seconds - self.sql_seconds - self.commit_seconds
        kinds = sorted(self.statements.items(), key=lambda item: -item[1][1])[:top]
        detail = "; ".join(f"{kind} ×{int(count):,} {seconds:.1f} s" for kind, (count, seconds) in kinds)
        text = f"{total:.1f} s: HTTP {share(self.http_seconds)} in {self.http_requests:,} requests"
        if self.sql_count:
            text += (
                f"; SQL {share(self.sql_seconds)} in {self.sql_count:,} statements "
                f"({self.sql_count / per:.1f} a {per_what}: {detail}); "
                f"commits {share(self.commit_seconds)} ×{self.commits:,}"
            )
        return text + f"; the rest (Python) {share(rest)}"


# The outbox -------------------------------------------------------------------------------------------


def _feed(backoffice: BackOffice, stream: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    since = ""
    while True:
        page = backoffice.api(stream, limit=1000, **({"since": since} if since else {}))
        rows += page["results"]
        since = page["next_cursor"]
        if not page["has_more"]:
            return rows


def _actual_line(line: dict[str, Any], portal_line_id: int) -> dict[str, Any]:
    """The line delivered as planned, with the back office's own amount (paid on actuals: delivered ×
    the line's current rate, half up to the penny)."""
    delivered = Decimal(line["planned_per_week"])
    amount = (delivered * Decimal(line["rate"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "portal_line_id": portal_line_id, "version": 1, "care_package_line_ref": line["ref"],
        "planned": line["planned_per_week"], "delivered": str(delivered), "frustrated": "0.00",
        "missed": "0.00", "extra": "0.00", "adjustment_form_ref": "", "comment": "", "amount": str(amount),
    }  # fmt: skip


def actuals_submissions(backoffice: BackOffice) -> list[dict[str, Any]]:
    """1,000 week confirmations as the portal will send them: one submission per provider and week, with
    100 of that provider's lines paid on actuals that run through the whole week (the back office's own
    lines, at their latest version), each delivered as planned. Weeks go back from the last whole week
    before TODAY; every provider with 100 such lines that week sends one. Line ids run from 1."""
    paid_on = {row["code"]: row["paid_on"] for row in _feed(backoffice, "service-types")}
    latest: dict[str, dict[str, Any]] = {}
    for change in _feed(backoffice, "care-package-lines"):
        latest[change["ref"]] = change  # changes come in order: the last one of a line stands
    by_provider: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in sorted(latest.values(), key=lambda line: line["ref"]):
        if paid_on[line["service_type"]] == "actuals" and line["status"] != "suspended":
            by_provider[line["provider_ref"]].append(line)
    bodies: list[dict[str, Any]] = []
    week = LATEST_WEEK
    next_id = 1
    while len(bodies) < SUBMISSIONS:
        if week < LATEST_WEEK - dt.timedelta(weeks=104):
            raise RuntimeError(
                f"only {len(bodies)} provider-weeks of {LINES_PER_SUBMISSION} lines in two years"
            )
        first, last = str(week), str(week + dt.timedelta(days=6))
        for provider_ref in sorted(by_provider):
            running = [
                line
                for line in by_provider[provider_ref]
                if line["start_date"] <= first and (line["end_date"] is None or line["end_date"] >= last)
            ][:LINES_PER_SUBMISSION]
            if len(running) < LINES_PER_SUBMISSION:
                continue
            lines = [_actual_line(line, next_id + index) for index, line in enumerate(running)]
            next_id += len(lines)
            bodies.append(
                {
                    "provider_ref": provider_ref,
                    "week_start": first,
                    "confirmed_at": CONFIRMED_AT,
                    "confirmed_by": CONFIRMED_BY,
                    "lines": lines,
                }
            )
            if len(bodies) == SUBMISSIONS:
                break
        week -= dt.timedelta(weeks=1)
    return bodies


class OutboxBenchmark:
    def __init__(self, simulator: Simulator, bodies: list[dict[str, Any]]) -> None:
        self.simulator = simulator
        self.bodies = bodies
        refs = {body["provider_ref"] for body in bodies}
        self.providers = {provider.ref: provider for provider in Provider.objects.filter(ref__in=refs)}
        missing = refs - set(self.providers)
        assert not missing, f"the portal has no providers {sorted(missing)[:5]}: was the council seeded?"
        self.weeks = len({body["week_start"] for body in bodies})
        self.notes: list[str] = []

    def operation(self) -> float:
        """Each week confirmed in a transaction of its own that writes its message (`outbox_enqueue`);
        when that commits, the delivery task runs in this process (Celery's eager mode: no broker, no
        worker process) and `outbox_message_deliver` sends it."""
        with connection.cursor() as cursor:
            cursor.execute(f'TRUNCATE "{OutboxMessage._meta.db_table}"')
        backoffice = self.simulator.fresh()
        meter = Meter()
        enqueue_seconds = 0.0
        with (
            override_settings(BACKOFFICE_URL=backoffice.url, BACKOFFICE_TOKEN=backoffice.token),
            meter.measuring(),
        ):
            started = time.perf_counter()
            for body in self.bodies:
                with transaction.atomic():  # the confirmation's transaction
                    enqueue_started = time.perf_counter()
                    outbox_enqueue(
                        kind=OutboxMessage.Kind.ACTUALS_SUBMISSION,
                        body=body,
                        provider=self.providers[body["provider_ref"]],
                        summary=f"Week of {body['week_start']}: {len(body['lines'])} lines",
                    )
                    enqueue_seconds += time.perf_counter() - enqueue_started
            seconds = time.perf_counter() - started
        self._check_portal()
        self._check_back_office()
        self.notes.append(
            f"outbox run: {OUTBOX_LINES / seconds:,.0f} lines/s; {meter.describe(seconds, per=SUBMISSIONS, per_what='message')}"
            f" (outbox_enqueue's own share, before commit: {enqueue_seconds:.1f} s)"
        )
        return OUTBOX_LINES / seconds

    def floor(self) -> float:
        """The same bodies POSTed with requests, one after the other on one session, each with a new
        UUID as its Idempotency-Key and the client's headers and timeouts."""
        backoffice = self.simulator.fresh()
        meter = Meter()
        answers: list[Any] = []
        url = f"{backoffice.url}/api/v1/actuals-submissions"
        timeout = (settings.BACKOFFICE_CONNECT_TIMEOUT, settings.BACKOFFICE_READ_TIMEOUT)
        with requests.Session() as session, meter.measuring():
            session.headers["Authorization"] = f"Bearer {backoffice.token}"
            session.headers["Accept"] = "application/json"
            started = time.perf_counter()
            for body in self.bodies:
                response = session.post(
                    url,
                    data=json.dumps(body),
                    headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"},
                    timeout=timeout,
                )
                if response.status_code != 201:
                    raise AssertionError(
                        f"the back office answered {response.status_code}: {response.text[:500]}"
                    )
                answers.append(response.json())
            seconds = time.perf_counter() - started
        for answer in answers:
            self._check_answer(answer)
        self._check_back_office()
        self.notes.append(
            f"floor run: {OUTBOX_LINES / seconds:,.0f} lines/s; {meter.describe(seconds, per=SUBMISSIONS, per_what='message')}"
        )
        return OUTBOX_LINES / seconds

    @staticmethod
    def _check_answer(answer: Any) -> None:
        lines = answer["lines"]
        assert len(lines) == LINES_PER_SUBMISSION, answer
        refused = [line for line in lines if line["status"] != "accepted" or line.get("duplicate")]
        assert not refused, f"the back office did not accept every line as new: {refused[:3]}"

    def _check_portal(self) -> None:
        states = list(OutboxMessage.objects.values_list("state", "attempts", "response"))
        assert len(states) == SUBMISSIONS, f"{len(states)} messages, not {SUBMISSIONS}"
        for state, attempts, response in states:
            assert state == OutboxMessage.State.DELIVERED and attempts == 1, (state, attempts)
            self._check_answer(response)

    def _check_back_office(self) -> None:
        """Every line recorded once, received once (a first receipt, not a replay), accepted."""
        recorded, receipts, accepted, submissions = self.simulator.query(
            "SELECT count(*), sum(receipts), count(*) FILTER (WHERE status = 'accepted'), "
            "count(DISTINCT submission_id) FROM backoffice_receivedline"
        )
        expected = (OUTBOX_LINES, OUTBOX_LINES, OUTBOX_LINES, SUBMISSIONS)
        assert (recorded, receipts, accepted, submissions) == expected, (
            f"the back office holds {recorded} lines ({receipts} receipts, {accepted} accepted) in "
            f"{submissions} submissions, not {expected}"
        )


@benchmark(
    name="outbox: 100,000 confirmed lines to the back office",
    unit="lines/s",
    what="1,000 week confirmations of 100 lines each (one per provider and week), each written by "
    "`outbox_enqueue` in its own transaction and delivered when that commits by the `outbox_deliver` "
    "task run in this process (`outbox_message_deliver`: row lock, POST, state saved), one after the "
    "other, to the simulator process on a fresh copy of its database",
    floor="the same 1,000 bodies POSTed one after the other with requests on one session (a new UUID "
    "Idempotency-Key each), to the simulator on another fresh copy of the same database",
    goals=[Goal(0.7, better="higher", source=ISSUE_5)],
    timeout_seconds=OUTBOX_BUDGET_SECONDS + 240,
    uses_backoffice=True,
)
def outbox_throughput(repetitions: int) -> Samples:
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # a line per task otherwise
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    with Simulator(settings.DATABASES["default"]) as simulator:
        bodies = actuals_submissions(simulator.fresh())
        bench = OutboxBenchmark(simulator, bodies)
        samples = time_runs_against_floor(
            bench.operation,
            bench.floor,
            repetitions=min(repetitions, OUTBOX_REPETITIONS),
            budget_seconds=OUTBOX_BUDGET_SECONDS,
        )
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{OutboxMessage._meta.db_table}"')
    setting = (
        f"{SUBMISSIONS:,} submissions × {LINES_PER_SUBMISSION} lines, {len(bench.providers)} providers, "
        f"{bench.weeks} weeks back from {LATEST_WEEK}; every line accepted as a first receipt, once, in "
        "every run (a fresh copy of the back office's database before each)"
    )
    return Samples(samples.values, samples.floor, [setting, *samples.notes, *bench.notes])


# The pull ---------------------------------------------------------------------------------------------


class PullBenchmark:
    def __init__(self, backoffice: BackOffice) -> None:
        self.backoffice = backoffice
        self.notes: list[str] = []

    def client(self) -> BackOfficeClient:
        return BackOfficeClient(base_url=self.backoffice.url, token=self.backoffice.token)

    @staticmethod
    def clear() -> None:
        """No lines, and the stream read from the beginning: the portal before its first lines pull, so
        nothing that refers to a line either (the actual lines the benchmarks before this one made)."""
        with connection.cursor() as cursor:
            cursor.execute(f'TRUNCATE "{CarePackageLine._meta.db_table}" CASCADE')
        SyncStream.objects.filter(name=LINES_STREAM).update(cursor="")
        ParkedRow.objects.filter(stream__name=LINES_STREAM).delete()

    def operation(self) -> float:
        """`stream_pull(name="care-package-lines")`: pages of BACKOFFICE_PAGE_SIZE, each applied in a
        transaction with its cursor, each row in a savepoint."""
        self.clear()
        meter = Meter()
        with meter.measuring():
            started = time.perf_counter()
            run = stream_pull(name=LINES_STREAM, client=self.client())
            seconds = time.perf_counter() - started
        assert run.status == SyncRun.Status.OK, run.error
        assert (run.applied, run.parked, run.skipped) == (PULL_LINES, 0, 0), (
            f"applied {run.applied}, parked {run.parked}, skipped {run.skipped}"
        )
        assert CarePackageLine.objects.count() == PULL_LINES
        self.notes.append(
            f"pull run: {seconds:.1f} s, {run.pages} pages; {meter.describe(seconds, per=PULL_LINES, per_what='line')}"
        )
        return seconds

    def floor(self) -> float:
        """The same pages fetched with the same client, then one bulk_create of the lines built from their
        JSON (references resolved from three dictionaries read once)."""
        self.clear()
        meter = Meter()
        with meter.measuring():
            started = time.perf_counter()
            client = self.client()
            rows: list[dict[str, Any]] = []
            cursor = ""
            pages = 0
            while True:
                page = client.page(LINES_STREAM, since=cursor)
                rows += page.results
                cursor = page.next_cursor
                pages += 1
                if not page.has_more:
                    break
            latest = {row["ref"]: row for row in rows}  # a line's later change stands
            providers = dict(Provider.objects.values_list("ref", "pk"))
            people = dict(ServiceUser.objects.values_list("ref", "pk"))
            service_types = dict(ServiceType.objects.values_list("code", "pk"))
            CarePackageLine.objects.bulk_create(
                CarePackageLine(
                    ref=row["ref"],
                    provider_id=providers[row["provider_ref"]],
                    service_user_id=people[row["service_user_ref"]],
                    service_type_id=service_types[row["service_type"]],
                    planned_per_week=Decimal(row["planned_per_week"]),
                    rate=Decimal(row["rate"]),
                    start_date=dt.date.fromisoformat(row["start_date"]),
                    end_date=dt.date.fromisoformat(row["end_date"]) if row["end_date"] else None,
                    status=row["status"],
                    version=int(row["version"]),
                )
                for row in latest.values()
            )
            seconds = time.perf_counter() - started
        assert CarePackageLine.objects.count() == PULL_LINES
        self.notes.append(
            f"floor run: {seconds:.1f} s, {pages} pages; {meter.describe(seconds, per=PULL_LINES, per_what='line')}"
        )
        return seconds


@benchmark(
    name="pull: 20,000 care package lines",
    unit="s",
    what='`stream_pull(name="care-package-lines")` from the simulator\'s `large` council into the bench '
    "database, which has its service types, providers and service users but no lines and no cursor: "
    "40 pages of 500, each applied in a transaction, each row in a savepoint",
    floor="the same 40 pages fetched with the same client without applying them, then one bulk_create "
    "of the 20,000 CarePackageLine rows built from their JSON",
    goals=[Goal(2, source=ISSUE_5)],
    timeout_seconds=PULL_BUDGET_SECONDS + 240,
    uses_backoffice=True,
)
def pull_time(repetitions: int) -> Samples:
    with Simulator(settings.DATABASES["default"]) as simulator:
        bench = PullBenchmark(simulator.fresh())
        try:
            samples = time_runs_against_floor(
                bench.operation,
                bench.floor,
                repetitions=min(repetitions, PULL_REPETITIONS),
                budget_seconds=PULL_BUDGET_SECONDS,
            )
        finally:
            if CarePackageLine.objects.count() != PULL_LINES:  # leave the council as it was seeded
                bench.floor()
            with connection.cursor() as cursor:
                cursor.execute(f'VACUUM ANALYZE "{CarePackageLine._meta.db_table}"')
    return Samples(samples.values, samples.floor, samples.notes + bench.notes)
