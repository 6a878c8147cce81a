"""Settings of the simulated back office, a Django project of its own, driven by environment variables.

It shares nothing with the portal's settings but the meaning of PORTAL_ENV (demo, test, production),
PORTAL_VAR_DIR and PORTAL_CLOCK_OFFSET_FILE. With no BACKOFFICE_DATABASE_URL it runs on its own SQLite
file, `$PORTAL_VAR_DIR/backoffice.sqlite3`. The variables are listed in docs/backoffice-simulator.md.
"""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

REPO_DIR = Path(__file__).resolve().parents[2]


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


PORTAL_ENV = env("PORTAL_ENV", "demo")
if PORTAL_ENV not in {"demo", "test", "production"}:
    raise ImproperlyConfigured(f"PORTAL_ENV must be demo, test or production, not {PORTAL_ENV!r}.")
PRODUCTION = PORTAL_ENV == "production"

if PRODUCTION:
    missing = [
        name for name in ("BACKOFFICE_TOKEN", "BACKOFFICE_DATABASE_URL", "SECRET_KEY") if not env(name)
    ]
    if missing:
        raise ImproperlyConfigured(
            f"The back office in production needs these environment variables: {', '.join(missing)}."
        )
    if env("PORTAL_CLOCK_OFFSET_FILE"):
        raise ImproperlyConfigured("PORTAL_CLOCK_OFFSET_FILE is a test switch; production refuses it.")

VAR_DIR = Path(env("PORTAL_VAR_DIR", str(REPO_DIR / "var")))

SECRET_KEY = env("SECRET_KEY", "demo-only-backoffice-secret-key-never-used-in-production-0123456789")
DEBUG = False  # errors are answered as JSON (`handler500`), never as Django's debug page
ALLOWED_HOSTS = env_list("BACKOFFICE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],backoffice")
if not PRODUCTION:
    ALLOWED_HOSTS += ["testserver"]

# The bearer token every caller must present (the portal holds the same value).
BACKOFFICE_TOKEN = env("BACKOFFICE_TOKEN", "demo-backoffice-token")

# /sim/*: on by default in the demo and in tests, off in production unless switched on.
BACKOFFICE_SIM_CONTROLS = env_bool("BACKOFFICE_SIM_CONTROLS", default=not PRODUCTION)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_weekday = env("BACKOFFICE_PAYMENT_WEEKDAY", "thursday").strip().lower()
if _weekday not in _WEEKDAYS:
    raise ImproperlyConfigured(f"BACKOFFICE_PAYMENT_WEEKDAY must be a day's name, not {_weekday!r}.")
BACKOFFICE_PAYMENT_WEEKDAY = _WEEKDAYS.index(_weekday)  # Monday is 0
# The scheduled run happens on that weekday once this London time has passed (HH:MM).
BACKOFFICE_PAYMENT_TIME = env("BACKOFFICE_PAYMENT_TIME", "06:00")
BACKOFFICE_SCHEDULER_INTERVAL = float(env("BACKOFFICE_SCHEDULER_INTERVAL", "30"))

# Charging periods are 4-week blocks counted from this Monday (the council's financial year).
BACKOFFICE_CHARGING_START = env("BACKOFFICE_CHARGING_START", "2026-04-06")


def _expense_limits(text: str) -> dict[str, Decimal]:
    limits = {}
    for item in text.split(","):
        if not item.strip():
            continue
        category, _, amount = item.partition("=")
        try:
            limits[category.strip().lower()] = Decimal(amount.strip()).quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise ImproperlyConfigured(
                f"BACKOFFICE_EXPENSE_LIMITS: {item!r} is not category=amount."
            ) from exc
    return limits


# An expense claim is accepted up to its category's limit; "*" is the limit of any other category.
BACKOFFICE_EXPENSE_LIMITS = _expense_limits(
    env(
        "BACKOFFICE_EXPENSE_LIMITS",
        "mileage=250.00,equipment=500.00,activities=150.00,clothing=200.00,*=100.00",
    )
)

INSTALLED_APPS = ["contrOCC_sync.simulator.backoffice.apps.BackofficeConfig"]

MIDDLEWARE = [
    "contrOCC_sync.simulator.backoffice.middleware.BearerTokenMiddleware",
    "contrOCC_sync.simulator.backoffice.middleware.FaultInjectionMiddleware",
]

ROOT_URLCONF = "contrOCC_sync.simulator.urls"
WSGI_APPLICATION = "contrOCC_sync.simulator.wsgi.application"
TEMPLATES: list[dict] = []

if env("BACKOFFICE_DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            env("BACKOFFICE_DATABASE_URL"), conn_max_age=60, conn_health_checks=True
        )
    }
else:
    # Web workers and the scheduler all write: WAL with a busy timeout, and transactions that take the
    # write lock at BEGIN. SQLite then serialises writers, which is what keeps the change feed in order.
    with contextlib.suppress(OSError):  # reported by the first query, with the path
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "backoffice.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024  # a big provider's week of lines in one submission

SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
