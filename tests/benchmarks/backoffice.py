"""The simulated back office for the sync benchmarks: the real process (gunicorn, the command
tests/backoffice_process.py starts for the link's tests) on a PostgreSQL database of the run's own.

`make bench` seeds the `large` council once into a template database (`<bench database>_backoffice_template`,
by `prepare_template`, from run.py); a benchmark then takes a **fresh copy** of it
(`<bench database>_backoffice`, `CREATE DATABASE … TEMPLATE …`, under a second) before every timed run
that writes to the back office, so each run starts from the same state and every line it sends is a
first receipt. Both names contain "bench" (the runner refuses any other), so a run never touches the
suite's or the demo's back office.

Nothing here imports Django: run.py uses it before Django is set up.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

from tests import backoffice_process
from tests.backoffice_process import BackOffice, free_port
from tests.benchmarks.harness import ROOT, SCALE, SEED, TODAY

TOKEN = backoffice_process.TOKEN
# Where a benchmark's process records the simulator it started, so the runner can stop it if that
# process is killed (timed out) before it could (run.py sets it for every benchmark's process).
PID_FILE_VARIABLE = "BENCH_BACKOFFICE_PID_FILE"
# The web process exactly as tests/backoffice_process.py starts it (checked below, so the two cannot drift).
GUNICORN_OPTIONS = ["--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120"]
START_TIMEOUT_SECONDS = 60


def _same_command_as_the_tests() -> None:
    source = inspect.getsource(backoffice_process.start)
    quoted = ", ".join(f'"{option}"' for option in GUNICORN_OPTIONS)
    if quoted not in source or '"contrOCC_sync.simulator.wsgi"' not in source:
        raise AssertionError(
            "tests/backoffice_process.py starts the simulator with other gunicorn options than "
            f"tests/benchmarks/backoffice.py ({' '.join(GUNICORN_OPTIONS)}): make them agree."
        )


def connect(config: dict[str, Any], dbname: str) -> psycopg.Connection[Any]:
    """An autocommit connection to `dbname` on the bench database's server."""
    return psycopg.connect(
        dbname=dbname,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        autocommit=True,
        connect_timeout=10,
    )


def template_name(config: dict[str, Any]) -> str:
    return f"{config['NAME']}_backoffice_template"


def database_name(config: dict[str, Any]) -> str:
    return f"{config['NAME']}_backoffice"


def _url(name: str) -> str:
    """BENCH_DATABASE_URL (as run.py put it in DATABASE_URL) with another database name."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _environment(database: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BACKOFFICE_", "DJANGO_SETTINGS")) and k != "DATABASE_URL"
    }
    return env | {"PORTAL_ENV": "test", "BACKOFFICE_DATABASE_URL": _url(database), "BACKOFFICE_TOKEN": TOKEN}


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "contrOCC_sync.simulator.manage", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench: simulator manage {' '.join(args)} failed ({done.returncode})")


def _exists(config: dict[str, Any], name: str) -> bool:
    with connect(config, "postgres") as connection:
        return (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        )


def _drop(config: dict[str, Any], name: str) -> None:
    assert "bench" in name, name
    with connect(config, "postgres") as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def prepare_template(config: dict[str, Any], *, reuse: bool = False) -> None:
    """Migrate and seed the back office's `large` council (the portal's seed and date) into the template.
    With `reuse`, an existing template is kept."""
    name = template_name(config)
    if reuse and _exists(config, name):
        return
    started = time.monotonic()
    _drop(config, name)
    with connect(config, "postgres") as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = _environment(name)
    _manage(env, "migrate", "--no-input", "--verbosity", "0")
    _manage(env, "seed_backoffice", "--scale", SCALE, "--seed", str(SEED), "--today", TODAY)
    with connect(config, name) as connection:
        connection.execute("VACUUM ANALYZE")  # statistics, copied with every fresh copy
    print(
        f"bench: seeded the back office's {SCALE} council into {name} in {time.monotonic() - started:.0f} s"
    )


class Simulator:
    """The simulator's web process on a copy of the template; `fresh()` starts it again on a new copy.

    The process is stopped and its database dropped by `close()` (a `with` block does it)."""

    def __init__(self, config: dict[str, Any]) -> None:
        _same_command_as_the_tests()
        self.config = config
        self.database = database_name(config)
        self.folder = Path(tempfile.mkdtemp(prefix="bench-backoffice-"))
        self.backoffice: BackOffice | None = None

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fresh(self) -> BackOffice:
        """Stop the process, replace its database with a new copy of the template, start it again."""
        self._stop()
        _drop(self.config, self.database)
        with connect(self.config, "postgres") as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self.database), sql.Identifier(template_name(self.config))
                )
            )
        env = _environment(self.database)
        port = free_port()
        log = self.folder / "backoffice.log"
        with log.open("a") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "contrOCC_sync.simulator.wsgi",
                 "--bind", f"127.0.0.1:{port}", *GUNICORN_OPTIONS],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        if pid_file := os.environ.get(PID_FILE_VARIABLE):
            Path(pid_file).write_text(str(process.pid))
        self.backoffice = BackOffice(f"http://127.0.0.1:{port}", TOKEN, self.database, log, process, env)
        self._wait_and_warm(self.backoffice)
        return self.backoffice

    def query(self, statement: str) -> Any:
        """One row from the simulator's database (for checking what a run left there)."""
        with connect(self.config, self.database) as connection:
            return connection.execute(statement).fetchone()

    def _wait_and_warm(self, backoffice: BackOffice) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                if requests.get(f"{backoffice.url}/api/v1/health", headers=headers, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or backoffice.process.poll() is not None:
                self._stop()
                raise RuntimeError(
                    "the simulated back office did not start:\n" + backoffice.log.read_text()[-3000:]
                )
            time.sleep(0.2)
        # Both workers' first requests (imports, database connections) before anything is timed.
        with requests.Session() as session:
            session.headers.update(headers)
            for _ in range(8):
                session.get(f"{backoffice.url}/api/v1/care-package-lines", params={"limit": 1}, timeout=10)

    def _stop(self) -> None:
        backoffice, self.backoffice = self.backoffice, None
        if backoffice is None or backoffice.process.poll() is not None:
            return
        os.killpg(backoffice.process.pid, signal.SIGTERM)
        try:
            backoffice.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(backoffice.process.pid, signal.SIGKILL)
            backoffice.process.wait()

    def close(self) -> None:
        self._stop()
        _drop(self.config, self.database)


def stop_leftover(pid_file: Path, config: dict[str, Any]) -> None:
    """After a benchmark's process has ended: stop the simulator it recorded if it is still running (the
    process was killed before it could), and drop its database."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGKILL)  # its own session: the pid is the group's
        print(f"bench: stopped the simulated back office (process group {pid}) a killed benchmark left")
    except ProcessLookupError:
        pass
    _drop(config, database_name(config))
