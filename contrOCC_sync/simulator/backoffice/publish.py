"""How each record looks on the API and in the change feed: one function per kind, used by both."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .feed import Change
from .http import iso, portal_line_id_out
from .models import (
    Adjustment,
    CarePackageLine,
    ExpenseClaim,
    FeedEntry,
    Invoice,
    Provider,
    ReceivedLine,
    Remittance,
    RemittanceLine,
    ServiceType,
    ServiceUser,
)
from .money import fmt

Stream = FeedEntry.Stream


def service_type_payload(st: ServiceType) -> dict[str, Any]:
    return {
        "code": st.code,
        "name": st.name,
        "unit": st.unit,
        "step": fmt(st.step),
        "allows_extras": st.allows_extras,
        "paid_on": st.paid_on,
        "tolerance_percent": fmt(st.tolerance_percent),
    }


def provider_payload(provider: Provider) -> dict[str, Any]:
    return {
        "ref": provider.ref,
        "name": provider.name,
        "kind": provider.kind,
        "email": provider.email,
        "active": provider.active,
    }


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def service_user_payload(person: ServiceUser) -> dict[str, Any]:
    return {
        "ref": person.ref,
        "name": person.name,
        "date_of_birth": _date(person.date_of_birth),
        "deceased_on": _date(person.deceased_on),
    }


def line_payload(
    line: CarePackageLine, *, provider_ref: str, service_user_ref: str, type_code: str
) -> dict[str, Any]:
    return {
        "ref": line.ref,
        "provider_ref": provider_ref,
        "service_user_ref": service_user_ref,
        "service_type": type_code,
        "planned_per_week": fmt(line.planned_per_week),
        "rate": fmt(line.rate),
        "start_date": line.start_date.isoformat(),
        "end_date": _date(line.end_date),
        "status": line.status,
        "version": line.version,
    }


def service_type_change(st: ServiceType) -> Change:
    return Change(Stream.SERVICE_TYPES, st.code, service_type_payload(st))


def provider_change(provider: Provider) -> Change:
    return Change(Stream.PROVIDERS, provider.ref, provider_payload(provider))


def service_user_change(person: ServiceUser) -> Change:
    return Change(Stream.SERVICE_USERS, person.ref, service_user_payload(person))


def line_change(line: CarePackageLine) -> Change:
    payload = line_payload(
        line,
        provider_ref=line.provider.ref,
        service_user_ref=line.service_user.ref,
        type_code=line.service_type.code,
    )
    return Change(Stream.CARE_PACKAGE_LINES, line.ref, payload)


# Submission events ----------------------------------------------------------------------------------


def actual_line_event(
    line: ReceivedLine, *, at: dt.datetime, provider_ref: str, submission_ref: str
) -> Change:
    return Change(
        Stream.SUBMISSION_EVENTS,
        line.ref,
        {
            "at": iso(at),
            "kind": "actual_line",
            "ref": line.ref,
            "portal_ref": None,
            "portal_line_id": portal_line_id_out(line.portal_line_id),
            "version": line.version,
            "status": line.status,
            "reason": line.reason or None,
            "reason_code": line.reason_code or None,
            "submission_ref": submission_ref,
            "provider_ref": provider_ref,
        },
    )


def item_event(
    item: Invoice | ExpenseClaim | Adjustment, *, kind: str, at: dt.datetime, provider_ref: str
) -> Change:
    return Change(
        Stream.SUBMISSION_EVENTS,
        item.ref,
        {
            "at": iso(at),
            "kind": kind,
            "ref": item.ref,
            "portal_ref": item.portal_ref,
            "portal_line_id": None,
            "version": None,
            "status": item.status,
            "reason": item.reason or None,
            "reason_code": item.reason_code or None,
            "submission_ref": None,
            "provider_ref": provider_ref,
        },
    )


def line_decision(line: ReceivedLine, *, status: str | None = None) -> dict[str, Any]:
    """A line as a submission's answer gives it."""
    return {
        "portal_line_id": portal_line_id_out(line.portal_line_id),
        "version": line.version,
        "status": status or line.status,
        "reason": line.reason or None,
        "reason_code": line.reason_code or None,
    }


# Remittances ----------------------------------------------------------------------------------------


def remittance_line_payload(line: RemittanceLine) -> dict[str, Any]:
    return {
        "source_ref": line.source_ref,
        "kind": line.kind,
        "portal_ref": line.portal_ref or None,
        "portal_line_id": portal_line_id_out(line.portal_line_id) if line.portal_line_id else None,
        "version": line.version,
        "service_user_ref": line.service_user_ref or None,
        "description": line.description,
        "period_start": _date(line.period_start),
        "period_end": _date(line.period_end),
        "quantity": fmt(line.quantity),
        "rate": fmt(line.rate),
        "amount": fmt(line.amount),
    }


def remittance_payload(
    remittance: Remittance, *, provider_ref: str, payment_run_ref: str, lines: list[RemittanceLine]
) -> dict[str, Any]:
    return {
        "ref": remittance.ref,
        "provider_ref": provider_ref,
        "payment_run_ref": payment_run_ref,
        "paid_on": remittance.paid_on.isoformat(),
        "total": fmt(remittance.total),
        "lines": [remittance_line_payload(line) for line in lines],
    }
