"""The staff page of the back-office link (portal administrators): its health, each stream, the outbox,
what is parked or skipped, and buttons to retry now. Reads the portal's own tables only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from contrOCC_sync.selectors import link_state
from contrOCC_sync.services import link_retry
from portal import permissions
from portal.access import PermissionRequiredMixin


class LinkView(PermissionRequiredMixin, TemplateView):
    permission_required = permissions.MANAGE_BACKOFFICE_LINK
    template_name = "controcc_sync/link.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["link"] = link_state()
        return context


class LinkRetryView(PermissionRequiredMixin, View):
    """POST only: pull every stream and re-drive every pending message now, in the workers."""

    permission_required = permissions.MANAGE_BACKOFFICE_LINK

    def post(self, request: HttpRequest) -> HttpResponse:
        pending = link_retry(by=self.user)
        messages.success(
            request,
            f"Asked the workers to pull every stream and to deliver the {pending} waiting messages now.",
        )
        return redirect("council_backoffice")
