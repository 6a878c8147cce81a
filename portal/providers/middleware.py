"""The provider in use: always one of the user's own, always visible, switchable."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal import permissions
from portal.access import portal_request
from portal.accounts.models import Membership

SESSION_KEY = "provider_in_use"


class ProviderInUseMiddleware:
    """Sets `request.membership`, `request.provider` and `request.portal_perms` for every request.

    The provider comes from the session, and only from the user's own usable memberships, so a
    tampered session can never act for another provider. A login with one provider uses it; a login
    with several uses the one chosen on the switch page (the views that need one send the user there).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        request = portal_request(http_request)
        request.membership = None
        request.provider = None
        request.memberships = []
        user = request.user
        if user.is_authenticated:
            memberships = list(Membership.objects.usable().filter(user=user))
            chosen = request.session.get(SESSION_KEY)
            membership = next((m for m in memberships if m.provider_id == chosen), None)
            if membership is None and len(memberships) == 1:
                membership = memberships[0]
            request.memberships = memberships
            request.membership = membership
            request.provider = membership.provider if membership else None
        request.portal_perms = permissions.permissions_for(user, request.membership)
        return self.get_response(http_request)
