"""The bearer token, and fault injection for the API (/sim/faults).

Faults apply to /api/v1/* only, never to the controls, only while the controls are on, and after the token check (a stranger cannot
trigger them). Per request, one draw decides at most one of: answered 500 (nothing done), left hanging
for `hang_seconds` and then answered 504 (nothing done), answered 429 with Retry-After (nothing done),
or processed and committed and then the connection broken with no answer. `latency_ms` slows every
request. Under gunicorn "broken" is a real broken connection (the socket is shut down, so the client
reads end-of-file where the status line should be); under a server that does not expose its socket the
committed request is answered 500 instead.
"""

from __future__ import annotations

import hmac
import logging
import random
import socket
import struct
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ..conf import settings
from .http import error_response
from .models import FaultSettings

logger = logging.getLogger(__name__)
_draw = random.SystemRandom()  # not the module generator: forked workers would share its sequence


class BearerTokenMiddleware:
    """401 with nothing else said, unless `Authorization: Bearer <BACKOFFICE_TOKEN>`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        guarded = request.path.startswith("/api/") or (
            request.path.startswith("/sim/") and settings.BACKOFFICE_SIM_CONTROLS  # off: a plain 404
        )
        if guarded:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            expected = settings.BACKOFFICE_TOKEN.encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
                response = error_response(401, "unauthorized", "Unauthorized.")
                response["WWW-Authenticate"] = "Bearer"
                return response
        return self.get_response(request)


class FaultInjectionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") or not settings.BACKOFFICE_SIM_CONTROLS:
            return self.get_response(request)  # no controls, no faults (a row left behind included)
        faults = FaultSettings.objects.filter(pk=1).first()
        if faults is None:
            return self.get_response(request)
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        # Read the body before any injected answer, as a real server's would be: an unread body left on a
        # kept-alive connection makes the server wait on it for the client's next request.
        request.body  # noqa: B018
        roll = _draw.random()
        if roll < faults.error_rate:
            return error_response(500, "injected_error", "A fault the simulator was told to inject.")
        roll -= faults.error_rate
        if roll < faults.timeout_rate:
            time.sleep(faults.hang_seconds)
            return error_response(504, "injected_timeout", "A hang the simulator was told to inject.")
        roll -= faults.timeout_rate
        if roll < faults.throttle_rate:
            throttled = error_response(429, "injected_throttle", "Too many requests; try again later.")
            throttled["Retry-After"] = "1"
            return throttled
        roll -= faults.throttle_rate
        drop = roll < faults.drop_after_commit_rate
        response = self.get_response(request)  # the view's own transaction has committed by now
        if drop:
            return _break_connection(request, response)
        return response


def _break_connection(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        logger.warning("drop_after_commit: no socket to break under this server; answering 500 instead")
        return error_response(
            500, "injected_drop", "Committed, then failed (a fault the simulator injected)."
        )
    try:
        # Reset rather than linger on close, and end both directions now: the client reads end-of-file
        # before any status line. Gunicorn's own write then fails (EPIPE), which it ignores.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    logger.info("drop_after_commit: broke the connection after %s %s", request.method, request.path)
    return response
