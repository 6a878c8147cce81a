"""The seeded council (the one plan behind `seed_council` and the simulator's `seed_backoffice`) gives the
demo's children's agency and foster carer something to show: the agency's login has children placed with
it on placements paid on invoice that ran through last month (the wizard's first invoice), the carer's
has children in foster placements (the child pages and expense claims)."""

from __future__ import annotations

import datetime as dt

import pytest

from contrOCC_sync.simulator.backoffice.plan import SCALES, SERVICE_TYPES, council_plan

PAID_ON = {spec.code: spec.paid_on for spec in SERVICE_TYPES}


@pytest.mark.parametrize("scale", ["demo", "council"])
@pytest.mark.parametrize("seed", [1, 11, 2026])
@pytest.mark.parametrize("today", [dt.date(2026, 3, 2), dt.date(2026, 12, 7)])
def test_the_demo_agency_and_carer_have_children_placed_with_them(
    scale: str, seed: int, today: dt.date
) -> None:
    plan = council_plan(scale=SCALES[scale], seed=seed, today=today)
    enabled = [i for i, provider in enumerate(plan.providers) if provider.portal_enabled]
    # The demo logins act for the first agency and the first carer with access on (seeding.py).
    agency = next(i for i in enabled if plan.providers[i].kind == "children")
    carer = next(i for i in enabled if plan.providers[i].kind == "foster_carer")
    last_month_start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    invoiceable = [
        line
        for line in plan.lines
        if line.provider == agency
        and PAID_ON[line.type_code] == "invoice"
        and line.status == "active"
        and line.start_date <= last_month_start
    ]
    assert invoiceable, "the demo agency has no placement paid on invoice to raise a first invoice for"
    fostered = [line for line in plan.lines if line.provider == carer and line.type_code == "FOSTER"]
    assert fostered, "the demo foster carer has no child placed with it"
