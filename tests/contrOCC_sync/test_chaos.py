"""The back-office link under chaos (issue 5, "Reliability: what must survive"), with real parts only: a
Redis of the suite's own as the broker, two real Celery worker nodes (prefork), the real simulated back
office, and the portal's own outbox.

While weeks of lines are confirmed (and some corrected, so several versions of a line travel, sometimes
the correction first), the back office answers 20% of API requests with 500, leaves 10% hanging past the
client's timeout and commits 5% but breaks the connection before answering; a worker is killed with
SIGKILL in the middle of a delivery, again and again (and started again each time); the back office is
killed, left down for a while and started again on the same port and database; the broker is killed and
started again empty on the same port (it keeps nothing on disk: every message it held is lost).

Then the faults stop and the sweeper settles what is left. The back office's ledger must hold every
confirmed line version exactly once and nothing else, the portal must show every message delivered (none
refused), and no confirmation may have failed because the back office or the broker was down.

`make test` runs the short version (200 weeks' lines, one round of each fault); `make chaos` runs the long
one (CHAOS_SCALE=long: 2,000 weeks' lines, three rounds). CHAOS_SEED changes the plan's random draws.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import BACKOFF_CAP_SECONDS, outbox_enqueue
from contrOCC_sync.tasks import outbox_sweep
from portal import clock
from tests import backoffice_process
from tests.backoffice_process import BackOffice
from tests.contrOCC_sync.chaos import (
    Redis,
    SharedClock,
    Supervisor,
    Worker,
    backoffice_halt,
    backoffice_resume,
    poll,
    tail,
)
from tests.workers import publishing_to, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TODAY = dt.date(2026, 11, 2)  # the seeded council's "today"; the weeks confirmed are the ones before it
READ_TIMEOUT = 2  # the workers' BACKOFFICE_READ_TIMEOUT: a hang of 3 s is a timeout for the client
FAULTS = {"error_rate": 0.20, "timeout_rate": 0.10, "drop_after_commit_rate": 0.05, "hang_seconds": 3}


@dataclass(frozen=True)
class Scale:
    line_weeks: int  # weeks' lines confirmed (each one a message; corrections add more)
    weeks: int  # over how many weeks
    rounds: int  # each round: four worker kills, one back-office outage, one broker restart
    outage_seconds: float  # how long the back office stays down each time
    pace_seconds: float  # at most this long between two faults, for deliveries to go on
    drain_seconds: float  # at most this long for deliveries to run out under faults
    settle_seconds: float  # at most this long for the sweeper to settle the rest


SCALES = {
    "short": Scale(
        line_weeks=200,
        weeks=4,
        rounds=1,
        outage_seconds=4,
        pace_seconds=5,
        drain_seconds=30,
        settle_seconds=90,
    ),
    "long": Scale(
        line_weeks=2000,
        weeks=8,
        rounds=3,
        outage_seconds=6,
        pace_seconds=10,
        drain_seconds=120,
        settle_seconds=240,
    ),
}
SCALE_NAME = os.environ.get("CHAOS_SCALE", "short")
SCALE = SCALES[SCALE_NAME]
SEED = int(os.environ.get("CHAOS_SEED", "2026"))


# The rig: every process the run needs, stopped by process group whatever happens -----------------------


@dataclass
class Rig:
    backoffice: BackOffice
    redis: Redis
    workers: list[Worker]
    clock: SharedClock
    folder: Path

    def logs(self) -> str:
        parts = [f"--- redis ({self.redis.log}) ---\n{tail(self.redis.log)}"]
        for worker in self.workers:
            for log in worker.logs:
                parts.append(f"--- {worker.name}, {log.name} ---\n{tail(log, 4000)}")
        parts.append(f"--- back office ({self.backoffice.log}) ---\n{tail(self.backoffice.log, 3000)}")
        parts.append("--- database sessions (portal and back office) ---\n" + self.sessions())
        return "\n".join(parts)

    def sessions(self) -> str:
        """Every session of the two databases that is in a transaction or waiting, for a run that hangs."""
        try:
            with psycopg.connect(backoffice_process.ADMIN_DSN, autocommit=True) as admin:
                rows = admin.execute(
                    """SELECT datname, pid, application_name, state, wait_event_type, wait_event,
                              now() - xact_start, left(query, 160)
                       FROM pg_stat_activity WHERE datname IN (%s, %s) AND state <> 'idle'
                       ORDER BY xact_start""",
                    [connection.settings_dict["NAME"], self.backoffice.database],
                ).fetchall()
        except psycopg.Error as error:
            return f"(could not read pg_stat_activity: {error})"
        return "\n".join(" | ".join(str(v) for v in row) for row in rows) or "(none)"


@pytest.fixture
def rig(transactional_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    # Requesting transactional_db first means this is torn down (every worker dead) before pytest-django
    # empties the database, so no worker holds a lock the flush would wait for.
    shared_clock = SharedClock(tmp_path / "clock-offset")
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_FILE", str(shared_clock.path))
    with ExitStack() as stack:
        redis = Redis.on_free_port(tmp_path / "redis")
        stack.callback(redis.stop)

        (tmp_path / "backoffice").mkdir()
        backoffice = backoffice_process.start(tmp_path / "backoffice", clock_offset_file=shared_clock.path)
        stack.callback(backoffice_process.stop, backoffice)  # kills its group, drops its database
        backoffice.manage("seed_backoffice", "--scale", "demo", "--seed", "11", "--today", str(TODAY))

        stack.enter_context(publishing_to(redis, monkeypatch))
        env = worker_env(
            redis=redis,
            backoffice=backoffice,
            clock_file=shared_clock.path,
            folder=tmp_path,
            read_timeout=READ_TIMEOUT,
        )
        workers = []
        for number in (1, 2):
            worker = Worker.on_test_database(f"chaos-w{number}", env, tmp_path)
            stack.callback(worker.stop)
            worker.start()
            workers.append(worker)
        stack.callback(Supervisor(workers).stop)  # stopped before the workers are
        rig = Rig(backoffice, redis, workers, shared_clock, tmp_path)
        try:
            for worker in workers:
                worker.wait_ready()
        except AssertionError:
            print(rig.logs())
            raise
        yield rig


# The plan: weeks' lines of real back-office lines, some corrected ----------------------------------------


@dataclass(frozen=True)
class Send:
    portal_line_id: int
    version: int
    body: dict[str, Any]
    order: float


def _hourly_lines(backoffice: BackOffice, weeks: list[dt.date]) -> list[dict[str, Any]]:
    """Active lines paid on actuals by the hour that run through every week of the plan."""
    paid_on = {t["code"]: t for t in backoffice.api("service-types", limit=1000)["results"]}
    lines: dict[str, dict[str, Any]] = {}
    since = ""
    while True:
        page = backoffice.api("care-package-lines", limit=1000, **({"since": since} if since else {}))
        for line in page["results"]:
            lines[line["ref"]] = line  # the latest change of each line wins
        since = page["next_cursor"]
        if not page["has_more"]:
            break
    first, last = min(weeks), max(weeks) + dt.timedelta(days=6)
    return [
        line
        for line in lines.values()
        if paid_on[line["service_type"]]["paid_on"] == "actuals"
        and paid_on[line["service_type"]]["unit"] == "hours"
        and line["status"] == "active"
        and line["start_date"] <= str(first)
        and (line["end_date"] is None or line["end_date"] >= str(last))
    ]


def _body(line: dict[str, Any], *, week: dt.date, portal_line_id: int, version: int) -> dict[str, Any]:
    """An actuals submission of one line that the back office accepts: its amount is the back office's
    own computation (delivered × the line's rate, half up); each correction delivers a quarter-hour less."""
    delivered = max(Decimal(line["planned_per_week"]) - Decimal("0.25") * (version - 1), Decimal("0.25"))
    amount = (delivered * Decimal(line["rate"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "provider_ref": line["provider_ref"],
        "week_start": str(week),
        "confirmed_at": clock.now().isoformat(),
        "confirmed_by": "chaos@example.org",
        "lines": [
            {
                "portal_line_id": portal_line_id, "version": version, "care_package_line_ref": line["ref"],
                "planned": line["planned_per_week"], "delivered": f"{delivered:.2f}", "frustrated": "0.00",
                "missed": "0.00", "extra": "0.00", "adjustment_form_ref": "", "comment": f"chaos v{version}",
                "amount": str(amount),
            }
        ],
    }  # fmt: skip


def plan(backoffice: BackOffice, rng: random.Random) -> list[Send]:
    weeks = [TODAY - dt.timedelta(days=7 * n) for n in range(SCALE.weeks, 0, -1)]
    lines = _hourly_lines(backoffice, weeks)
    per_week = -(-SCALE.line_weeks // len(weeks))
    assert len(lines) >= per_week, f"the seeded council has {len(lines)} suitable lines, {per_week} needed"
    chosen = rng.sample(lines, per_week)
    line_weeks = [(line, week) for week in weeks for line in chosen][: SCALE.line_weeks]
    sends: list[Send] = []
    for index, (line, week) in enumerate(line_weeks):
        portal_line_id = 500_000 + index
        draw = rng.random()
        versions = 3 if draw < 0.05 else 2 if draw < 0.20 else 1  # ~20% corrected, ~5% twice
        correction_first = versions > 1 and rng.random() < 0.35
        start, gap = rng.random(), rng.uniform(0.02, 0.3)  # corrections come a while after, in send order
        for version in range(1, versions + 1):
            step = (versions - version) if correction_first else (version - 1)
            sends.append(
                Send(
                    portal_line_id,
                    version,
                    _body(line, week=week, portal_line_id=portal_line_id, version=version),
                    start + step * gap,
                )
            )
    return sorted(sends, key=lambda s: s.order)


# The run -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    rig: Rig
    enqueued: dict[tuple[int, int], int] = field(default_factory=dict)  # (line, version) → message pk
    failures: list[str] = field(default_factory=list)
    while_backoffice_down: int = 0
    while_broker_down: int = 0
    kills: int = 0
    kills_mid_delivery: int = 0
    outages: int = 0
    broker_restarts: int = 0
    sweeps: int = 0
    pending_after_drain: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def enqueue(self, sends: list[Send]) -> int:
        """Confirm each line as the portal does: the outbox message written in the confirming transaction,
        delivery queued once it commits. An exception here is a confirmation refused to the user."""
        done = 0
        for send in sends:
            try:
                with transaction.atomic():
                    message = outbox_enqueue(
                        kind=OutboxMessage.Kind.ACTUALS_SUBMISSION,
                        body=send.body,
                        summary=f"Line {send.portal_line_id} version {send.version}",
                    )
            except Exception as error:  # recorded, asserted on at the end
                self.failures.append(
                    f"{send.portal_line_id} v{send.version}: {type(error).__name__}: {error}"
                )
                continue
            self.enqueued[(send.portal_line_id, send.version)] = message.pk
            done += 1
        return done

    def in_delivery(self, worker: Worker) -> bool:
        """The worker holds an outbox row locked while its request to the back office is in flight."""
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
                   WHERE a.datname = current_database() AND a.application_name = %s
                     AND a.state = 'idle in transaction' AND l.relation = %s::regclass""",
                [worker.name, OutboxMessage._meta.db_table],
            )
            return cursor.fetchone()[0] > 0

    def kill_worker(self, worker: Worker) -> None:
        worker.wait_ready()
        # Killed anyway if nothing is in flight for it by then, but counted apart.
        self.kills_mid_delivery += poll(lambda: self.in_delivery(worker), seconds=15, every=0.02)
        worker.kill_and_restart()
        self.kills += 1

    def backoffice_outage(self, sends: list[Send]) -> None:
        backoffice_halt(self.rig.backoffice)
        down_since = time.monotonic()
        self.while_backoffice_down += self.enqueue(sends)
        time.sleep(max(0.0, SCALE.outage_seconds - (time.monotonic() - down_since)))  # down for a while
        backoffice_resume(self.rig.backoffice)
        self.outages += 1

    def broker_restart(self, sends: list[Send]) -> None:
        self.rig.redis.stop(signal.SIGKILL)
        self.while_broker_down += self.enqueue(sends)
        self.rig.redis.start()  # same port, empty
        self.broker_restarts += 1

    def delivered(self) -> int:
        return OutboxMessage.objects.filter(state=OutboxMessage.State.DELIVERED).count()

    def let_deliveries_run(self, count: int) -> None:
        """Spread the faults over the deliveries rather than over the first seconds: wait (a little) for
        `count` more to be delivered before the next one."""
        target = self.delivered() + count
        poll(lambda: self.delivered() >= target, seconds=SCALE.pace_seconds, every=0.2)

    def pending(self) -> int:
        return OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).count()

    def wait_while_progressing(self, *, seconds: float, quiet: float) -> int:
        """Poll the pending count until it is 0, has not fallen for `quiet` seconds, or `seconds` pass."""
        deadline = time.monotonic() + seconds
        best, best_at = self.pending(), time.monotonic()
        while best and time.monotonic() < deadline and time.monotonic() - best_at < quiet:
            time.sleep(0.25)
            now = self.pending()
            if now < best:
                best, best_at = now, time.monotonic()
        return best

    def settle(self) -> None:
        """Let the sweeper re-drive whatever is still pending: messages whose task was lost with a killed
        worker or an emptied broker, and those whose task gave up after its last retry.

        The sweeper (a beat task every minute in production) takes only messages whose next attempt is
        due, and a message's backoff grows to an hour. Rather than waiting that hour, or marking messages
        due by hand (that is the staff page's "retry now", not the sweeper settling by itself), each round
        moves the clock every process reads (the offset file: the test, the workers and the back office)
        an hour and a minute on, which is what waiting would do, and runs the real sweep task in a real
        worker, with that worker's clock."""
        deadline = time.monotonic() + SCALE.settle_seconds
        while self.pending():
            assert time.monotonic() < deadline, f"{self.pending()} messages still pending after settling"
            self.rig.clock.advance(BACKOFF_CAP_SECONDS + 60)
            outbox_sweep.delay()
            self.sweeps += 1
            self.wait_while_progressing(seconds=deadline - time.monotonic(), quiet=5)


def _summary(run: Run, messages: list[OutboxMessage]) -> str:
    attempts = Counter(m.attempts for m in messages)
    return (
        f"chaos {SCALE_NAME} (seed {SEED}): {len(messages)} messages, attempts {sorted(attempts.items())}; "
        f"{run.kills} worker kills ({run.kills_mid_delivery} mid-delivery), "
        f"{sum(len(w.crashes) for w in run.rig.workers)} worker crashes restarted, {run.outages} back-office "
        f"outages ({run.while_backoffice_down} confirmed meanwhile), {run.broker_restarts} broker restarts "
        f"({run.while_broker_down} confirmed meanwhile); {run.pending_after_drain} left to the sweeper, "
        f"{run.sweeps} sweeps; " + ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items())
    )


def test_every_line_version_reaches_the_back_office_exactly_once(rig: Rig) -> None:
    run = Run(rig)
    try:
        _chaos(run)
    except BaseException:
        traceback.print_exc()
        print(rig.logs())
        raise


def _chaos(run: Run) -> None:
    rig, started = run.rig, time.monotonic()
    sends = plan(rig.backoffice, random.Random(SEED))
    expected = {(s.portal_line_id, s.version) for s in sends}
    highest: dict[int, int] = {}
    for line_id, version in expected:
        highest[line_id] = max(version, highest.get(line_id, 0))
    before = {
        (str(e["portal_line_id"]), e["version"]) for e in rig.backoffice.sim("GET", "ledger")["actual_lines"]
    }

    rig.backoffice.faults(**FAULTS)
    w1, w2 = rig.workers
    actions = ["kill w1", "outage", "kill w2", "broker", "kill w1", "kill w2"] * SCALE.rounds
    chunks = [sends[i :: len(actions) + 1] for i in range(len(actions) + 1)]
    run.enqueue(chunks[0])
    for action, chunk in zip(actions, chunks[1:], strict=True):
        if action.startswith("kill"):
            run.kill_worker(w1 if action == "kill w1" else w2)
            run.enqueue(chunk)
        elif action == "outage":
            run.backoffice_outage(chunk[: len(chunk) // 2])
            run.enqueue(chunk[len(chunk) // 2 :])
        else:  # a few confirmations while the broker is down: each one's `.delay()` fails
            run.broker_restart(chunk[:3])
            run.enqueue(chunk[3:])
        run.let_deliveries_run(len(chunk) // 2)
    run.timings["chaos"] = time.monotonic() - started

    for worker in rig.workers:
        worker.wait_ready()
    run.pending_after_drain = run.wait_while_progressing(seconds=SCALE.drain_seconds, quiet=8)
    run.timings["drain"] = time.monotonic() - started - run.timings["chaos"]

    rig.backoffice.faults()  # the faults stop
    run.settle()
    run.timings["total"] = time.monotonic() - started
    messages = list(OutboxMessage.objects.all())
    print(_summary(run, messages))

    # No confirmation failed, though the back office and the broker were each down while some were made.
    assert run.failures == []
    assert run.while_backoffice_down > 0 and run.while_broker_down > 0
    assert set(run.enqueued) == expected

    # The portal shows every message delivered, none refused.
    assert len(messages) == len(expected)
    states = Counter(m.state for m in messages)
    assert states == {OutboxMessage.State.DELIVERED: len(expected)}, states

    # The back office's ledger holds every confirmed line version exactly once, and nothing else.
    ledger = rig.backoffice.sim("GET", "ledger")["actual_lines"]
    new = [e for e in ledger if (str(e["portal_line_id"]), e["version"]) not in before]
    seen = Counter((int(e["portal_line_id"]), e["version"]) for e in new)
    assert set(seen) == expected, {
        "missing": sorted(expected - set(seen))[:20],
        "unexpected": sorted(set(seen) - expected)[:20],
    }
    assert [k for k, n in seen.items() if n != 1] == []
    twice = [
        (e["portal_line_id"], e["version"], e["recorded"], e["receipts"]) for e in new if e["recorded"] != 1
    ]
    assert twice == [], "recorded more than once"
    # One key per line version, so every retry after the first arrival was answered from the stored key:
    # no line version reached the back office's handler twice.
    assert [(e["portal_line_id"], e["version"], e["receipts"]) for e in new if e["receipts"] != 1] == []
    # Whatever order they travelled in, the highest version of each line is the one accepted.
    wrong = [
        (e["portal_line_id"], e["version"], e["status"], e["reason_code"])
        for e in new
        if e["status"] != ("accepted" if e["version"] == highest[int(e["portal_line_id"])] else "superseded")
    ]
    assert wrong == []

    # The chaos did happen: retries were needed and workers died holding a delivery.
    assert sum(m.attempts for m in messages) > len(messages)
    assert run.kills == 4 * SCALE.rounds and run.kills_mid_delivery >= run.kills // 2
