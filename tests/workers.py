"""Real background processes for tests that need them (the chaos suite, the browser journeys): a Redis of
the test's own on a free port, Celery worker nodes on the test database pytest-django created, the test
process's Celery app pointed at that Redis, and the clock offset file every process follows.

Every process is started in a session of its own (its own process group), so stopping it stops its
children too, by PID, never by name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from django.db import connection
from django.utils import timezone

from portal.celery import app as celery_app
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
    """A Redis of the test's own, on a free port, keeping nothing on disk: a restart loses every
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


# The test process publishes to that Redis ----------------------------------------------------------------


def point_celery_at(url: str) -> None:
    """The test process's Celery app publishes to `url` from now on (outbox_enqueue's on_commit `.delay()`
    included); the pooled connections to the old broker are closed and forgotten. Celery reads
    CELERY_BROKER_URL from the environment before its own configuration: the caller sets that too
    (`publishing_to` does both)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@contextlib.contextmanager
def publishing_to(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """While inside, the test process's `.delay()` calls go to `redis` (never the machine's Redis);
    afterwards the environment and the Celery app are as they were."""
    from portal.mail.tasks import email_send

    previous = celery_app.conf.broker_url
    try:
        with monkeypatch.context() as env:
            env.setenv("CELERY_BROKER_URL", redis.url(0))
            env.delenv("CELERY_BROKER_WRITE_URL", raising=False)
            # tests/conftest.py keeps emails' send tasks in this process for `mailbox`; here workers send.
            env.setattr(email_send, "delay", lambda *args, **kwargs: email_send.apply_async(args, kwargs))
            point_celery_at(redis.url(0))
            with celery_app.connection_for_write() as broker:
                assert f":{redis.port}/" in broker.as_uri(), broker.as_uri()
            yield
    finally:
        point_celery_at(previous)  # after the variable is restored


# Celery workers ------------------------------------------------------------------------------------


def database_url(*, application_name: str) -> str:
    """The test database pytest-django created, for a worker (named, so pg_stat_activity tells them apart)."""
    db = connection.settings_dict
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    auth = urllib.parse.quote(db["USER"] or "", safe="") + (f":{password}" if password else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}?" + (
        urllib.parse.urlencode({"application_name": application_name})
    )


def worker_env(
    *,
    redis: Redis,
    backoffice: BackOffice,
    clock_file: Path,
    folder: Path,
    email_folder: Path | None = None,
    read_timeout: float | None = None,
) -> dict[str, str]:
    """The environment of a worker (less its DATABASE_URL, which names the worker): the test's Redis as
    broker and cache, the back office the test started, the shared clock, and email files written where
    the test reads them (`email_folder`, by default `folder / "mail"`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BACKOFFICE_", "CELERY_", "DATABASE_URL", "CACHE_URL", "PYTEST_", "EMAIL_"))
    }
    env |= {
        "PORTAL_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "BACKOFFICE_URL": backoffice.url,
        "BACKOFFICE_TOKEN": backoffice.token,
        "PORTAL_CLOCK_OFFSET_FILE": str(clock_file),
        "PORTAL_VAR_DIR": str(folder / "var"),
        "EMAIL_FILE_PATH": str(email_folder or folder / "mail"),
        "PYTHONUNBUFFERED": "1",
    }
    if read_timeout is not None:
        env["BACKOFFICE_READ_TIMEOUT"] = str(read_timeout)
    return env


@dataclass
class Worker:
    """One Celery worker node (prefork, two children), started again after each kill; every incarnation
    writes its own log. Its database connections carry `application_name` = its name, so a test can
    see when it is in the middle of a delivery.

    A node that exits on its own (a crash, not one of the test's kills) is started again by
    `supervise()`, as the deployment's restart policy does (docker-compose: `restart: unless-stopped`),
    and the crash is recorded."""

    name: str
    env: dict[str, str]
    folder: Path
    concurrency: int = 2
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    stopped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    MAX_CRASHES: ClassVar[int] = 20

    @classmethod
    def on_test_database(cls, name: str, env: dict[str, str], folder: Path, **kwargs: int) -> Worker:
        """A worker (not started) on the test database, its connections named `name`."""
        return cls(name, env | {"DATABASE_URL": database_url(application_name=name)}, folder, **kwargs)

    @property
    def log(self) -> Path:
        return self.logs[-1]

    def _start(self) -> None:
        log = self.folder / f"{self.name}.{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "portal", "worker", "--concurrency", str(self.concurrency),
                 "--pool", "prefork", "-Q", "celery", "--hostname", f"{self.name}@%h", "--loglevel", "INFO",
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

    def set_to(self, moment: dt.datetime) -> None:
        """Every process's clock reads `moment` now, and runs on from there."""
        self.advance((moment - timezone.now()).total_seconds() - self.offset)
