"""Declaring what a view needs: `permission_required` on a class, `@permission_required` on a function.

A provider permission needs a provider in use: a login with several providers and none chosen is sent
to the switch page first. A missing permission is a 403; another provider's object never gets this far
(it is not in the scoped queryset: a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal.permissions import PROVIDER_PERMISSIONS


def check_permission(request: HttpRequest, permission: str) -> HttpResponse | None:
    """None when the request may go on; otherwise the response to give instead."""
    if permission in PROVIDER_PERMISSIONS and request.provider is None and request.memberships:  # type: ignore[attr-defined]
        return redirect(f"{reverse('provider_switch')}?{urlencode({'next': request.get_full_path()})}")
    if permission not in request.portal_perms:  # type: ignore[attr-defined]
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


def permission_required(permission: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = check_permission(request, permission)
            return response if response is not None else view(request, *args, **kwargs)

        wrapped.permission_required = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator
