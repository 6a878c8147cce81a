"""Real processes for the chaos suite (test_chaos.py): a Redis of the suite's own, Celery workers that can
be killed with SIGKILL and started again, the simulated back office stopped and started again on the
same port and database, and a clock every process follows. The processes any test can use (Redis,
workers, the clock) live in tests/workers.py; what only chaos needs is here.

Every process is started in a session of its own (its own process group), so stopping it stops its
children too, by PID, never by name.
"""

from __future__ import annotations

import signal
import subprocess
import threading

import requests

from tests.backoffice_process import ROOT, BackOffice

# The processes themselves are shared with other tests that need real workers (tests/workers.py).
from tests.workers import (
    BIN,
    Redis,
    SharedClock,
    Worker,
    kill_group,
    poll,
    tail,
    wait_until,
)

__all__ = [
    "BIN",
    "Redis",
    "SharedClock",
    "Supervisor",
    "Worker",
    "backoffice_halt",
    "backoffice_resume",
    "kill_group",
    "poll",
    "tail",
    "wait_until",
]


# Celery workers ------------------------------------------------------------------------------------


class Supervisor:
    """Starts again any worker that exits on its own, checking every fifth of a second, in a thread."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chaos-supervisor", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.2):
            for worker in self.workers:
                worker.supervise()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=30)


# The simulated back office, stopped and started again -----------------------------------------------


def backoffice_halt(backoffice: BackOffice) -> None:
    """Kill the back office's web process (gunicorn and its workers) at once, like a crash: requests in
    flight get a broken connection. Its database stays."""
    kill_group(backoffice.process, signal.SIGKILL)


def backoffice_resume(backoffice: BackOffice, *, seconds: float = 60) -> None:
    """Start the back office's web process again on the same port and database (what
    tests/backoffice_process.start runs), and wait until it answers its controls (which faults never
    touch: the API itself may be told to fail)."""
    port = backoffice.url.rsplit(":", 1)[1]
    with backoffice.log.open("a") as out:
        backoffice.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "contrOCC_sync.simulator.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120"],
            cwd=ROOT, env=backoffice.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def answers() -> bool:
        if backoffice.process.poll() is not None:
            raise AssertionError(f"the back office did not start again:\n{tail(backoffice.log)}")
        try:
            return requests.get(
                f"{backoffice.url}/sim/faults",
                headers={"Authorization": f"Bearer {backoffice.token}"},
                timeout=2,
            ).ok
        except requests.RequestException:
            return False

    wait_until(answers, seconds=seconds, what="the back office to start again", every=0.2)
