"""The demo stack itself, as `make demo` runs it (bin/demo), on its embedded defaults and free ports:
SQLite and the filesystem broker in a fresh folder; web, worker, beat, the simulated back office and its
scheduler under honcho; the council pulled from the back office by sync. /healthz answers (the back
office included), a demo login signs in with its code and sees its lines, and one interrupt stops every
process."""

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
            response = requests.get(url, timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            return response
        time.sleep(0.5)  # starting: the worker records the first heartbeat, the council is pulled
    raise AssertionError(f"{url} did not answer in time")


def _wait_for_text(path: Path, text: str, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in path.read_text():
            return True
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared:\n{path.read_text()[-3000:]}")


def test_demo_stack_serves_health_and_sign_in(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PORTAL_ENV"}
    }
    # Both ports asked of the system: the web's + 1 (bin/demo's default) may be a client socket's
    # ephemeral port on a busy machine (a run failed so: "Address already in use").
    env |= {
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PORTAL_WEB_PORT": str(port),
        "BACKOFFICE_PORT": str(free_port()),
    }
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
        assert "Demo logins:" in log_path.read_text() or _wait_for_text(log_path, "Demo logins:")
        assert health.json() == {
            "status": "ok",
            "checks": {"database": "up", "broker": "up", "backoffice": "up"},
        }
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
        # The lines came by sync from the simulated back office, not by writing the portal's tables.
        assert re.search(
            r"Pulled the council from the back office \([\d,]+ changes applied\)", log_path.read_text()
        )

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
