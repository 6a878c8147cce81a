"""Receivers for Django's sign-in signal: the moment the 12-hour session limit counts from."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from portal import clock
from portal.accounts.middleware import SIGNED_IN_AT_SESSION_KEY


@receiver(user_logged_in)
def session_start_record(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT_SESSION_KEY] = clock.now().timestamp()
