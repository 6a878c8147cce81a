"""The shared kernel's pages: home, health check, accessibility statement, error pages."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from kombu import Connection

from actuals import calendar
from actuals.selectors import (
    checklist,
    open_earlier_weeks,
    time_left,
    week_summary,
    weeks_with_care_on_actuals,
)
from contrOCC_sync.services import backoffice_up
from portal import permissions
from portal.access import portal_request
from portal.content.selectors import notices_unread
from reports.dashboards import finance_dashboard, provider_dashboard

logger = logging.getLogger(__name__)


class HomeView(TemplateView):
    """Where everyone lands after signing in; what it offers follows the user's permissions. A provider
    user's home page is the checklist for the week due, and the earlier weeks still open; a provider with
    nothing to record that week (its care all paid on invoice, a fostering agency's) is told so instead.
    Above it, a banner for each notice of change from the council that this user has not dismissed; below
    it, a small panel of what the provider was paid. Council staff get their dashboard (reports app)."""

    template_name = "portal/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = portal_request(self.request)
        if request.provider is not None and permissions.READ_NOTICES in request.portal_perms:
            context["notices"] = notices_unread(provider=request.provider, user=request.user)
        if request.provider is not None and permissions.VIEW_OWN_ACTUALS in request.portal_perms:
            provider, closed = request.provider, calendar.closure_days()
            due = week_summary(provider=provider, week_start=calendar.week_due(closed=closed), closed=closed)
            context.update(
                due=due,
                open_weeks=open_earlier_weeks(provider=provider, before=due.week_start, closed=closed),
            )
            if due.lines or weeks_with_care_on_actuals(provider=provider, week_starts=[due.week_start]):
                context.update(checklist=checklist(due), time_left=time_left(due.deadline))
        if request.provider is not None and permissions.VIEW_OWN_REPORTS in request.portal_perms:
            context["paid_panel"] = provider_dashboard(provider=request.provider)
        if request.provider is None and request.user.is_council_staff:
            context["dashboard"] = finance_dashboard(user=request.user, granted=request.portal_perms)
        return context


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of what the portal depends on: 200 when all are up, 503 otherwise. Nothing sensitive."""
    checks = {"database": _database_up(), "broker": _broker_up(), "backoffice": _backoffice_up()}
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "down",
            "checks": {name: "up" if up else "down" for name, up in checks.items()},
        },
        status=200 if healthy else 503,
    )


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database down")
        return False


def _backoffice_up() -> bool:
    """From the heartbeat a beat task records: a web request never calls the back office."""
    try:
        return backoffice_up()
    except Exception:
        logger.exception("health check: cannot read the back-office heartbeat")
        return False


def _broker_up() -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            conn.default_channel  # noqa: B018  (opens a channel: the broker really answered)
        return True
    except Exception:
        logger.exception("health check: broker down")
        return False


@login_not_required
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accessibility.html")


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)
