"""4-weekly charging (services/charging.py CHG-R1, CHG-R2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contrOCC_sync.simulator.backoffice.weeks import is_period_start, last_completed_period, period_of

from .conftest import Api, Council, actual, london, submission

D = dt.date


@pytest.mark.parametrize(
    "day,period",
    [
        (D(2026, 4, 6), (D(2026, 4, 6), D(2026, 5, 3))),
        (D(2026, 5, 3), (D(2026, 4, 6), D(2026, 5, 3))),
        (D(2026, 5, 4), (D(2026, 5, 4), D(2026, 5, 31))),
        (D(2026, 9, 1), (D(2026, 8, 24), D(2026, 9, 20))),
        (D(2026, 4, 5), (D(2026, 3, 9), D(2026, 4, 5))),  # before the configured Monday: blocks count back
        (D(2027, 4, 4), (D(2027, 3, 8), D(2027, 4, 4))),  # 13 periods are 364 days, not a year
    ],
)
def test_periods_are_four_week_blocks_from_the_configured_monday(day, period):
    assert period_of(day) == period
    assert is_period_start(period[0]) and not is_period_start(period[0] + dt.timedelta(days=7))


def test_the_last_completed_period_ends_before_today():
    assert last_completed_period(D(2026, 5, 4)) == (D(2026, 4, 6), D(2026, 5, 3))
    assert last_completed_period(D(2026, 5, 3)) == (D(2026, 3, 9), D(2026, 4, 5))


def send(api: Api, week: dt.date, *lines) -> None:
    response = api.post("/api/v1/actuals-submissions", submission(*lines, week=week))
    assert response.status_code == 201, response.json()


def test_a_charge_is_four_weeks_of_contribution_capped_at_the_care_delivered(api: Api, council: Council, at):
    at(london(2026, 9, 21, 9))
    # Alice pays 45.00 a week: 180.00 due for the period 24 August – 20 September.
    send(api, D(2026, 8, 24), actual(1, delivered="2.00", amount="42.74"))
    send(api, D(2026, 8, 31), actual(2, delivered="2.00", amount="42.74"))
    send(api, D(2026, 9, 21), actual(3, delivered="9.00", amount="192.33"))  # the next period: not counted
    send(api, D(2026, 8, 17), actual(4, delivered="9.00", amount="192.33"))  # the period before
    created = api.post("/sim/charging-runs")
    assert created.status_code == 201
    assert created.json() | {"run_at": None} == {
        "period_start": "2026-08-24", "period_end": "2026-09-20", "run_at": None, "charges": 1, "total": "85.48",
        "created": True,
    }  # fmt: skip
    [alice] = api.get("/sim/charges", period_start="2026-08-24").json()["results"]
    assert alice | {"lines": None} == {
        "service_user_ref": "CL000001",
        "weekly_contribution": "45.00",
        "contribution_due": "180.00",
        "delivered_cost": "85.48",
        "amount": "85.48",
        "lines": None,
    }
    assert [(line["portal_line_id"], line["week_start"], line["cost"]) for line in alice["lines"]] == [
        (1, "2026-08-24", "42.74"),
        (2, "2026-08-31", "42.74"),
    ]
    again = api.post("/sim/charging-runs")
    assert again.status_code == 200 and again.json()["created"] is False


def test_the_cap_uses_delivered_quantities_of_the_latest_version(api: Api, council: Council, at):
    at(london(2026, 9, 21, 9))
    # Supported living is paid on plan (40 h), but the charge is for what was delivered (12 h × 20.00).
    send(api, D(2026, 8, 24), actual(1, line="CPL0000002", delivered="30.00", amount="800.00"))
    send(api, D(2026, 8, 24), actual(1, line="CPL0000002", version=2, delivered="12.00", amount="800.00"))
    send(api, D(2026, 8, 31), actual(2, delivered="2.00", missed="3.00", amount="42.74"))
    send(api, D(2026, 9, 7), actual(3, delivered="20.00", amount="1.00"))  # rejected: not the care record
    api.post("/sim/charging-runs", {"period_start": "2026-08-24"})
    [alice] = api.get("/sim/charges", period_start="2026-08-24").json()["results"]
    assert (alice["delivered_cost"], alice["amount"]) == ("282.74", "180.00")  # 240.00 + 42.74, capped
    assert [(line["portal_line_id"], line["version"], line["delivered"]) for line in alice["lines"]] == [
        (1, 2, "12.00"),
        (2, 1, "2.00"),
    ]


def test_nil_assessed_people_are_not_billed_and_contributors_without_care_owe_nothing(
    api: Api, council: Council, at
):
    at(london(2026, 9, 21, 9))
    send(
        api, D(2026, 8, 24), actual(1, line="CPL0000003", delivered="3", amount="166.50")
    )  # Bob: nil assessed
    api.post("/sim/charging-runs")
    results = api.get("/sim/charges", period_start="2026-08-24").json()["results"]
    assert [(r["service_user_ref"], r["amount"]) for r in results] == [("CL000001", "0.00")]
    assert Decimal(results[0]["contribution_due"]) == Decimal("180.00")


def test_only_a_completed_period_boundary_can_be_asked_for(api: Api, council: Council, at):
    at(london(2026, 9, 21, 9))
    assert api.post("/sim/charging-runs", {"period_start": "2026-08-25"}).status_code == 400
    assert api.post("/sim/charging-runs", {"period_start": "2026-09-21"}).status_code == 422
    assert api.get("/sim/charges", period_start="2026-07-27").status_code == 404
