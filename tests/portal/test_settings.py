"""Settings from the environment: production refuses to start half-configured, and is deploy-clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-for-the-test-0123456789",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
    "CACHE_URL": "redis://127.0.0.1:6379/14",
    "PORTAL_BASE_URL": "https://portal.example.gov.uk",
    "BACKOFFICE_URL": "https://backoffice.example.gov.uk",
    "BACKOFFICE_TOKEN": "a-long-production-token-for-the-test",
    "ALLOWED_HOSTS": "portal.example.gov.uk",
    "DEFAULT_FROM_EMAIL": "Provider portal <no-reply@example.gov.uk>",
}
# Set by the test harness itself (the browser tests' async guard, the shared clock): never in production.
TEST_ONLY_ENV = {"PORTAL_CLOCK_OFFSET_FILE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in TEST_ONLY_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV.keys() - {"PORTAL_ENV"}))
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_production_refuses_the_test_clock(tmp_path: Path) -> None:
    result = manage("check", env=PRODUCTION_ENV | {"PORTAL_CLOCK_OFFSET_FILE": str(tmp_path / "offset")})
    assert result.returncode != 0
    assert "PORTAL_CLOCK_OFFSET_FILE" in result.stderr


def test_production_sends_the_security_headers() -> None:
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='portal.example.gov.uk').get('/healthz', secure=True);"
        "print(r.status_code);"
        "[print(h + ': ' + r[h]) for h in ('Strict-Transport-Security', 'Content-Security-Policy',"
        " 'Referrer-Policy', 'Permissions-Policy', 'X-Content-Type-Options', 'X-Frame-Options')]"
    )
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in TEST_ONLY_ENV}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean | PRODUCTION_ENV | {"DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.split()[0] in {"200", "503"}  # the headers are what this is about, not the health
    assert "Strict-Transport-Security: max-age=63072000; includeSubDomains; preload" in out
    csp = next(line for line in out.splitlines() if line.startswith("Content-Security-Policy"))
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "Referrer-Policy: same-origin" in out
    assert "Permissions-Policy: " in out and "camera=()" in out
    assert "X-Frame-Options: DENY" in out
