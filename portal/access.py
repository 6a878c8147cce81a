"""Declaring what a view needs: `permission_required` on a class, `@permission_required` on a function.

A provider permission needs a provider in use: a login with several providers and none chosen is sent
to the switch page first. A missing permission is a 403; another provider's object never gets this far
(it is not in the scoped queryset: a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal.permissions import PROVIDER_PERMISSIONS

if TYPE_CHECKING:
    from portal.accounts.models import Membership, User
    from portal.providers.models import Provider


class PortalRequest(HttpRequest):
    """What the portal's middleware adds to every request. For type checking only: `portal_request()`."""

    user: User  # views behind the sign-in; LoginRequiredMiddleware sends everyone else away
    membership: Membership | None
    memberships: list[Membership]
    provider: Provider | None
    portal_perms: frozenset[str]


def portal_request(request: HttpRequest) -> PortalRequest:
    return cast("PortalRequest", request)


def check_permission(http_request: HttpRequest, permission: str) -> HttpResponse | None:
    """None when the request may go on; otherwise the response to give instead."""
    request = portal_request(http_request)
    if permission in PROVIDER_PERMISSIONS and request.provider is None and request.memberships:
        return redirect(f"{reverse('provider_switch')}?{urlencode({'next': request.get_full_path()})}")
    if permission not in request.portal_perms:
        raise PermissionDenied
    return None


class PermissionRequiredMixin:
    permission_required: str = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.permission_required:
            raise PermissionDenied  # default-deny: a view that forgot to declare is closed
        response = check_permission(request, self.permission_required)
        if response is not None:
            return response
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    @property
    def provider(self) -> Provider:
        """The provider in use. A view with a provider permission is only reached with one."""
        provider = portal_request(self.request).provider  # type: ignore[attr-defined]
        if provider is None:
            raise PermissionDenied
        return provider

    @property
    def user(self) -> User:
        """The signed-in user (LoginRequiredMiddleware sends everyone else to sign in)."""
        return portal_request(self.request).user  # type: ignore[attr-defined]


class CouncilPageMixin(PermissionRequiredMixin):
    """A council page about providers' records (a provider's weeks and lines, a dispute's decisions): a 404
    for a provider's login, which is never told such a page exists; council staff without the permission
    get the usual 403."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not portal_request(request).user.is_council_staff:
            raise Http404("No such page")
        return super().dispatch(request, *args, **kwargs)


def permission_required(
    permission: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = check_permission(request, permission)
            return response if response is not None else view(request, *args, **kwargs)

        wrapped.permission_required = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator
