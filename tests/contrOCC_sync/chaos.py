"""Real processes for the chaos suite (test_chaos.py): a Redis of the suite's own, Celery workers that can
be killed with SIGKILL and started again, the simulated back office stopped and started again on the
same port and database, and a clock every process follows.

Every process is started in a session of its own (its own process group), so stopping it stops its
children too, by PID, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import requests

from tests.backoffice_process import ROOT, BackOffice, free_port

BIN = Path(sys.executable).parent


def poll(condition: Callable[[], object], *, seconds: float, every: float = 0.1) -> bool:
    """Poll `condition` until it is truthy (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def wait_until(condition: Callable[[], object], *, seconds: float, what: str, every: float = 0.1) -> None:
    """Poll `condition` until it is truthy; fail after `seconds`."""
    if not poll(condition, seconds=seconds, every=every):
        raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def kill_group(
    process: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL, *, wait: float = 15
) -> None:
    """Signal a process's whole group (it was started in a session of its own) and reap it."""
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    # Children that outlived their parent (a prefork pool whose parent was killed) are in the group too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def tail(path: Path, chars: int = 6000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


# Redis ---------------------------------------------------------------------------------------------


@dataclass
class Redis:
    """A Redis of the suite's own, on a free port, keeping nothing on disk: a restart loses every
    message it held, as a broker that crashes without persistence would."""

    port: int
    log: Path
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(self.ping, seconds=20, what=f"redis on port {self.port}\n{tail(self.log)}")

    def ping(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis exited with {self.process.returncode}:\n{tail(self.log)}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGKILL) -> None:
        kill_group(self.process, sig)

    @classmethod
    def on_free_port(cls, folder: Path) -> Redis:
        folder.mkdir(parents=True, exist_ok=True)
        redis = cls(port=free_port(), log=folder / "redis.log", workdir=folder)
        redis.start()
        return redis


# Celery workers ------------------------------------------------------------------------------------


@dataclass
class Worker:
    """One Celery worker node (prefork, two children), started again after each kill; every incarnation
    writes its own log. Its database connections carry `application_name` = its name, so the test can
    see when it is in the middle of a delivery.

    A node that exits on its own (a crash, not one of the test's kills) is started again by
    `supervise()`, as the deployment's restart policy does (docker-compose: `restart: unless-stopped`),
    and the crash is recorded."""

    name: str
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    stopped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    MAX_CRASHES: ClassVar[int] = 20

    @property
    def log(self) -> Path:
        return self.logs[-1]

    def _start(self) -> None:
        log = self.folder / f"{self.name}.{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "portal", "worker", "--concurrency", "2", "--pool", "prefork",
                 "-Q", "celery", "--hostname", f"{self.name}@%h", "--loglevel", "INFO",
                 # Cluster chatter the link does not use; mingle alone adds seconds to every start.
                 "--without-mingle", "--without-gossip"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def start(self) -> None:
        with self.lock:
            self._start()

    def kill_and_restart(self) -> None:
        """SIGKILL the node and its pool children at once (no warm or cold shutdown, no acks sent), then
        start it again."""
        with self.lock:
            kill_group(self.process, signal.SIGKILL)
            self._start()

    def supervise(self) -> None:
        with self.lock:
            if self.stopped or self.process is None or self.process.poll() is None:
                return
            self.crashes.append(f"{self.log.name} exited with {self.process.returncode}")
            kill_group(self.process)  # whatever of its group is left
            if len(self.crashes) <= self.MAX_CRASHES:
                self._start()

    def ready(self) -> bool:
        if len(self.crashes) > self.MAX_CRASHES:
            raise AssertionError(f"worker {self.name} keeps exiting:\n{tail(self.log)}")
        running = self.process is not None and self.process.poll() is None
        return running and " ready." in self.log.read_text(errors="replace")

    def wait_ready(self, seconds: float = 60) -> None:
        wait_until(
            self.ready, seconds=seconds, what=f"worker {self.name} to be ready\n{tail(self.log)}", every=0.2
        )

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            kill_group(self.process, signal.SIGKILL)


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


# The clock every process follows ---------------------------------------------------------------------


@dataclass
class SharedClock:
    """The offset file of portal.clock (DESIGN.md, "Time and email, in every process"): the test, the
    workers and the back office read it at every call, so moving it moves them all at once."""

    path: Path
    offset: float = 0.0

    def __post_init__(self) -> None:
        self.path.write_text("0")

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(self.offset))
        tmp.replace(self.path)  # readers never see a half-written number
