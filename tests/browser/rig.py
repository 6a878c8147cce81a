"""The rig the browser journeys run on: the simulated back office as a process on a database of its own
(seeded with the demo council, pulled into the portal), a Redis of the test's own as the broker, a real
Celery worker on the test database, and one clock file every process follows, set to MONDAY_AFTER.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from contrOCC_sync.inbound import pull_all
from contrOCC_sync.models import SyncRun
from portal.clock import LONDON
from tests import backoffice_process
from tests.backoffice_process import BackOffice
from tests.workers import Redis, SharedClock, Worker, publishing_to, tail, worker_env

WEEK = dt.date(2026, 11, 30)  # Monday 30 November 2026 to Sunday 6 December
# Everyone's clock: the Monday after the week, mid-morning (GMT). The week is due by 5pm tomorrow.
MONDAY_AFTER = dt.datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)


# The rig ------------------------------


@dataclass
class Rig:
    backoffice: BackOffice
    redis: Redis
    worker: Worker
    clock: SharedClock
    mail: Path

    def logs(self) -> str:
        return "\n".join(
            [
                f"--- worker ({self.worker.log}) ---\n{tail(self.worker.log, 5000)}",
                f"--- back office ({self.backoffice.log}) ---\n{tail(self.backoffice.log, 3000)}",
                f"--- redis ({self.redis.log}) ---\n{tail(self.redis.log, 1000)}",
            ]
        )


@pytest.fixture
def rig(transactional_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings) -> Iterator[Rig]:
    # Requesting transactional_db first means this is torn down (the worker dead) before pytest-django
    # empties the database.
    clock = SharedClock(tmp_path / "clock-offset")
    clock.set_to(MONDAY_AFTER)
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_FILE", str(clock.path))  # the live server runs in this process
    mail = Path(settings.EMAIL_FILE_PATH)  # tests/conftest.py's file backend: the worker writes there too
    with ExitStack() as stack:
        redis = Redis.on_free_port(tmp_path / "redis")
        stack.callback(redis.stop)
        (tmp_path / "backoffice").mkdir()
        backoffice = backoffice_process.start(tmp_path / "backoffice", clock_offset_file=clock.path)
        stack.callback(backoffice_process.stop, backoffice)  # kills its group, drops its database
        backoffice.manage(
            "seed_backoffice", "--scale", "demo", "--seed", "11", "--today", str(MONDAY_AFTER.date())
        )
        settings.BACKOFFICE_URL, settings.BACKOFFICE_TOKEN = backoffice.url, backoffice.token
        runs = pull_all()
        assert [(r.stream.name, r.error) for r in runs if r.status != SyncRun.Status.OK] == []

        # The live server's on-commit `.delay()` goes to this Redis, where the worker takes it. The worker
        # starts after the first pull: its own pull at start then finds nothing new.
        stack.enter_context(publishing_to(redis, monkeypatch))
        env = worker_env(
            redis=redis, backoffice=backoffice, clock_file=clock.path, folder=tmp_path, email_folder=mail
        )
        worker = Worker.on_test_database("journey-w1", env, tmp_path)
        stack.callback(worker.stop)
        worker.start()
        yield Rig(backoffice, redis, worker, clock, mail)
