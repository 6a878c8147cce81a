"""Idempotency-Key on every write: the same key and body answer the first answer again (status and
body), the same key with another body is 409, no key is 400."""

from __future__ import annotations

import pytest

from contrOCC_sync.simulator.backoffice.models import IdempotencyRecord, ReceivedLine, Submission

from .conftest import Api, Council, actual, submission

WRITES = [
    ("/api/v1/actuals-submissions", lambda n: submission(actual(n))),
    (
        "/api/v1/invoices",
        lambda n: {
            "portal_ref": f"INV-{n}", "provider_ref": "PRV00002", "service_user_ref": "CL000003",
            "care_package_line_ref": "CPL0000005", "period_start": "2026-08-31", "period_end": "2026-09-06",
            "lines": [{"description": "Placement", "quantity": "1", "rate": "1000.00", "amount": "1000.00"}],
            "provider_invoice_number": f"B-{n}",
        },
    ),
    (
        "/api/v1/expense-claims",
        lambda n: {
            "portal_ref": f"EXP-{n}", "provider_ref": "PRV00002", "service_user_ref": "CL000003",
            "category": "mileage", "incurred_on": "2026-09-01", "amount": "12.60", "description": "School run",
        },
    ),
    (
        "/api/v1/adjustments",
        lambda n: {
            "portal_ref": f"ADJ-{n}", "provider_ref": "PRV00001", "amount": "-5.00", "reason": "Overpaid",
            "dispute_ref": "D-1", "applies_to": n,
        },
    ),
]  # fmt: skip


@pytest.mark.parametrize("path,body", WRITES)
def test_the_same_key_and_body_answer_the_first_answer_again(api: Api, council: Council, path, body):
    first = api.post(path, body(1), key="key-1")
    assert first.status_code == 201, first.json()
    again = api.post(path, body(1), key="key-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("path,body", WRITES)
def test_the_same_key_with_another_body_is_409(api: Api, council: Council, path, body):
    assert api.post(path, body(1), key="key-1").status_code == 201
    response = api.post(path, body(2), key="key-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_the_key_is_bound_to_its_path_too(api: Api, council: Council):
    assert api.post("/api/v1/adjustments", WRITES[3][1](1), key="k").status_code == 201
    assert api.post("/api/v1/expense-claims", WRITES[3][1](1), key="k").status_code == 409


def test_a_refusal_is_remembered_like_a_success(api: Api, council: Council):
    refused = api.post("/api/v1/actuals-submissions", submission(actual(1), provider="PRV09999"), key="k")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_provider"
    again = api.post("/api/v1/actuals-submissions", submission(actual(1), provider="PRV09999"), key="k")
    assert (again.status_code, again.json()) == (422, refused.json())


def test_a_replay_records_nothing_more(api: Api, council: Council):
    for _ in range(3):
        api.post("/api/v1/actuals-submissions", submission(actual(1), actual(2)), key="same")
    assert Submission.objects.count() == 1
    assert ReceivedLine.objects.count() == 2
    assert set(ReceivedLine.objects.values_list("receipts", flat=True)) == {1}


def test_whitespace_and_key_order_do_not_make_another_body(api: Api, council: Council):
    body = submission(actual(1))
    api.post("/api/v1/actuals-submissions", body, key="k")
    reordered = dict(reversed(list(body.items())))
    assert api.post("/api/v1/actuals-submissions", reordered, key="k").status_code == 201
