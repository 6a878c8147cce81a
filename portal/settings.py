"""The one settings module, driven by environment variables (listed in README.md, "Configuration").

With no DATABASE_URL / CELERY_BROKER_URL the portal runs on its embedded defaults: SQLite files and
kombu's filesystem transport under PORTAL_VAR_DIR. PORTAL_ENV=production refuses to start without its
secrets and turns on every transport-security setting `manage.py check --deploy` asks for.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


PORTAL_ENV = env("PORTAL_ENV", "demo")
if PORTAL_ENV not in {"demo", "test", "production"}:
    raise ImproperlyConfigured(f"PORTAL_ENV must be demo, test or production, not {PORTAL_ENV!r}.")
PRODUCTION = PORTAL_ENV == "production"
DEMO = PORTAL_ENV == "demo"

if PRODUCTION:
    missing = [
        name
        for name in (
            "SECRET_KEY",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "ALLOWED_HOSTS",
            "DEFAULT_FROM_EMAIL",
            "PORTAL_BASE_URL",
            "BACKOFFICE_URL",
            "BACKOFFICE_TOKEN",
        )
        if not env(name)
    ]
    if missing:
        raise ImproperlyConfigured(f"Production needs these environment variables: {', '.join(missing)}.")
    if env("PORTAL_CLOCK_OFFSET_FILE"):
        raise ImproperlyConfigured("PORTAL_CLOCK_OFFSET_FILE is a test switch; production refuses it.")

VAR_DIR = Path(env("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env("SECRET_KEY", "demo-only-secret-key-never-used-in-production-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", default=False) and not PRODUCTION
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if not PRODUCTION:
    ALLOWED_HOSTS += ["testserver"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

COUNCIL_NAME = env("COUNCIL_NAME", "Wyvern County Council")
# Where users reach the portal: the links in emails start with it.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SERVICE_NAME = "Provider portal"
# The first week providers claim through the portal (a Monday): weeks before it were claimed the old way
# and cannot be generated or confirmed here.
ACTUALS_FROM = dt.date.fromisoformat(env("ACTUALS_FROM", "2025-04-07"))
# 4-weekly charging periods are blocks of four weeks counted from this Monday (the first week of the
# council's financial year; DOMAIN.md). A system check refuses a day that is not a Monday.
CHARGING_PERIODS_FROM = dt.date.fromisoformat(env("CHARGING_PERIODS_FROM", "2026-04-06"))
# A report file made in the background can be downloaded for this many hours; then it is removed.
REPORT_FILES_HOURS = int(env("REPORT_FILES_HOURS", "24"))
# An invoice the wizard left unfinished (an InvoiceDraft) and not changed for this many days is deleted by
# the leftovers sweep; a receipt uploaded but in no expense claim is deleted once this many hours old
# (more than a session's 12 hours at most, in which the claim form keeps it for the claim).
INVOICE_DRAFT_STALE_DAYS = int(env("INVOICE_DRAFT_STALE_DAYS", "30"))
RECEIPT_ORPHAN_HOURS = int(env("RECEIPT_ORPHAN_HOURS", "24"))
# A resolved dispute or query can be reopened for this many days; then it closes.
DISPUTE_REOPEN_DAYS = int(env("DISPUTE_REOPEN_DAYS", "14"))
PORTAL_SUPPORT_EMAIL = env("PORTAL_SUPPORT_EMAIL", "provider.portal@wyvern.example.gov.uk")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django_filters",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_email",
    "portal.apps.PortalConfig",
    "portal.accounts",
    "portal.providers",
    "portal.audit",
    "portal.mail",
    "portal.content",
    "actuals",
    "disputes",
    "remittances",
    "reports",
    "contrOCC_sync.apps.ControccSyncConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.accounts.middleware.SecondFactorRequiredMiddleware",
    "portal.providers.middleware.ProviderInUseMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
            "builtins": ["portal.templatetags.portal"],
        },
    }
]
if PORTAL_ENV == "test":
    # A missing variable in a template fails the test that renders it (CONVENTIONS.md §8).
    TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = "!!MISSING {%s}!!"  # type: ignore[index]

FORM_RENDERER = "portal.forms.GovukFormRenderer"

# Request bodies ---------------------------------------------------------------------------------
# The fields of a form, files apart: the biggest the portal posts (a page of review decisions, a
# 2,000-character comment) is a few kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Files are limited by the views that take them, as they arrive (portal/uploads.py: 5 MB for a claim
# form or a file of visits). Bodies up to this stay in memory: the checks read an accepted upload whole
# anyway, so it never touches disk; a bigger body (a future, larger limit) spools to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# Database ---------------------------------------------------------------------------------------
if env("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)
    }
else:
    # The embedded default: every process (web, worker, beat) writes, so WAL with a busy timeout and
    # transactions that take the write lock up front instead of failing half-way.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "portal.accounts.adapter.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_MAX_EMAIL_ADDRESSES = 1  # one address per login: the council changes it, not the user
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""  # the subjects name the service themselves
ACCOUNT_FORMS = {"login": "portal.accounts.forms.PortalLoginForm"}
# Wrong passwords lock sign-in for the account (the email typed), not the IP address: five in 15 minutes.
# The answer is the same whether or not the email has an account.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/15m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
}
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
# allauth's limits per address (its defaults: 30 sign-ins a minute, 20 password resets) see the proxy's
# address for every request behind a proxy, so they would hold the whole council to 30 sign-ins a minute
# (the load test's Tuesday peak met it: docs/benchmarks.md). TRUSTED_PROXY_COUNT is the number of proxies
# in front that append to X-Forwarded-For (1 behind the TLS proxy production needs); then each client is
# counted on its own address. 0, the default, ignores the header (nothing in front: it could be forged).
ALLAUTH_TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))

# The six-digit security code (django-otp).
OTP_TOTP_ISSUER = COUNCIL_NAME
OTP_TOTP_THROTTLE_FACTOR = 1  # wrong codes double the wait each time: 1 s, 2 s, 4 s, … per account
OTP_EMAIL_SUBJECT = "Your provider portal security code"
OTP_EMAIL_BODY_TEMPLATE_PATH = "emails/security_code.txt"
OTP_EMAIL_TOKEN_VALIDITY = 10 * 60
OTP_EMAIL_COOLDOWN_DURATION = 60  # one emailed code a minute at most
OTP_EMAIL_THROTTLE_FACTOR = 1
INACTIVITY_LOCK_DAYS = 90
INACTIVITY_WARNING_DAYS = 80
INVITATION_VALID_HOURS = 72
SECURITY_CODE_RESET_VALID_SECONDS = 60 * 60
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
# Argon2id first (portal/accounts/hashers.py says why); PBKDF2 so passwords stored before still check.
PASSWORD_HASHERS = [
    "portal.accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if PORTAL_ENV == "test":
    # Hashing is not what the suite tests (but tests/accounts/test_hashers.py); a fast hasher keeps
    # sign-in fixtures quick.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# Sessions: 30 minutes idle (activity extends it: the session is saved again at most once a minute; the
# page warns before it ends), 12 hours at most from sign-in (portal.accounts.middleware). Read through the
# cache, written to both (a signed-in page reads its session without a query).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 30 * 60
SESSION_REFRESH_SECONDS = 60
SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Internationalisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# Static files -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
# Production serves collected files (collectstatic into STATIC_ROOT); elsewhere WhiteNoise reads the
# build folder through the finders, so nothing needs collecting.
STATIC_ROOT = (
    Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles"))) if PRODUCTION or env("STATIC_ROOT") else None
)
STATICFILES_DIRS = [BASE_DIR / "static" / "build"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Email: SMTP in production; files every process writes to elsewhere, so tests read what workers sent.
# Only workers send (portal.mail: queued in the change's transaction, sent after it commits).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"{SERVICE_NAME} <no-reply@wyvern.example.gov.uk>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = int(env("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# The back office (ContrOCC; the simulator in demo and tests). Only contrOCC_sync's client knows these.
BACKOFFICE_URL = env("BACKOFFICE_URL", "http://127.0.0.1:8001").rstrip("/")
BACKOFFICE_TOKEN = env("BACKOFFICE_TOKEN", "demo-backoffice-token")
BACKOFFICE_CONNECT_TIMEOUT = float(env("BACKOFFICE_CONNECT_TIMEOUT", "3"))
BACKOFFICE_READ_TIMEOUT = float(env("BACKOFFICE_READ_TIMEOUT", "10"))
BACKOFFICE_PAGE_SIZE = int(env("BACKOFFICE_PAGE_SIZE", "500"))
# /healthz calls the back office down when its last heartbeat is older than this, or failed.
BACKOFFICE_HEARTBEAT_STALE_SECONDS = 180

# Cache: rate limits must be shared by every process (web workers, worker).
if env("CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "portal.redis_cache.SharedClientRedisCache", "LOCATION": env("CACHE_URL")}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery -----------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "accounts-inactivity": {
        "task": "portal.accounts.tasks.inactive_accounts_lock",
        "schedule": crontab(hour=2, minute=15),
    },
    "sessions-clear": {
        "task": "portal.accounts.tasks.expired_sessions_clear",
        "schedule": crontab(hour=3, minute=0),
    },
    "backoffice-heartbeat": {"task": "contrOCC_sync.tasks.heartbeat_record", "schedule": 30.0},
    "backoffice-pull": {"task": "contrOCC_sync.tasks.sync_pull_all", "schedule": 60.0},
    "backoffice-outbox-sweep": {"task": "contrOCC_sync.tasks.outbox_sweep", "schedule": 60.0},
    "mail-sweep": {"task": "portal.mail.tasks.email_sweep", "schedule": 60.0},
    # Documents made by workers (remittances/documents.py): expired files removed, lost requests re-driven;
    # foster carers' annual statements once the financial year has closed (and March's last run is in).
    "documents-sweep": {"task": "remittances.tasks.documents_sweep", "schedule": 300.0},
    # Invoice drafts nobody finished and receipts no claim kept (remittances/services_invoices.py), nightly.
    "invoice-leftovers-sweep": {
        "task": "remittances.tasks.invoice_leftovers_sweep",
        "schedule": crontab(hour=3, minute=30),
    },
    "annual-statements": {
        "task": "remittances.tasks.annual_statements_for_closed_year",
        "schedule": crontab(minute=0, hour=4, day_of_month=2, month_of_year=4),
    },
    # Report files made by workers (reports/services.py): expired files removed, lost requests re-driven.
    "reports-sweep": {"task": "reports.tasks.reports_sweep", "schedule": 300.0},
    "threads-close": {
        "task": "disputes.tasks.threads_close_resolved",
        "schedule": crontab(hour=1, minute=30),
    },
    # The weekly cycle (docs/architecture.md, "The weekly schedule"); crontab runs in CELERY_TIMEZONE.
    "actuals-generate": {
        "task": "actuals.tasks.actuals_generate_all",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
    "actuals-remind-monday": {
        "task": "actuals.tasks.deadline_reminders_send_automatic",
        "schedule": crontab(minute=0, hour=14, day_of_week="mon"),
        "kwargs": {"slot": "monday-afternoon"},
    },
    "actuals-remind-tuesday": {
        "task": "actuals.tasks.deadline_reminders_send_automatic",
        "schedule": crontab(minute=0, hour=9, day_of_week="tue"),
        "kwargs": {"slot": "tuesday-morning"},
    },
}

# Security headers -------------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the orchestrator probes over plain HTTP inside the network
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Logging ----------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint reports every page it lays out here: the document worker reads it for its progress
        # (remittances/documents.py), the console need not.
        "weasyprint.progress": {"level": "INFO", "handlers": [], "propagate": False},
    },
}

ADMINS = [("Portal team", PORTAL_SUPPORT_EMAIL)]
