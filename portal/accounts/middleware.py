"""The default-deny gate for the second factor.

STAND-IN until issue #4 (sign-in with a six-digit code): a signed-in session counts as verified after
the password alone. Issue #4 replaces `session_is_verified` with django-otp's check and sends every
signed-in but unverified session to the code page; the allow-list below is where the code pages go.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, ResolverMatch, resolve

# URL names an unverified session may still reach (sign-in, sign-out, the code pages once they exist).
UNVERIFIED_ALLOWED_URL_NAMES = frozenset({"account_login", "account_logout", "healthz"})


def session_is_verified(request: HttpRequest) -> bool:
    """STAND-IN (issue #4): password-only sign-in is treated as verified."""
    return request.user.is_authenticated


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        verified = session_is_verified(request)
        if request.user.is_authenticated and not verified:
            match = request.resolver_match or _resolve(request)
            if match is None or match.url_name not in UNVERIFIED_ALLOWED_URL_NAMES:
                return redirect("account_login")
        return self.get_response(request)


def _resolve(request: HttpRequest) -> ResolverMatch | None:
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None
