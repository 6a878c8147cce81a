"""The backoffice-scheduler: the weekly payment run, once a week, on the configured day, following the
clock (an in-process tick; and the real process following PORTAL_CLOCK_OFFSET_FILE, stopped by SIGTERM)."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contrOCC_sync.simulator.backoffice.models import PaymentRun, RemittanceLine
from contrOCC_sync.simulator.backoffice.services.payments import scheduler_tick

from .conftest import REPO, Api, Council, actual, london, process_env, submission


def test_the_weekly_run_happens_once_on_its_day_after_its_time(db, at, settings):
    ticks = {
        london(2026, 9, 9, 23): False,  # Wednesday
        london(2026, 9, 10, 5, 59): False,  # Thursday, before 06:00
        london(2026, 9, 10, 6, 0): True,
        london(2026, 9, 10, 6, 1): False,  # once
        london(2026, 9, 11, 12): False,
        london(2026, 9, 17, 6, 30): True,  # the next Thursday
    }
    for moment, runs in ticks.items():
        at(moment)
        assert (scheduler_tick() is not None) is runs, moment
    assert list(PaymentRun.objects.order_by("pk").values_list("week_of", "kind")) == [
        (dt.date(2026, 9, 7), "scheduled"),
        (dt.date(2026, 9, 14), "scheduled"),
    ]
    at(london(2026, 9, 25, 9))  # a scheduler that was down on Thursday catches up later that week
    assert scheduler_tick() is not None
    settings.BACKOFFICE_PAYMENT_WEEKDAY = 0  # Monday
    at(london(2026, 9, 28, 6))
    assert scheduler_tick() is not None and PaymentRun.objects.count() == 4


def write_offset(path: Path, moment: dt.datetime) -> None:
    path.write_text(str((moment - dt.datetime.now(dt.UTC)).total_seconds()))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_scheduler_process_follows_the_clock_file_and_stops_cleanly(
    tmp_path: Path, api: Api, council: Council
):
    offset = tmp_path / "clock-offset"
    write_offset(offset, london(2026, 9, 7, 10))  # Monday: a line arrives before the deadline
    api.post("/api/v1/actuals-submissions", submission(actual(1)))  # (this process's clock is real time)
    process = subprocess.Popen(
        [sys.executable, "-m", "contrOCC_sync.simulator.manage", "run_scheduler", "--interval", "0.1"],
        cwd=REPO, env=process_env(PORTAL_CLOCK_OFFSET_FILE=str(offset)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        assert not PaymentRun.objects.exists()  # Monday: nothing due
        write_offset(offset, london(2026, 9, 10, 6, 30))  # Thursday after 06:00
        deadline = time.monotonic() + 15
        while not PaymentRun.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        assert list(PaymentRun.objects.values_list("week_of", flat=True)) == [dt.date(2026, 9, 7)]
        assert RemittanceLine.objects.count() == 0  # received "now", after that week's deadline: waits
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert "stopped after 1 payment run(s)" in output
