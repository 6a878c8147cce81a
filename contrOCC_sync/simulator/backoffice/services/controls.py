"""What /sim/* does: brokerage's changes to care data, forced decisions, faults, the ledger, reset."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum

from ..feed import feed_append
from ..http import (
    ApiError,
    date,
    decimal,
    field,
    malformed,
    portal_line_id,
    portal_line_id_out,
    positive_int,
    text,
)
from ..models import (
    Adjustment,
    CarePackageLine,
    Charge,
    ChargeLine,
    ChargingRun,
    ExpenseClaim,
    FaultSettings,
    FeedEntry,
    ForcedDecision,
    IdempotencyRecord,
    Invoice,
    PaymentRun,
    PortalLine,
    Provider,
    ReceivedLine,
    Remittance,
    RemittanceLine,
    ServiceType,
    ServiceUser,
    Submission,
)
from ..money import fmt
from ..publish import (
    line_change,
    line_payload,
    provider_change,
    provider_payload,
    service_user_change,
    service_user_payload,
)

# Care data, as brokerage changes it ------------------------------------------------------------------


def _choice(body: dict[str, Any], name: str, choices: list[str], *, required: bool) -> str | None:
    value = field(body, name, required=required)
    if value is not None and value not in choices:
        raise malformed(f"{name} must be one of {', '.join(choices)}.", field=name)
    return value


def care_package_line_upsert(*, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create a line (a new package) or change one (an end date, a rate uplift, a suspension): each
    change bumps its version and publishes it. Returns (the line, created)."""
    ref = text(body, "ref", required=False, max_length=32)
    with transaction.atomic():
        line = CarePackageLine.objects.select_for_update().filter(ref=ref).first() if ref else None
        created = line is None
        if line is None:
            provider = Provider.objects.filter(ref=text(body, "provider_ref", max_length=32)).first()
            person = ServiceUser.objects.filter(ref=text(body, "service_user_ref", max_length=32)).first()
            service_type = ServiceType.objects.filter(code=text(body, "service_type", max_length=32)).first()
            if provider is None or person is None or service_type is None:
                raise ApiError(
                    422, "unknown_reference", "The provider, service user or service type is unknown."
                )
            start_date = date(body, "start_date")
            assert start_date is not None
            line = CarePackageLine(
                ref=ref,
                provider=provider,
                service_user=person,
                service_type=service_type,
                planned_per_week=decimal(body, "planned_per_week"),
                rate=decimal(body, "rate"),
                start_date=start_date,
                end_date=date(body, "end_date", required=False),
                status=_choice(body, "status", list(CarePackageLine.Status), required=False) or "active",
            )
        else:
            for name in ("planned_per_week", "rate"):
                if name in body:
                    setattr(line, name, decimal(body, name))
            if "start_date" in body:
                line.start_date = date(body, "start_date") or line.start_date
            if "end_date" in body:
                line.end_date = date(body, "end_date", required=False)
            if "status" in body:
                line.status = (
                    _choice(body, "status", list(CarePackageLine.Status), required=True) or line.status
                )
            line.version += 1
        if line.rate <= 0:
            raise malformed("rate must be more than 0.00.", field="rate")
        if line.end_date is not None and line.end_date < line.start_date:
            raise malformed("end_date is before start_date.", field="end_date")
        line.save()
        if not line.ref:
            line.ref = f"CPL{9_000_000 + line.pk:07d}"  # out of the seeder's range
            line.save(update_fields=["ref"])
        line = CarePackageLine.objects.select_related("provider", "service_user", "service_type").get(
            pk=line.pk
        )
        feed_append([line_change(line)])
    return line_payload(
        line,
        provider_ref=line.provider.ref,
        service_user_ref=line.service_user.ref,
        type_code=line.service_type.code,
    ), created


def provider_upsert(*, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    ref = text(body, "ref", max_length=32)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(ref=ref).first()
        created = provider is None
        if provider is None:
            provider = Provider(
                ref=ref,
                name=text(body, "name"),
                kind=_choice(body, "kind", list(Provider.Kind), required=True),
            )
        for name in ("name", "email"):
            if name in body:
                setattr(provider, name, text(body, name, required=name == "name", max_length=254))
        if "kind" in body:
            provider.kind = _choice(body, "kind", list(Provider.Kind), required=True) or provider.kind
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise malformed("active must be true or false.", field="active")
            provider.active = body["active"]
        provider.save()
        feed_append([provider_change(provider)])
    return provider_payload(provider), created


def service_user_upsert(*, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    ref = text(body, "ref", max_length=32)
    with transaction.atomic():
        person = ServiceUser.objects.select_for_update().filter(ref=ref).first()
        created = person is None
        if person is None:
            person = ServiceUser(ref=ref, name=text(body, "name"))
        if "name" in body:
            person.name = text(body, "name")
        if "date_of_birth" in body:
            person.date_of_birth = date(body, "date_of_birth", required=False)
        if "deceased_on" in body:
            person.deceased_on = date(body, "deceased_on", required=False)
        if "weekly_contribution" in body:
            person.weekly_contribution = decimal(body, "weekly_contribution")
        person.save()
        feed_append([service_user_change(person)])
    return service_user_payload(person) | {"weekly_contribution": fmt(person.weekly_contribution)}, created


# Forced decisions and faults ---------------------------------------------------------------------------


def decision_force(*, body: dict[str, Any]) -> dict[str, Any]:
    kind = _choice(body, "kind", list(ForcedDecision.Kind), required=True)
    decision = _choice(body, "decision", ["accept", "reject"], required=True)
    if kind == ForcedDecision.Kind.ACTUAL_LINE:
        target = f"{portal_line_id(body)}:{positive_int(body, 'version')}"
    else:
        target = text(body, "portal_ref", max_length=64)
    reason = text(body, "reason", required=False, max_length=2000)
    ForcedDecision.objects.update_or_create(
        kind=kind, target=target, defaults={"decision": decision, "reason": reason}
    )
    return {"kind": kind, "target": target, "decision": decision, "reason": reason or None}


FAULT_RATES = ("error_rate", "timeout_rate", "drop_after_commit_rate", "throttle_rate")


def faults_current() -> FaultSettings:
    return FaultSettings.objects.filter(pk=1).first() or FaultSettings(pk=1)


def faults_payload(faults: FaultSettings) -> dict[str, Any]:
    return {
        "error_rate": faults.error_rate,
        "timeout_rate": faults.timeout_rate,
        "latency_ms": faults.latency_ms,
        "drop_after_commit_rate": faults.drop_after_commit_rate,
        "throttle_rate": faults.throttle_rate,
        "hang_seconds": faults.hang_seconds,
    }


def faults_set(*, body: dict[str, Any]) -> dict[str, Any]:
    """Set the shares of API requests that fail; fields left out are reset to none (0)."""
    faults = FaultSettings(pk=1)
    for name in FAULT_RATES:
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not 0 <= value <= 1:
            raise malformed(f"{name} must be a number from 0 to 1.", field=name)
        setattr(faults, name, float(value))
    if sum(getattr(faults, name) for name in FAULT_RATES) > 1:
        raise malformed("The rates add up to more than 1.")
    latency = body.get("latency_ms", 0)
    if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 600_000:
        raise malformed("latency_ms must be a whole number of milliseconds.", field="latency_ms")
    faults.latency_ms = latency
    hang = body.get("hang_seconds", 30)
    if isinstance(hang, bool) or not isinstance(hang, int | float | Decimal) or not 0 < hang <= 3600:
        raise malformed("hang_seconds must be a number of seconds, at most 3600.", field="hang_seconds")
    faults.hang_seconds = float(hang)
    faults.save()
    return faults_payload(faults)


# The ledger: the truth for "nothing lost, nothing twice" -----------------------------------------------


def ledger() -> dict[str, Any]:
    actual_lines = []
    recorded = {
        (row["portal_line_id"], row["version"]): row["n"]
        for row in ReceivedLine.objects.values("portal_line_id", "version").annotate(n=Count("pk"))
    }
    for line in ReceivedLine.objects.order_by("portal_line_id", "version").iterator(chunk_size=2000):
        actual_lines.append(
            {
                "portal_line_id": portal_line_id_out(line.portal_line_id),
                "version": line.version,
                "ref": line.ref,
                "recorded": recorded[(line.portal_line_id, line.version)],
                "receipts": line.receipts,
                "status": line.status,
                "first_status": line.first_status,
                "reason_code": line.reason_code or None,
                "amount": fmt(line.amount),
                "computed_amount": fmt(line.computed_amount),
            }
        )
    paid = defaultdict(lambda: Decimal(0))
    for row in (
        RemittanceLine.objects.filter(kind=RemittanceLine.Kind.ACTUAL_LINE)
        .values("portal_line_id")
        .annotate(total=Sum("amount"))
    ):
        paid[row["portal_line_id"]] = row["total"]
    items: dict[str, list[dict[str, Any]]] = {}
    paid_by_portal_ref: dict[str, str] = {}
    for name, model, kind in (
        ("invoices", Invoice, RemittanceLine.Kind.INVOICE),
        ("expense_claims", ExpenseClaim, RemittanceLine.Kind.EXPENSE_CLAIM),
        ("adjustments", Adjustment, RemittanceLine.Kind.ADJUSTMENT),
    ):
        counts = dict(model.objects.values_list("portal_ref").annotate(n=Count("pk")))
        items[name] = [
            {
                "portal_ref": item.portal_ref,
                "ref": item.ref,
                "recorded": counts[item.portal_ref],
                "receipts": item.receipts,
                "status": item.status,
                "first_status": item.first_status,
                "reason_code": item.reason_code or None,
                "amount": fmt(item.amount),
            }
            for item in model.objects.order_by("portal_ref")
        ]
        for portal_ref, total in (
            RemittanceLine.objects.filter(kind=kind).values_list("portal_ref").annotate(total=Sum("amount"))
        ):
            paid_by_portal_ref[portal_ref] = fmt(total) or "0.00"
    by_status: dict[str, int] = dict(ReceivedLine.objects.values_list("status").annotate(n=Count("pk")))
    return {
        "actual_lines": actual_lines,
        **items,
        "paid_by_portal_line_id": {pid: fmt(total) for pid, total in sorted(paid.items())},
        "paid_by_portal_ref": paid_by_portal_ref,
        "counts": {
            "submissions": Submission.objects.count(),
            "actual_lines": len(actual_lines),
            "actual_line_receipts": sum(line["receipts"] for line in actual_lines),
            "actual_lines_by_status": by_status,
            "invoices": len(items["invoices"]),
            "expense_claims": len(items["expense_claims"]),
            "adjustments": len(items["adjustments"]),
            "payment_runs": PaymentRun.objects.count(),
            "remittances": Remittance.objects.count(),
        },
    }


def simulator_reset() -> None:
    """Empty every table. Ids are not reused (the feed's cursors stay valid: they just see new changes)."""
    with transaction.atomic():
        for model in (
            ChargeLine, Charge, ChargingRun, RemittanceLine, Remittance, PaymentRun, ReceivedLine, Submission,
            PortalLine, Invoice, ExpenseClaim, Adjustment, ForcedDecision, FaultSettings, IdempotencyRecord,
            FeedEntry, CarePackageLine, ServiceUser, Provider, ServiceType,
        ):  # fmt: skip
            model.objects.all().delete()
