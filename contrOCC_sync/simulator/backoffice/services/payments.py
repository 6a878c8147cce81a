"""Payment runs, remittances and the payment schedule.

- PAY-R1 a run pays every accepted, unpaid actual line received before its cut-off: for the weekly
  (scheduled) run, the latest weekly deadline (Tuesday 17:00 London) at or before the run; what came
  later waits for the next run. Invoices, expense claims and adjustments: received before the run starts.
- PAY-R2 an actual line version pays its computed amount less what was already paid for the same
  portal line (a correction pays the difference, or recovers it when negative).
- PAY-R3 one remittance per provider per run; its total is the sum of its lines.
- PAY-R4 one scheduled run per week (`week_of` is unique), whatever the scheduler does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Subquery

from ... import clock
from ...clock import LONDON
from ..feed import Change, feed_append
from ..http import iso, portal_line_id_out
from ..models import (
    Adjustment,
    ExpenseClaim,
    FeedEntry,
    Invoice,
    ItemStatus,
    PaymentRun,
    PortalLine,
    Provider,
    ReceivedLine,
    Remittance,
    RemittanceLine,
)
from ..money import fmt
from ..publish import actual_line_event, item_event, remittance_payload
from ..weeks import latest_deadline, scheduled_run_moment, week_start_of

Kind = RemittanceLine.Kind


@dataclass
class _Due:
    """What a run would pay one provider."""

    lines: list[RemittanceLine] = field(default_factory=list)
    actuals: list[ReceivedLine] = field(default_factory=list)
    items: list[tuple[str, Invoice | ExpenseClaim | Adjustment]] = field(default_factory=list)


def _unit_name(unit: str, quantity: Decimal) -> str:
    return unit[:-1] if quantity == 1 and unit.endswith("s") else unit


def _collect(*, cutoff: dt.datetime, started: dt.datetime, lock: bool) -> dict[int, _Due]:
    """Everything payable, as unsaved remittance lines grouped by provider id."""
    accepted = ReceivedLine.objects.filter(status=ItemStatus.ACCEPTED, received_at__lt=cutoff)
    paid_before: dict[str, Decimal] = {}
    portal_lines = PortalLine.objects.filter(portal_line_id__in=Subquery(accepted.values("portal_line_id")))
    if lock:  # the same order as a receipt: portal lines first, then their received lines
        portal_lines = portal_lines.select_for_update().order_by("portal_line_id")
        accepted = accepted.select_for_update(of=("self",))
    for portal_line in portal_lines:
        paid_before[portal_line.portal_line_id] = portal_line.paid_total
    due: dict[int, _Due] = defaultdict(_Due)
    rows = accepted.select_related("care_package_line__service_type", "care_package_line__service_user")
    for line in rows.order_by("week_start", "portal_line_id", "version"):
        cpl = line.care_package_line
        amount = (line.computed_amount or Decimal(0)) - paid_before.get(line.portal_line_id, Decimal(0))
        unit = cpl.service_type.unit if cpl else "units"
        quantity = line.paid_quantity if line.paid_quantity is not None else Decimal(0)
        name = cpl.service_type.name if cpl else "Care"
        description = (
            f"{name}, week of {line.week_start:%d %b %Y}: {fmt(quantity)} {_unit_name(unit, quantity)}"
        )
        if paid_before.get(line.portal_line_id):
            description += f" (version {line.version}: difference from {fmt(paid_before[line.portal_line_id])} paid before)"
        due[line.provider_id].actuals.append(line)
        due[line.provider_id].lines.append(
            RemittanceLine(
                kind=Kind.ACTUAL_LINE,
                source_ref=line.ref,
                portal_line_id=line.portal_line_id,
                version=line.version,
                service_user_ref=cpl.service_user.ref if cpl else "",
                description=description,
                period_start=line.week_start,
                period_end=line.week_start + dt.timedelta(days=6),
                quantity=quantity,
                rate=line.rate or Decimal(0),
                amount=amount,
            )
        )
    for model, kind in (
        (Invoice, Kind.INVOICE),
        (ExpenseClaim, Kind.EXPENSE_CLAIM),
        (Adjustment, Kind.ADJUSTMENT),
    ):
        items = model.objects.filter(status=ItemStatus.ACCEPTED, received_at__lt=started)
        if lock:
            items = items.select_for_update()
        for item in items.order_by("pk"):
            due[item.provider_id].items.append((kind, item))
            due[item.provider_id].lines += _item_lines(kind, item)
    return due


def _item_lines(kind: str, item: Invoice | ExpenseClaim | Adjustment) -> list[RemittanceLine]:
    common = {"kind": kind, "source_ref": item.ref, "portal_ref": item.portal_ref}
    if isinstance(item, Invoice):
        return [
            RemittanceLine(
                **common,
                service_user_ref=item.service_user_ref,
                description=line["description"] or f"Invoice {item.provider_invoice_number or item.ref}",
                period_start=item.period_start,
                period_end=item.period_end,
                quantity=Decimal(line["quantity"]),
                rate=Decimal(line["rate"]),
                amount=Decimal(line["amount"]),
            )
            for line in item.lines
        ]
    if isinstance(item, ExpenseClaim):
        return [
            RemittanceLine(
                **common,
                service_user_ref=item.service_user_ref,
                description=f"Expense claim: {item.category}"
                + (f", {item.description}" if item.description else ""),
                period_start=item.incurred_on,
                period_end=item.incurred_on,
                quantity=Decimal(1),
                rate=item.amount,
                amount=item.amount,
            )
        ]
    description = "Adjustment" + (f" (dispute {item.dispute_ref})" if item.dispute_ref else "")
    description += f": {item.reason_text}" if item.reason_text else ""
    return [
        RemittanceLine(
            **common, description=description, quantity=Decimal(1), rate=item.amount, amount=item.amount
        )
    ]


@dataclass(frozen=True)
class RunResult:
    run: PaymentRun
    remittances: list[dict[str, Any]]


def payment_run_execute(*, cutoff: str = "now", week_of: dt.date | None = None) -> RunResult | None:
    """Run a payment run now. `cutoff` "deadline" applies PAY-R1's weekly cut-off to actual lines, "now"
    pays everything accepted so far. With `week_of` it is that week's scheduled run: None if it ran."""
    with transaction.atomic():
        started = clock.now()
        cutoff_at = latest_deadline(started) if cutoff == "deadline" else started
        kind = PaymentRun.Kind.SCHEDULED if week_of else PaymentRun.Kind.MANUAL
        try:
            with transaction.atomic():
                run = PaymentRun.objects.create(
                    kind=kind, week_of=week_of, started_at=started, cutoff=cutoff_at
                )
        except IntegrityError:
            return None  # PAY-R4: this week's scheduled run already happened
        due = _collect(cutoff=cutoff_at, started=started, lock=True)
        providers = Provider.objects.in_bulk(list(due))
        paid_on = started.astimezone(LONDON).date()
        remittances = {
            provider_id: Remittance(
                payment_run=run,
                provider_id=provider_id,
                paid_on=paid_on,
                total=sum((line.amount for line in item.lines), Decimal(0)),
            )
            for provider_id, item in sorted(due.items())
        }
        Remittance.objects.bulk_create(list(remittances.values()))
        all_lines: list[RemittanceLine] = []
        for provider_id, item in due.items():
            for position, remittance_line in enumerate(item.lines, start=1):
                remittance_line.remittance = remittances[provider_id]
                remittance_line.position = position
                all_lines.append(remittance_line)
        RemittanceLine.objects.bulk_create(all_lines, batch_size=500)

        # Mark what was paid, and what each portal line has now been paid in all.
        events: list[Change] = []
        paid_lines = [line for item in due.values() for line in item.actuals]
        for line in paid_lines:
            line.status = ItemStatus.PAID
        ReceivedLine.objects.bulk_update(paid_lines, ["status"], batch_size=500)
        totals = {line.portal_line_id: line.computed_amount or Decimal(0) for line in paid_lines}
        portal_lines = list(PortalLine.objects.filter(portal_line_id__in=list(totals)))
        for portal_line in portal_lines:
            portal_line.paid_total = totals[portal_line.portal_line_id]
        PortalLine.objects.bulk_update(portal_lines, ["paid_total"], batch_size=500)
        for provider_id, item in due.items():
            provider_ref = providers[provider_id].ref
            for line in item.actuals:
                events.append(
                    actual_line_event(
                        line,
                        at=started,
                        provider_ref=provider_ref,
                        submission_ref=f"SUB{line.submission_id:07d}",
                    )
                )
            for kind_name, paid in item.items:
                paid.status = ItemStatus.PAID
                paid.save(update_fields=["status"])
                events.append(item_event(paid, kind=kind_name, at=started, provider_ref=provider_ref))
        summaries = []
        for provider_id, remittance in remittances.items():
            payload = remittance_payload(
                remittance,
                provider_ref=providers[provider_id].ref,
                payment_run_ref=run.ref,
                lines=due[provider_id].lines,
            )
            events.append(Change(FeedEntry.Stream.REMITTANCES, remittance.ref, payload))
            summaries.append(
                {
                    "ref": remittance.ref,
                    "provider_ref": payload["provider_ref"],
                    "total": payload["total"],
                    "lines": len(payload["lines"]),
                }
            )
        run.total = sum((r.total for r in remittances.values()), Decimal(0))
        run.items = len(all_lines)
        run.save(update_fields=["total", "items"])
        feed_append(events)
    return RunResult(run=run, remittances=summaries)


def run_payload(result: RunResult) -> dict[str, Any]:
    run = result.run
    return {
        "ref": run.ref,
        "kind": run.kind,
        "week_of": run.week_of.isoformat() if run.week_of else None,
        "started_at": iso(run.started_at),
        "cutoff": iso(run.cutoff),
        "total": fmt(run.total),
        "items": run.items,
        "remittances": result.remittances,
    }


# The scheduled run and the schedule ----------------------------------------------------------------


def scheduled_run_due(moment: dt.datetime) -> dt.date | None:
    """The week whose scheduled run is due at `moment` and has not happened, if any (catching up later
    in the same week when the scheduler was down on the day)."""
    week_of = week_start_of(moment.astimezone(LONDON).date())
    if moment < scheduled_run_moment(week_of) or PaymentRun.objects.filter(week_of=week_of).exists():
        return None
    return week_of


def scheduler_tick() -> RunResult | None:
    """One look at the clock: run this week's payment run if it is due."""
    week_of = scheduled_run_due(clock.now())
    if week_of is None:
        return None
    return payment_run_execute(cutoff="deadline", week_of=week_of)


def next_run_moment(moment: dt.datetime) -> dt.datetime:
    """When the next scheduled run is due: this week's unless it has happened (it may be overdue, when
    the scheduler is about to catch up), else next week's."""
    week_of = week_start_of(moment.astimezone(LONDON).date())
    if PaymentRun.objects.filter(week_of=week_of).exists():
        week_of += dt.timedelta(days=7)
    return scheduled_run_moment(week_of)


def payment_schedule(*, provider_ref: str | None) -> list[dict[str, Any]]:
    """For each provider (or one): what the next scheduled run will pay, as things stand."""
    now = clock.now()
    run_at = max(next_run_moment(now), now)
    due = _collect(cutoff=latest_deadline(run_at), started=now, lock=False)
    providers = Provider.objects.order_by("ref")
    if provider_ref is not None:
        providers = providers.filter(ref=provider_ref)
    else:
        providers = providers.filter(active=True) | Provider.objects.filter(pk__in=list(due))
    next_run_on = run_at.astimezone(LONDON).date().isoformat()
    schedule = []
    for provider in providers.order_by("ref").distinct():
        lines = due[provider.pk].lines if provider.pk in due else []
        schedule.append(
            {
                "provider_ref": provider.ref,
                "next_run_on": next_run_on,
                "total": fmt(sum((line.amount for line in lines), Decimal(0))),
                "items": [
                    {
                        "kind": line.kind,
                        "portal_ref": line.portal_ref or None,
                        "portal_line_id": portal_line_id_out(line.portal_line_id)
                        if line.portal_line_id
                        else None,
                        "version": line.version,
                        "amount": fmt(line.amount),
                    }
                    for line in lines
                ],
            }
        )
    return schedule
