"""The API under /api/v1/ (CONTROCC_API.md) and the simulation controls under /sim/. Adapters only:
each parses the request, calls one service and renders its answer. The bearer token is checked by
`middleware.BearerTokenMiddleware` before any of these run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from ..conf import settings
from .feed import DEFAULT_LIMIT, MAX_LIMIT, CursorError, feed_page
from .http import ApiError, api_view, error_response, idempotent, malformed, read_object
from .models import FeedEntry
from .services.actuals import actuals_submission_receive, submission_detail
from .services.charging import charges_for, charging_run_execute, charging_run_payload
from .services.controls import (
    care_package_line_upsert,
    decision_force,
    faults_current,
    faults_payload,
    faults_set,
    ledger,
    provider_upsert,
    service_user_upsert,
    simulator_reset,
)
from .services.items import adjustment_receive, expense_claim_receive, invoice_receive
from .services.payments import payment_run_execute, payment_schedule, run_payload

# Lists: the change feed of each resource ---------------------------------------------------------------


def _feed_view(stream: str) -> Callable[[HttpRequest], HttpResponse]:
    @api_view("GET")
    def view(request: HttpRequest) -> HttpResponse:
        raw_limit = request.GET.get("limit", str(DEFAULT_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise malformed(f"limit must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
        try:
            page = feed_page(stream=stream, since=request.GET.get("since"), limit=int(raw_limit))
        except CursorError:
            raise malformed("since is not a cursor this list handed out.", field="since") from None
        return JsonResponse(
            {"results": page.results, "next_cursor": page.next_cursor, "has_more": page.has_more}
        )

    view.__name__ = f"feed_{stream.replace('-', '_')}"
    return view


service_types = _feed_view(FeedEntry.Stream.SERVICE_TYPES)
providers = _feed_view(FeedEntry.Stream.PROVIDERS)
service_users = _feed_view(FeedEntry.Stream.SERVICE_USERS)
care_package_lines = _feed_view(FeedEntry.Stream.CARE_PACKAGE_LINES)
submission_events = _feed_view(FeedEntry.Stream.SUBMISSION_EVENTS)
remittances = _feed_view(FeedEntry.Stream.REMITTANCES)


# Submissions -------------------------------------------------------------------------------------------


@api_view("POST")
def actuals_submissions(request: HttpRequest) -> HttpResponse:
    return idempotent(request, lambda body: actuals_submission_receive(body=body))


@api_view("GET")
def actuals_submission(request: HttpRequest, ref: str) -> HttpResponse:
    return JsonResponse(submission_detail(ref=ref))


@api_view("POST")
def invoices(request: HttpRequest) -> HttpResponse:
    return idempotent(request, lambda body: invoice_receive(body=body))


@api_view("POST")
def expense_claims(request: HttpRequest) -> HttpResponse:
    return idempotent(request, lambda body: expense_claim_receive(body=body))


@api_view("POST")
def adjustments(request: HttpRequest) -> HttpResponse:
    return idempotent(request, lambda body: adjustment_receive(body=body))


@api_view("GET")
def payment_schedule_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"results": payment_schedule(provider_ref=request.GET.get("provider_ref"))})


@api_view("GET")
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


# Simulation controls -----------------------------------------------------------------------------------


def sim_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A control: a 404 unless BACKOFFICE_SIM_CONTROLS is on (read per request, so tests can flip it)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        wrapped = api_view(*methods)(view)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not settings.BACKOFFICE_SIM_CONTROLS:
                raise Http404
            return wrapped(request, *args, **kwargs)

        guarded.__name__ = view.__name__
        return guarded

    return decorate


@sim_view("POST")
def sim_payment_runs(request: HttpRequest) -> HttpResponse:
    body = read_object(request)
    cutoff = body.get("cutoff", "now")
    if cutoff not in ("now", "deadline"):
        raise malformed('cutoff must be "now" or "deadline".', field="cutoff")
    result = payment_run_execute(cutoff=cutoff)
    assert result is not None
    return JsonResponse(run_payload(result), status=201)


@sim_view("POST")
def sim_charging_runs(request: HttpRequest) -> HttpResponse:
    body = read_object(request)
    period_start = None
    if body.get("period_start"):
        try:
            period_start = dt.date.fromisoformat(body["period_start"])
        except (TypeError, ValueError):
            raise malformed("period_start must be a date as YYYY-MM-DD.", field="period_start") from None
    run, created = charging_run_execute(period_start=period_start)
    return JsonResponse(charging_run_payload(run) | {"created": created}, status=201 if created else 200)


@sim_view("GET")
def sim_charges(request: HttpRequest) -> HttpResponse:
    try:
        period_start = dt.date.fromisoformat(request.GET.get("period_start", ""))
    except ValueError:
        raise malformed("period_start must be a date as YYYY-MM-DD.", field="period_start") from None
    return JsonResponse(charges_for(period_start=period_start))


@sim_view("POST")
def sim_decisions(request: HttpRequest) -> HttpResponse:
    return JsonResponse(decision_force(body=read_object(request)), status=201)


def _upsert(service: Callable[..., tuple[dict[str, Any], bool]], request: HttpRequest) -> HttpResponse:
    payload, created = service(body=read_object(request))
    return JsonResponse(payload, status=201 if created else 200)


@sim_view("POST")
def sim_care_package_lines(request: HttpRequest) -> HttpResponse:
    return _upsert(care_package_line_upsert, request)


@sim_view("POST")
def sim_providers(request: HttpRequest) -> HttpResponse:
    return _upsert(provider_upsert, request)


@sim_view("POST")
def sim_service_users(request: HttpRequest) -> HttpResponse:
    return _upsert(service_user_upsert, request)


@sim_view("GET", "POST")
def sim_faults(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(faults_payload(faults_current()))
    return JsonResponse(faults_set(body=read_object(request)))


@sim_view("GET")
def sim_ledger(request: HttpRequest) -> HttpResponse:
    return JsonResponse(ledger())


@sim_view("POST")
def sim_reset(request: HttpRequest) -> HttpResponse:
    if settings.PRODUCTION:
        raise ApiError(403, "forbidden", "Reset is for tests and the demo only.")
    simulator_reset()
    return JsonResponse({"status": "empty"})


# Errors outside any view ---------------------------------------------------------------------------------


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(404, "not_found", "Nothing here.")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(500, "server_error", "The back office failed; try again later.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(400, "malformed", "The request is malformed.")
