"""Invoices, expense claims and adjustments (services/items.py INV-R1, EXP-R1, ADJ-R1)."""

from __future__ import annotations

from typing import Any

import pytest

from contrOCC_sync.simulator.backoffice.models import CarePackageLine, Invoice

from .conftest import Api, Council


def invoice(**change: Any) -> dict[str, Any]:
    body = {
        "portal_ref": "INV-1",
        "provider_ref": "PRV00002",
        "service_user_ref": "CL000003",
        "care_package_line_ref": "CPL0000005",
        "period_start": "2026-08-31",
        "period_end": "2026-09-06",
        "lines": [{"description": "Placement", "quantity": "1", "rate": "1000.00", "amount": "1000.00"}],
        "provider_invoice_number": "BF-1",
    }
    return body | change


def test_an_invoice_matching_the_childs_line_is_accepted(api: Api, council: Council):
    response = api.post("/api/v1/invoices", invoice())
    assert response.status_code == 201
    assert response.json() | {"ref": None} == {
        "ref": None,
        "status": "accepted",
        "reason": None,
        "reason_code": None,
    }
    [event] = api.all("/api/v1/submission-events")
    assert (event["kind"], event["portal_ref"], event["status"], event["portal_line_id"]) == (
        "invoice",
        "INV-1",
        "accepted",
        None,
    )


@pytest.mark.parametrize(
    "change,code",
    [
        ({"service_user_ref": "CL999999"}, "unknown_service_user"),
        ({"service_user_ref": "CL000001"}, "no_invoice_line"),  # no invoice-paid line for that person
        ({"care_package_line_ref": "CPL0000001"}, "no_invoice_line"),
        ({"period_start": "2024-12-30"}, "no_invoice_line"),  # before the line starts
        (
            {"lines": [{"description": "x", "quantity": "1", "rate": "999.00", "amount": "999.00"}]},
            "rate_mismatch",
        ),
        (
            {"lines": [{"description": "x", "quantity": "2", "rate": "1000.00", "amount": "1000.00"}]},
            "amount_mismatch",
        ),
    ],
)
def test_an_invoice_is_rejected_with_its_reason(api: Api, council: Council, change, code):
    answer = api.post("/api/v1/invoices", invoice(**change)).json()
    assert (answer["status"], answer["reason_code"]) == ("rejected", code) and answer["reason"]


def test_an_invoice_for_a_period_after_the_line_ended_is_rejected(api: Api, council: Council):
    CarePackageLine.objects.filter(ref="CPL0000005").update(end_date="2026-09-02")
    assert api.post("/api/v1/invoices", invoice()).json()["reason_code"] == "no_invoice_line"


def test_an_unknown_provider_is_422_for_every_kind(api: Api, council: Council):
    for path, body in (
        ("/api/v1/invoices", invoice(provider_ref="PRV55555")),
        (
            "/api/v1/expense-claims",
            {
                "portal_ref": "E",
                "provider_ref": "PRV55555",
                "category": "mileage",
                "incurred_on": "2026-09-01",
                "amount": "1.00",
            },
        ),
        ("/api/v1/adjustments", {"portal_ref": "A", "provider_ref": "PRV55555", "amount": "1.00"}),
    ):
        response = api.post(path, body)
        assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_provider"


def test_the_same_portal_ref_is_recorded_once(api: Api, council: Council):
    first = api.post("/api/v1/invoices", invoice()).json()
    again = api.post("/api/v1/invoices", invoice(lines=[]) | {"lines": invoice()["lines"]})  # another key
    assert (
        again.status_code == 200 and again.json()["ref"] == first["ref"] and again.json()["duplicate"] is True
    )
    assert Invoice.objects.get().receipts == 2


def expense(amount: str, category: str = "mileage", ref: str = "E-1") -> dict[str, Any]:
    return {"portal_ref": ref, "provider_ref": "PRV00002", "service_user_ref": None, "category": category,
            "incurred_on": "2026-09-01", "amount": amount, "description": "Trip"}  # fmt: skip


@pytest.mark.parametrize(
    "body,status,code",
    [
        (expense("250.00"), "accepted", None),  # up to the limit
        (expense("250.01"), "rejected", "over_limit"),
        (expense("100.00", "birthday"), "accepted", None),  # "*": any other category
        (expense("100.01", "birthday"), "rejected", "over_limit"),
        (expense("0.00"), "rejected", "nothing_claimed"),
    ],
)
def test_an_expense_claim_is_accepted_up_to_its_category_limit(
    api: Api, council: Council, body, status, code
):
    answer = api.post("/api/v1/expense-claims", body).json()
    assert (answer["status"], answer["reason_code"]) == (status, code)


def test_forced_decisions_for_invoices_expenses_and_adjustments(api: Api, council: Council):
    api.post(
        "/sim/decisions",
        {"kind": "invoice", "portal_ref": "INV-1", "decision": "reject", "reason": "Duplicate"},
    )
    api.post("/sim/decisions", {"kind": "expense_claim", "portal_ref": "E-9", "decision": "accept"})
    api.post("/sim/decisions", {"kind": "adjustment", "portal_ref": "A-1", "decision": "reject"})
    assert api.post("/api/v1/invoices", invoice()).json()["reason"] == "Duplicate"
    assert api.post("/api/v1/expense-claims", expense("9999.00", ref="E-9")).json()["status"] == "accepted"
    adjustment = {
        "portal_ref": "A-1",
        "provider_ref": "PRV00001",
        "amount": "5.00",
        "applies_to": "ACL0000001",
    }
    assert api.post("/api/v1/adjustments", adjustment).json()["status"] == "rejected"


def test_an_adjustment_is_accepted_signed(api: Api, council: Council):
    body = {
        "portal_ref": "A-2",
        "provider_ref": "PRV00001",
        "amount": "-12.50",
        "reason": "Overpaid",
        "dispute_ref": "D-4",
        "applies_to": 77,
    }
    answer = api.post("/api/v1/adjustments", body)
    assert answer.status_code == 201 and answer.json()["status"] == "accepted"
