"""The simulated back office as a real process for portal tests: gunicorn on a free port, on a freshly
created PostgreSQL database of its own (never the demo's 8001, never another suite's database), seeded
once per session. Tests talk to it only over its HTTP API, like the portal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "portal-tests-backoffice-token"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class BackOffice:
    url: str
    token: str
    database: str
    log: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method,
            f"{self.url}/sim/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        assert response.status_code < 300, response.text
        return response.json()

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(
            f"{self.url}/api/v1/{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "contrOCC_sync.simulator.manage", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def faults(self, **rates: Any) -> None:
        self.sim("POST", "faults", rates)


def start(tmp_dir: Path, *, clock_offset_file: Path | None = None) -> BackOffice:
    database = f"portal_tests_backoffice_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKOFFICE_", "DJANGO_SETTINGS"))}
    env |= {
        "PORTAL_ENV": "test",
        "BACKOFFICE_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "BACKOFFICE_TOKEN": TOKEN,
    }
    if clock_offset_file is not None:
        env["PORTAL_CLOCK_OFFSET_FILE"] = str(clock_offset_file)
    subprocess.run(
        [sys.executable, "-m", "contrOCC_sync.simulator.manage", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    port = free_port()
    log = tmp_dir / "backoffice.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "contrOCC_sync.simulator.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    backoffice = BackOffice(f"http://127.0.0.1:{port}", TOKEN, database, log, process, env)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(
                f"{backoffice.url}/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2
            ).ok:
                return backoffice
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            stop(backoffice)
            raise AssertionError("the simulated back office did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)


def stop(backoffice: BackOffice) -> None:
    if backoffice.process.poll() is None:
        os.killpg(backoffice.process.pid, signal.SIGTERM)
        try:
            backoffice.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(backoffice.process.pid, signal.SIGKILL)
            backoffice.process.wait()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{backoffice.database}" WITH (FORCE)')
