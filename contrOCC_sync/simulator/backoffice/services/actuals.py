"""Receiving actuals: each line version recorded once, decided at receipt, published as an event.

Rules (CONTROCC_API.md, "Submissions"):
- ACT-R1 a (portal_line_id, version) already received is answered as before (its first status); nothing new
  is recorded.
- ACT-R2 a version lower than the highest received for that line is recorded as superseded, never paid.
- ACT-R3 a new highest version supersedes every lower version not yet paid (whatever their decision);
  the next payment run pays or recovers the difference against what was already paid for the line.
- ACT-R4 a new highest version is decided: a forced decision (/sim/decisions) if there is one; else
  rejected when its care package line is unknown, another provider's, ended before the week, not started
  by the end of the week, paid on invoice, claims extras its service type does not allow, or its amount
  is not the back office's own computation; otherwise accepted.
These make the outcome independent of the order versions arrive in (while none has been paid).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ... import clock
from ..feed import Change, feed_append
from ..http import (
    Answer,
    ApiError,
    date,
    decimal,
    malformed,
    moment,
    portal_line_id,
    positive_int,
    text,
)
from ..models import (
    CarePackageLine,
    ForcedDecision,
    ItemStatus,
    PortalLine,
    Provider,
    ReceivedLine,
    ServiceType,
    Submission,
    parse_ref,
)
from ..money import fmt, round_money
from ..publish import actual_line_event, line_decision
from ..weeks import planned_for_week

MAX_LINES = 5000
UNPAID = (ItemStatus.RECEIVED, ItemStatus.ACCEPTED, ItemStatus.REJECTED)


@dataclass
class LineIn:
    portal_line_id: str
    version: int
    care_package_line_ref: str
    planned: Decimal
    delivered: Decimal
    frustrated: Decimal
    missed: Decimal
    extra: Decimal
    adjustment_form_ref: str
    comment: str
    amount: Decimal


def _parse_line(raw: Any, index: int) -> LineIn:
    if not isinstance(raw, dict):
        raise malformed(f"lines[{index}] must be an object.")
    try:
        return LineIn(
            portal_line_id=portal_line_id(raw),
            version=positive_int(raw, "version"),
            care_package_line_ref=text(raw, "care_package_line_ref", max_length=32),
            planned=decimal(raw, "planned", required=False),
            delivered=decimal(raw, "delivered"),
            frustrated=decimal(raw, "frustrated", required=False),
            missed=decimal(raw, "missed", required=False),
            extra=decimal(raw, "extra", required=False),
            adjustment_form_ref=text(raw, "adjustment_form_ref", required=False, max_length=64),
            comment=text(raw, "comment", required=False, max_length=5000),
            amount=decimal(raw, "amount"),
        )
    except ApiError as exc:
        exc.details = {"line": index, **exc.details}
        raise


# The back office's own computation ------------------------------------------------------------------


def paid_quantity(
    *, line: CarePackageLine, service_type: ServiceType, week_start: dt.date, item: LineIn
) -> Decimal:
    """DOMAIN.md "What is paid": actuals pay delivered + frustrated (+ extra with an adjustment form
    reference, where allowed); plan pays the week's plan (+ the same extra); missed is never paid."""
    extra = (
        item.extra if item.extra and service_type.allows_extras and item.adjustment_form_ref.strip() else 0
    )
    if service_type.paid_on == ServiceType.PaidOn.PLAN:
        planned = planned_for_week(
            planned_per_week=line.planned_per_week,
            step=service_type.step,
            start_date=line.start_date,
            end_date=line.end_date,
            week_start=week_start,
        )
        return planned + extra
    return item.delivered + item.frustrated + extra


@dataclass
class Decision:
    status: str
    reason_code: str = ""
    reason: str = ""


def _decide(
    *,
    item: LineIn,
    line: CarePackageLine | None,
    provider: Provider,
    week_start: dt.date,
    computed: Decimal | None,
    forced: ForcedDecision | None,
) -> Decision:
    if forced is not None:
        if forced.decision == "accept":
            return Decision(ItemStatus.ACCEPTED)
        return Decision(ItemStatus.REJECTED, "forced", forced.reason or "Rejected by the simulator.")
    ref = item.care_package_line_ref
    if line is None:
        return Decision(
            ItemStatus.REJECTED,
            "unknown_care_package_line",
            f"The back office has no care package line {ref}.",
        )
    if line.provider_id != provider.pk:
        return Decision(
            ItemStatus.REJECTED, "other_provider", f"Care package line {ref} belongs to another provider."
        )
    week_end = week_start + dt.timedelta(days=6)
    if line.end_date is not None and line.end_date < week_start:
        return Decision(
            ItemStatus.REJECTED,
            "line_ended",
            f"Care package line {ref} ended on {line.end_date}, before the week of {week_start}.",
        )
    if line.start_date > week_end:
        return Decision(
            ItemStatus.REJECTED,
            "line_not_started",
            f"Care package line {ref} starts on {line.start_date}, after the week of {week_start}.",
        )
    service_type = line.service_type
    if service_type.paid_on == ServiceType.PaidOn.INVOICE:
        return Decision(
            ItemStatus.REJECTED, "paid_on_invoice", f"{service_type.name} is paid on invoice, not on actuals."
        )
    if item.extra and not service_type.allows_extras:
        return Decision(
            ItemStatus.REJECTED, "extras_not_allowed", f"{service_type.name} does not allow extras."
        )
    if computed is not None and item.amount != computed:
        return Decision(
            ItemStatus.REJECTED,
            "amount_mismatch",
            f"The back office computes {fmt(computed)}, not {fmt(item.amount)} "
            f"(rate {fmt(line.rate)} per {service_type.unit[:-1] if service_type.unit.endswith('s') else service_type.unit}).",
        )
    return Decision(ItemStatus.ACCEPTED)


# Receiving ----------------------------------------------------------------------------------------


def actuals_submission_receive(*, body: dict[str, Any]) -> Answer:
    """Record a submission and decide each line (inside the caller's transaction)."""
    provider_ref = text(body, "provider_ref", max_length=32)
    week_start = date(body, "week_start")
    assert week_start is not None
    if week_start.weekday() != 0:
        raise malformed("week_start must be a Monday.", field="week_start")
    confirmed_at = moment(body, "confirmed_at", required=False)
    confirmed_by = text(body, "confirmed_by", required=False)
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list):
        raise malformed("lines must be a list.", field="lines")
    if len(raw_lines) > MAX_LINES:
        raise malformed(f"At most {MAX_LINES} lines in one submission.", field="lines")
    items = [_parse_line(raw, index) for index, raw in enumerate(raw_lines)]
    keys = [(item.portal_line_id, item.version) for item in items]
    if len(set(keys)) != len(keys):
        raise malformed("A line version appears twice in the submission.", field="lines")

    provider = Provider.objects.filter(ref=provider_ref).first()
    if provider is None:
        raise ApiError(422, "unknown_provider", f"The back office has no provider {provider_ref}.")

    now = clock.now()
    submission = Submission.objects.create(
        provider=provider,
        week_start=week_start,
        confirmed_at=confirmed_at,
        confirmed_by=confirmed_by,
        received_at=now,
    )
    ids = sorted({item.portal_line_id for item in items})
    # One row per portal line is the lock every receipt of that line (and the payment run) takes, in
    # key order, so versions of a line arriving at once are decided one after the other.
    PortalLine.objects.bulk_create([PortalLine(portal_line_id=i) for i in ids], ignore_conflicts=True)
    portal_lines = {
        pl.portal_line_id: pl
        for pl in PortalLine.objects.select_for_update()
        .filter(portal_line_id__in=ids)
        .order_by("portal_line_id")
    }
    received: dict[str, list[ReceivedLine]] = {}
    for row in ReceivedLine.objects.select_for_update().filter(portal_line_id__in=ids).order_by("pk"):
        received.setdefault(row.portal_line_id, []).append(row)
    lines_by_ref = {
        line.ref: line
        for line in CarePackageLine.objects.select_related("service_type", "service_user").filter(
            ref__in={item.care_package_line_ref for item in items}
        )
    }
    forced = {
        fd.target: fd
        for fd in ForcedDecision.objects.filter(
            kind=ForcedDecision.Kind.ACTUAL_LINE, target__in=[f"{i}:{v}" for i, v in keys]
        )
    }

    answers: dict[tuple[str, int], dict[str, Any]] = {}
    new_lines: list[ReceivedLine] = []
    changed: dict[int, ReceivedLine] = {}  # existing rows whose status or receipts changed
    status_changes: list[tuple[ReceivedLine, str, str, str]] = []  # (line, status, reason, code) to publish
    for item in sorted(items, key=lambda i: (i.portal_line_id, i.version)):
        key = (item.portal_line_id, item.version)
        history = received.setdefault(item.portal_line_id, [])
        repeat = next((row for row in history if row.version == item.version), None)
        if repeat is not None:  # ACT-R1
            repeat.receipts += 1
            if repeat.pk:
                changed[repeat.pk] = repeat
            answers[key] = line_decision(repeat, status=repeat.first_status) | {"duplicate": True}
            continue
        line = lines_by_ref.get(item.care_package_line_ref)
        quantity = computed = rate = None
        if line is not None:
            quantity = paid_quantity(
                line=line, service_type=line.service_type, week_start=week_start, item=item
            )
            rate = line.rate
            computed = round_money(quantity * rate)
        portal_line = portal_lines[item.portal_line_id]
        if item.version < portal_line.latest_version:  # ACT-R2
            decision = Decision(
                ItemStatus.SUPERSEDED,
                "superseded",
                f"Version {portal_line.latest_version} of this line was received first; this version is never paid.",
            )
        else:
            decision = _decide(
                item=item,
                line=line,
                provider=provider,
                week_start=week_start,
                computed=computed,
                forced=forced.get(f"{item.portal_line_id}:{item.version}"),
            )
            if decision.status == ItemStatus.ACCEPTED and computed is None:
                computed = item.amount  # forced acceptance of a line the back office does not know
            for older in history:  # ACT-R3
                if older.status in UNPAID:
                    older.status = ItemStatus.SUPERSEDED
                    older.reason_code = "superseded"
                    older.reason = f"Superseded by version {item.version}."
                    if older.pk:
                        changed[older.pk] = older
                    status_changes.append((older, older.status, older.reason, older.reason_code))
            portal_line.latest_version = item.version
        new = ReceivedLine(
            submission=submission,
            provider=provider,
            portal_line_id=item.portal_line_id,
            version=item.version,
            care_package_line_ref=item.care_package_line_ref,
            care_package_line=line,
            week_start=week_start,
            planned=item.planned,
            delivered=item.delivered,
            frustrated=item.frustrated,
            missed=item.missed,
            extra=item.extra,
            adjustment_form_ref=item.adjustment_form_ref,
            comment=item.comment,
            amount=item.amount,
            paid_quantity=quantity,
            rate=rate,
            computed_amount=computed,
            status=decision.status,
            first_status=decision.status,
            reason=decision.reason,
            reason_code=decision.reason_code,
            received_at=now,
        )
        history.append(new)
        new_lines.append(new)
        status_changes.append((new, new.status, new.reason, new.reason_code))

    ReceivedLine.objects.bulk_create(new_lines, batch_size=500)
    ReceivedLine.objects.bulk_update(
        list(changed.values()), ["status", "reason", "reason_code", "receipts"], batch_size=500
    )
    PortalLine.objects.bulk_update(list(portal_lines.values()), ["latest_version"], batch_size=500)
    for new in new_lines:
        answers[(new.portal_line_id, new.version)] = line_decision(new)

    events: list[Change] = []
    for row, status, reason, code in status_changes:
        row_submission_ref = (
            submission.ref if row.submission_id == submission.pk else f"SUB{row.submission_id:07d}"
        )
        event = actual_line_event(row, at=now, provider_ref=provider.ref, submission_ref=row_submission_ref)
        event.payload.update(status=status, reason=reason or None, reason_code=code or None)
        events.append(event)
    feed_append(events)
    return 201, {
        "ref": submission.ref,
        "status": ItemStatus.RECEIVED,
        "lines": [answers[key] for key in keys],
    }


# Reading --------------------------------------------------------------------------------------------


def submission_status(statuses: list[str]) -> str:
    """A submission's status from its lines' (CONTROCC_API.md: received, accepted, part_rejected,
    rejected, paid). Superseded lines count as settled; a submission of superseded lines only is accepted."""
    live = [s for s in statuses if s != ItemStatus.SUPERSEDED]
    if not live:
        return ItemStatus.ACCEPTED if statuses else ItemStatus.RECEIVED
    if all(s == ItemStatus.PAID for s in live):
        return ItemStatus.PAID
    if all(s == ItemStatus.REJECTED for s in live):
        return ItemStatus.REJECTED
    if any(s == ItemStatus.REJECTED for s in live):
        return "part_rejected"
    if any(s == ItemStatus.RECEIVED for s in live):
        return ItemStatus.RECEIVED
    return ItemStatus.ACCEPTED


def submission_detail(*, ref: str) -> dict[str, Any]:
    pk = parse_ref("SUB", ref)
    submission = Submission.objects.select_related("provider").filter(pk=pk).first() if pk else None
    if submission is None:
        raise ApiError(404, "not_found", f"The back office has no submission {ref}.")
    lines = list(submission.lines.order_by("pk"))
    return {
        "ref": submission.ref,
        "provider_ref": submission.provider.ref,
        "week_start": submission.week_start.isoformat(),
        "status": submission_status([line.status for line in lines]),
        "lines": [line_decision(line) for line in lines],
    }
