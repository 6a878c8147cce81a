"""Payment runs, remittances and the payment schedule (services/payments.py PAY-R1..R4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contrOCC_sync.simulator.backoffice.models import PaymentRun, ReceivedLine, Remittance, RemittanceLine
from contrOCC_sync.simulator.backoffice.services.payments import payment_run_execute
from contrOCC_sync.simulator.backoffice.weeks import latest_deadline, week_deadline

from .conftest import WEEK, Api, Council, actual, london, submission


def send(api: Api, *lines, week: dt.date = WEEK):
    response = api.post("/api/v1/actuals-submissions", submission(*lines, week=week))
    assert response.status_code == 201, response.json()
    return response.json()


def run(api: Api, cutoff: str = "now") -> dict:
    response = api.post("/sim/payment-runs", {"cutoff": cutoff})
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_deadline_is_tuesday_five_pm_london_either_side_of_the_clock_change():
    assert week_deadline(dt.date(2026, 8, 31)) == london(2026, 9, 8, 17)  # BST: 16:00 UTC
    assert week_deadline(dt.date(2026, 10, 12)).utcoffset() == dt.timedelta(hours=1)
    assert week_deadline(dt.date(2026, 10, 19)).utcoffset() == dt.timedelta(0)  # GMT from 25 October
    assert latest_deadline(london(2026, 9, 10, 6)) == london(2026, 9, 8, 17)
    assert latest_deadline(london(2026, 9, 8, 16, 59)) == london(2026, 9, 1, 17)
    assert latest_deadline(london(2026, 9, 8, 17)) == london(2026, 9, 8, 17)


def test_a_run_pays_what_came_before_the_deadline_and_the_rest_waits(api: Api, council: Council, at):
    at(london(2026, 9, 8, 16, 59))
    send(api, actual(1))  # on time for the week of 31 August
    at(london(2026, 9, 8, 17, 0, 1))
    send(api, actual(2, line="CPL0000003", delivered="3", amount="166.50"))  # late
    at(london(2026, 9, 10, 6))
    first = run(api, cutoff="deadline")
    assert first["cutoff"] == "2026-09-08T16:00:00+00:00"
    assert first["total"] == "213.70" and first["items"] == 1
    assert set(ReceivedLine.objects.values_list("portal_line_id", "status")) == {
        ("1", "paid"),
        ("2", "accepted"),
    }
    at(london(2026, 9, 17, 6))
    second = run(api, cutoff="deadline")
    assert second["total"] == "166.50"
    assert run(api, cutoff="deadline")["total"] == "0.00"  # nothing twice


def test_a_remittance_per_provider_with_its_lines_and_total(api: Api, council: Council, at):
    at(london(2026, 9, 7, 9))
    send(api, actual(1), actual(2, line="CPL0000003", delivered="3", amount="166.50"))
    api.post(
        "/api/v1/expense-claims",
        {
            "portal_ref": "E-1",
            "provider_ref": "PRV00002",
            "category": "mileage",
            "incurred_on": "2026-09-01",
            "amount": "12.60",
        },
    )
    api.post(
        "/api/v1/invoices",
        {
            "portal_ref": "I-1", "provider_ref": "PRV00002", "service_user_ref": "CL000003",
            "care_package_line_ref": "CPL0000005", "period_start": "2026-08-31", "period_end": "2026-09-13",
            "lines": [
                {"description": "Week 1", "quantity": "1", "rate": "1000.00", "amount": "1000.00"},
                {"description": "Week 2", "quantity": "1", "rate": "1000.00", "amount": "1000.00"},
            ],
            "provider_invoice_number": "BF-77",
        },
    )  # fmt: skip
    api.post(
        "/api/v1/adjustments",
        {"portal_ref": "A-1", "provider_ref": "PRV00001", "amount": "-10.05", "reason": "Overpaid"},
    )
    at(london(2026, 9, 10, 6))
    result = run(api)
    assert [(r["provider_ref"], r["total"], r["lines"]) for r in result["remittances"]] == [
        ("PRV00001", "370.15", 3),
        ("PRV00002", "2012.60", 3),
    ]
    remittances = api.all("/api/v1/remittances")
    assert [r["provider_ref"] for r in remittances] == ["PRV00001", "PRV00002"]
    for remittance in remittances:
        assert Decimal(remittance["total"]) == sum(Decimal(line["amount"]) for line in remittance["lines"])
        assert remittance["payment_run_ref"] == result["ref"] and remittance["paid_on"] == "2026-09-10"
    line = remittances[0]["lines"][0]
    assert line == {
        "source_ref": ReceivedLine.objects.get(portal_line_id="1").ref,
        "kind": "actual_line",
        "portal_ref": None,
        "portal_line_id": 1,
        "version": 1,
        "service_user_ref": "CL000001",
        "description": "Homesup, week of 31 Aug 2026: 10.00 hours",
        "period_start": "2026-08-31",
        "period_end": "2026-09-06",
        "quantity": "10.00",
        "rate": "21.37",
        "amount": "213.70",
    }
    kinds = [(line["kind"], line["portal_ref"], line["amount"]) for line in remittances[1]["lines"]]
    assert kinds == [
        ("invoice", "I-1", "1000.00"),
        ("invoice", "I-1", "1000.00"),
        ("expense_claim", "E-1", "12.60"),
    ]
    paid = [(e["kind"], e["status"]) for e in api.all("/api/v1/submission-events") if e["status"] == "paid"]
    assert sorted(paid) == [
        ("actual_line", "paid"),
        ("actual_line", "paid"),
        ("adjustment", "paid"),
        ("expense_claim", "paid"),
        ("invoice", "paid"),
    ]


def test_a_correction_after_payment_pays_or_recovers_the_difference(api: Api, council: Council, at):
    at(london(2026, 9, 7, 9))
    send(api, actual(1))
    at(london(2026, 9, 10, 6))
    run(api)
    at(london(2026, 9, 14, 9))
    [v2] = send(api, actual(1, version=2, delivered="12.00", amount="256.44"))["lines"]
    assert v2["status"] == "accepted"
    assert dict(ReceivedLine.objects.values_list("version", "status")) == {1: "paid", 2: "accepted"}
    schedule = api.get("/api/v1/payment-schedule", provider_ref="PRV00001").json()["results"]
    assert schedule[0]["items"] == [
        {"kind": "actual_line", "portal_ref": None, "portal_line_id": 1, "version": 2, "amount": "42.74"}
    ]
    at(london(2026, 9, 17, 6))
    assert run(api)["total"] == "42.74"
    send(api, actual(1, version=3, delivered="8.00", amount="170.96"))
    at(london(2026, 9, 17, 6, 1))
    assert run(api)["total"] == "-85.48"  # recovered
    ledger = api.get("/sim/ledger").json()
    assert ledger["paid_by_portal_line_id"] == {"1": "170.96"}
    assert RemittanceLine.objects.filter(portal_line_id="1").count() == 3


def test_a_superseded_unpaid_version_is_never_paid(api: Api, council: Council):
    send(api, actual(1))
    send(api, actual(1, version=2, delivered="9.00", amount="192.33"))
    send(api, actual(1, version=1))  # a late retry
    assert run(api)["total"] == "192.33"
    assert api.get("/sim/ledger").json()["paid_by_portal_line_id"] == {"1": "192.33"}


def test_a_rejected_line_is_not_paid(api: Api, council: Council):
    send(api, actual(1, amount="1.00"))
    assert run(api)["items"] == 0 and Remittance.objects.count() == 0


def test_the_payment_schedule_shows_what_the_next_run_will_pay(api: Api, council: Council, at):
    at(london(2026, 9, 7, 9))  # a Monday: the next run is Thursday 10 September
    send(api, actual(1))
    results = api.get("/api/v1/payment-schedule").json()["results"]
    assert [(s["provider_ref"], s["next_run_on"], s["total"]) for s in results] == [
        ("PRV00001", "2026-09-10", "213.70"),
        ("PRV00002", "2026-09-10", "0.00"),
    ]
    assert api.get("/api/v1/payment-schedule", provider_ref="PRV00002").json()["results"][0]["items"] == []
    at(london(2026, 9, 10, 7))
    assert payment_run_execute(cutoff="deadline", week_of=dt.date(2026, 9, 7)) is not None
    after = api.get("/api/v1/payment-schedule", provider_ref="PRV00001").json()["results"][0]
    assert (after["next_run_on"], after["total"]) == ("2026-09-17", "0.00")


def test_one_scheduled_run_per_week_whatever_calls_it(db, at):
    at(london(2026, 9, 10, 7))
    assert payment_run_execute(cutoff="deadline", week_of=dt.date(2026, 9, 7)) is not None
    assert payment_run_execute(cutoff="deadline", week_of=dt.date(2026, 9, 7)) is None
    assert PaymentRun.objects.count() == 1
