"""The demo stack itself, as `make demo` runs it (bin/demo), on its embedded defaults and free ports:
SQLite and the filesystem broker in a fresh folder, web + worker + beat under honcho. /healthz answers,
a demo login signs in, and one interrupt stops every process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "provider.user@demo.example.org"
DEMO_PASSWORD = "correct-horse-battery-demo"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, deadline: float) -> requests.Response:
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in time")


def test_demo_stack_serves_health_and_sign_in(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PORTAL_ENV"}
    }
    env |= {"PORTAL_VAR_DIR": str(tmp_path / "var"), "PORTAL_WEB_PORT": str(port)}
    log_path = tmp_path / "demo.log"
    with log_path.open("w") as log:
        demo = subprocess.Popen(
            [str(ROOT / "bin" / "demo")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_for(f"{base}/healthz", time.monotonic() + 300)
        assert health.status_code == 200, log_path.read_text()[-3000:]
        assert health.json() == {"status": "ok", "checks": {"database": "up", "broker": "up"}}
        assert (tmp_path / "var" / "portal.sqlite3").exists()

        session = requests.Session()
        login = session.get(f"{base}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token, login.text[:2000]
        home = session.post(
            f"{base}/accounts/login/",
            data={"login": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=30,
        )
        assert home.status_code == 200 and home.url.startswith(f"{base}/accounts/code/"), home.text[:2000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.text)
        assert token and "Enter your security code" in home.text
        code = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "demo_code", DEMO_EMAIL],
            cwd=ROOT,
            env=env | {"PORTAL_ENV": "demo"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        assert re.fullmatch(r"\d{6}", code), code
        home = session.post(
            home.url,
            data={"code": code, "next": "/", "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": home.url},
            timeout=30,
        )
        assert home.status_code == 200 and home.url == f"{base}/", home.text[:2000]
        assert "Acting for" in home.text and "Sign out" in home.text

        lines = session.get(f"{base}/care-package-lines/", timeout=30)
        assert lines.status_code == 200 and 'data-testid="line-row"' in lines.text

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            "ready." in log_path.read_text() and "beat: Starting" in log_path.read_text()
        ):
            time.sleep(0.5)
        output = log_path.read_text()
        assert "ready." in output, "the Celery worker did not start:\n" + output[-3000:]
        assert "beat: Starting" in output, "Celery beat did not start:\n" + output[-3000:]
        assert f"http://127.0.0.1:{port}/" in output and DEMO_EMAIL in output
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    # honcho stopped all of them: nothing of the process group is left.
    with pytest.raises(ProcessLookupError):
        os.killpg(demo.pid, 0)
