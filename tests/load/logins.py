"""The load test's logins: one provider user per provider (and, for the knee, colleagues), with a password
and an authenticator secret that are known (derived from the email), so the locust users can sign in with
both.

Imported by the data set (tests/load/dataset.py, with Django) and by the locustfile (without Django set
up: only django_otp's pure-Python TOTP), so nothing here touches settings or the database.
"""

from __future__ import annotations

import hashlib
import time

from django_otp.oath import TOTP

LOAD_PASSWORD = "load-test-tuesday-peak-2026"
EMAIL_DOMAIN = "load.example.org"
TOTP_STEP = 30
TOTP_DIGITS = 6


def login_email(provider_ref: str, *, colleague: int = 0) -> str:
    """The provider's load-test user, or its n-th colleague (another person in the same office)."""
    who = f"colleague{colleague}" if colleague else "user"
    return f"{who}.{provider_ref.lower()}@{EMAIL_DOMAIN}"


def totp_key(email: str) -> str:
    """The login's authenticator secret (hex, 20 bytes), derived from its email; used only for the load
    test's logins, in a database whose name says it is a load test's (the data set refuses any other)."""
    return hashlib.sha1(f"portal-load-totp:{email}".encode()).hexdigest()


def current_code(key_hex: str, *, at: float | None = None) -> str:
    """The six digits the login's authenticator app shows at `at` (now by default)."""
    generator = TOTP(bytes.fromhex(key_hex), step=TOTP_STEP, t0=0, digits=TOTP_DIGITS, drift=0)
    if at is not None:
        generator.time = at
    return f"{generator.token():0{TOTP_DIGITS}d}"


def seconds_to_next_step(*, at: float | None = None) -> float:
    now = time.time() if at is None else at
    return TOTP_STEP - (now % TOTP_STEP)
