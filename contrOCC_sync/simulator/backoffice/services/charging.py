"""4-weekly charging of each person's assessed contribution, from the actuals received.

- CHG-R1 periods are 4-week blocks counted from BACKOFFICE_CHARGING_START (a Monday); a run bills the
  last completed period (or the completed period asked for), once.
- CHG-R2 each person with a positive assessed weekly contribution is charged 4 × that contribution,
  capped at the cost of the care delivered to them in the period: for each portal line of a week in the
  period, its latest version received (unless that version was rejected), delivered × rate, half up.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from ... import clock
from ..http import ApiError, iso, portal_line_id_out
from ..models import Charge, ChargeLine, ChargingRun, ItemStatus, ReceivedLine, ServiceUser
from ..money import fmt, round_money
from ..weeks import PERIOD_DAYS, is_period_start, last_completed_period


def charging_run_execute(*, period_start: dt.date | None = None) -> tuple[ChargingRun, bool]:
    """Bill a period; (the run, True) when this call billed it, (the earlier run, False) if it was."""
    today = clock.today()
    if period_start is None:
        period_start, period_end = last_completed_period(today)
    else:
        if not is_period_start(period_start):
            raise ApiError(400, "malformed", f"{period_start} does not start a charging period.")
        period_end = period_start + dt.timedelta(days=PERIOD_DAYS - 1)
        if period_end >= today:
            raise ApiError(
                422, "period_not_completed", f"The period {period_start} to {period_end} has not ended."
            )
    earlier = ChargingRun.objects.filter(period_start=period_start).first()
    if earlier is not None:
        return earlier, False
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = ChargingRun.objects.create(
                    period_start=period_start, period_end=period_end, run_at=clock.now()
                )
        except IntegrityError:
            return ChargingRun.objects.get(period_start=period_start), False
        latest: dict[str, ReceivedLine] = {}
        received = ReceivedLine.objects.filter(
            week_start__range=(period_start, period_end), care_package_line__isnull=False
        ).select_related("care_package_line")
        for line in received.order_by("portal_line_id", "-version"):
            latest.setdefault(line.portal_line_id, line)
        delivered: dict[int, list[ReceivedLine]] = defaultdict(list)
        for line in latest.values():
            if line.status != ItemStatus.REJECTED and line.care_package_line is not None:
                delivered[line.care_package_line.service_user_id].append(line)

        charges, charge_lines = [], []
        for person in ServiceUser.objects.filter(weekly_contribution__gt=0).order_by("ref"):
            lines = sorted(
                delivered.get(person.pk, []), key=lambda line: (line.week_start, line.portal_line_id)
            )
            costs = [round_money(line.delivered * (line.rate or Decimal(0))) for line in lines]
            cost = sum(costs, Decimal(0))
            due = person.weekly_contribution * 4
            charge = Charge(
                charging_run=run,
                service_user=person,
                weekly_contribution=person.weekly_contribution,
                contribution_due=due,
                delivered_cost=cost,
                amount=min(due, cost),
            )
            charges.append(charge)
            charge_lines += [
                ChargeLine(
                    charge=charge, received_line=line, delivered=line.delivered, rate=line.rate or 0, cost=c
                )
                for line, c in zip(lines, costs, strict=True)
            ]
        Charge.objects.bulk_create(charges, batch_size=500)
        ChargeLine.objects.bulk_create(charge_lines, batch_size=500)
        run.total = sum((charge.amount for charge in charges), Decimal(0))
        run.save(update_fields=["total"])
    return run, True


def charging_run_payload(run: ChargingRun) -> dict[str, Any]:
    return {
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "run_at": iso(run.run_at),
        "charges": run.charges.count(),
        "total": fmt(run.total),
    }


def charges_for(*, period_start: dt.date) -> dict[str, Any]:
    run = ChargingRun.objects.filter(period_start=period_start).first()
    if run is None:
        raise ApiError(404, "not_found", f"No charging run for the period starting {period_start}.")
    lines_by_charge: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in (
        ChargeLine.objects.filter(charge__charging_run=run)
        .select_related("received_line")
        .order_by("charge_id", "received_line__week_start", "received_line__portal_line_id")
    ):
        received = line.received_line
        lines_by_charge[line.charge_id].append(
            {
                "source_ref": received.ref,
                "portal_line_id": portal_line_id_out(received.portal_line_id),
                "version": received.version,
                "care_package_line_ref": received.care_package_line_ref,
                "week_start": received.week_start.isoformat(),
                "delivered": fmt(line.delivered),
                "rate": fmt(line.rate),
                "cost": fmt(line.cost),
            }
        )
    results = [
        {
            "service_user_ref": charge.service_user.ref,
            "weekly_contribution": fmt(charge.weekly_contribution),
            "contribution_due": fmt(charge.contribution_due),
            "delivered_cost": fmt(charge.delivered_cost),
            "amount": fmt(charge.amount),
            "lines": lines_by_charge.get(charge.pk, []),
        }
        for charge in run.charges.select_related("service_user").order_by("service_user__ref")
    ]
    return charging_run_payload(run) | {"results": results}
