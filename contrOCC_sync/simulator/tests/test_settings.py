"""The simulator's settings, imported fresh in a child process under each environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

PRINT = (
    "import contrOCC_sync.simulator.settings as s; "
    "print(s.BACKOFFICE_SIM_CONTROLS, s.BACKOFFICE_PAYMENT_WEEKDAY, s.DATABASES['default']['ENGINE'], s.BACKOFFICE_TOKEN)"
)
PRODUCTION = {
    "PORTAL_ENV": "production",
    "BACKOFFICE_TOKEN": "a-long-secret",
    "BACKOFFICE_DATABASE_URL": "postgres://bo@db:5432/backoffice",
    "SECRET_KEY": "x" * 50,
}


def settings_in(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", PRINT], cwd=REPO, env=base | env, capture_output=True, text=True, timeout=30
    )


def test_demo_defaults_sqlite_controls_on_thursday_and_the_demo_token(tmp_path):
    result = settings_in({"PORTAL_VAR_DIR": str(tmp_path)})
    assert result.stdout.split() == ["True", "3", "django.db.backends.sqlite3", "demo-backoffice-token"]


def test_production_runs_postgres_controls_off_unless_switched_on():
    assert settings_in(PRODUCTION).stdout.split() == [
        "False",
        "3",
        "django.db.backends.postgresql",
        "a-long-secret",
    ]
    assert settings_in(PRODUCTION | {"BACKOFFICE_SIM_CONTROLS": "on"}).stdout.split()[0] == "True"


@pytest.mark.parametrize("missing", ["BACKOFFICE_TOKEN", "BACKOFFICE_DATABASE_URL", "SECRET_KEY"])
def test_production_refuses_to_start_without_its_secrets(missing):
    result = settings_in({k: v for k, v in PRODUCTION.items() if k != missing})
    assert result.returncode != 0 and missing in result.stderr


def test_production_refuses_the_clock_offset_file():
    result = settings_in(PRODUCTION | {"PORTAL_CLOCK_OFFSET_FILE": "/tmp/offset"})
    assert result.returncode != 0 and "PORTAL_CLOCK_OFFSET_FILE" in result.stderr


def test_the_payment_weekday_is_a_days_name():
    assert settings_in({"BACKOFFICE_PAYMENT_WEEKDAY": "Monday"}).stdout.split()[1] == "0"
    assert settings_in({"BACKOFFICE_PAYMENT_WEEKDAY": "someday"}).returncode != 0
