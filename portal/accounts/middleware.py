"""The default-deny gate for the second factor, and the session limits.

Every signed-in request passes here. A locked or deactivated login is signed out. A session older than
12 hours from sign-in is signed out. A session idle for 30 minutes has ended already (its row expires);
activity pushes that back, by saving the session, at most once every SESSION_REFRESH_SECONDS (a save
costs a write, and saving on every request was a good share of a page's cost at the Tuesday peak), so
the idle limit is 30 minutes less at most that many seconds, and the page's warning counts from the
last save (`session_seconds_left`). A session that has the password but not the six-digit code reaches
only the pages that get it the code (or sign it out); everything else sends it to enrol or to enter its
code. Ending sessions after a lock or a code reset needs nothing here: `User.session_epoch` is part of
the session hash Django checks on every request.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from portal import clock

SIGNED_IN_AT_SESSION_KEY = "portal_signed_in_at"
REFRESHED_AT_SESSION_KEY = "portal_refreshed_at"

# Pages an unverified session may reach: signing in and out, getting the code, and public pages.
UNVERIFIED_ALLOWED_URL_NAMES = frozenset(
    {
        "account_login",
        "account_logout",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "account_inactive",
        "invitation_accept",
        "code_verify",
        "code_backup",
        "code_email",
        "code_enrol",
        "code_lost",
        "code_lost_sent",
        "code_reset",
        "healthz",
        "accessibility",
        "session_keepalive",
    }
)


def session_refresh(request: HttpRequest, *, now: float | None = None, force: bool = False) -> None:
    """Restart the idle limit (the session is saved at the end of the request) if it was last restarted
    SESSION_REFRESH_SECONDS ago or more, or always (`force`: "Stay signed in")."""
    now = clock.now().timestamp() if now is None else now
    refreshed_at = request.session.get(REFRESHED_AT_SESSION_KEY, 0)
    if force or now - refreshed_at >= settings.SESSION_REFRESH_SECONDS:
        request.session[REFRESHED_AT_SESSION_KEY] = now


def session_seconds_left(request: HttpRequest) -> int:
    """Seconds until the idle limit ends the session, counted from its last save; rounded up, so the page
    never sends the user to sign in again while the session still stands (the sign-in page would send
    them home, and that request would keep the session alive)."""
    now = clock.now().timestamp()
    refreshed_at = request.session.get(REFRESHED_AT_SESSION_KEY, now)
    return max(0, math.ceil(settings.SESSION_COOKIE_AGE - (now - refreshed_at)))


def _url_name(request: HttpRequest) -> str | None:
    try:
        return resolve(request.path_info).url_name
    except Resolver404:
        return None


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        if not user.is_active or user.is_locked:  # type: ignore[union-attr]
            logout(request)
            return redirect("account_login")
        now = clock.now().timestamp()
        signed_in_at = request.session.get(SIGNED_IN_AT_SESSION_KEY)
        if signed_in_at is not None and now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
            logout(request)
            messages.info(request, "You were signed out because you had been signed in for 12 hours.")
            return redirect("account_login")
        session_refresh(request, now=now)
        if not user.is_verified() and _url_name(request) not in UNVERIFIED_ALLOWED_URL_NAMES:  # type: ignore[union-attr]
            from portal.accounts.services import has_security_code

            target = "code_verify" if has_security_code(user) else "code_enrol"  # type: ignore[arg-type]
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
