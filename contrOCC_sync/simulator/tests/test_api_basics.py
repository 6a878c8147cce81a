"""Authentication, the error shape, the reference lists and their cursor paging (CONTROCC_API.md,
"Conventions" and "Reference data")."""

from __future__ import annotations

import pytest
from django.test import Client

from contrOCC_sync.simulator.backoffice.feed import feed_append
from contrOCC_sync.simulator.backoffice.models import CarePackageLine, Provider
from contrOCC_sync.simulator.backoffice.publish import line_change, provider_change

from .conftest import Api, Council

PATHS = [
    ("get", "/api/v1/service-types"),
    ("get", "/api/v1/providers"),
    ("get", "/api/v1/service-users"),
    ("get", "/api/v1/care-package-lines"),
    ("get", "/api/v1/submission-events"),
    ("get", "/api/v1/remittances"),
    ("get", "/api/v1/payment-schedule"),
    ("get", "/api/v1/health"),
    ("get", "/api/v1/actuals-submissions/SUB0000001"),
    ("post", "/api/v1/actuals-submissions"),
    ("post", "/api/v1/invoices"),
    ("post", "/api/v1/expense-claims"),
    ("post", "/api/v1/adjustments"),
    ("post", "/sim/payment-runs"),
    ("get", "/sim/ledger"),
    ("post", "/sim/reset"),
]


@pytest.mark.parametrize("method,path", PATHS)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "Basic ZGVtbzpkZW1v", "demo-backoffice-token"]
)
def test_a_wrong_or_missing_token_is_401_and_nothing_else(db, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = getattr(Client(), method)(path, headers=headers | {"Idempotency-Key": "k"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": "Unauthorized.", "details": {}}}
    assert response["WWW-Authenticate"] == "Bearer"


def test_health_answers_ok_with_the_token(api: Api):
    response = api.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_unknown_paths_and_methods_answer_in_the_error_shape(api: Api):
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = api.client.delete("/api/v1/providers", headers=api.auth)
    assert wrong.status_code == 405 and wrong["Allow"] == "GET"
    assert set(wrong.json()["error"]) == {"code", "message", "details"}
    unknown = api.get("/api/v1/actuals-submissions/SUB9999999")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_write_without_a_key_is_400(api: Api):
    response = api.post("/api/v1/actuals-submissions", {}, key=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_missing"


def test_malformed_bodies_are_400_with_the_field(api: Api, council: Council):
    not_json = api.client.post(
        "/api/v1/invoices",
        "{nope",
        content_type="application/json",
        headers=api.auth | {"Idempotency-Key": "x"},
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "malformed"
    bad = api.post(
        "/api/v1/actuals-submissions", {"provider_ref": "PRV00001", "week_start": "2026-09-01", "lines": []}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == {"field": "week_start"}  # a Tuesday
    float_money = api.post(
        "/api/v1/expense-claims",
        {
            "portal_ref": "E1",
            "provider_ref": "PRV00001",
            "category": "mileage",
            "incurred_on": "2026-09-01",
            "amount": "1.005",
        },
    )
    assert float_money.status_code == 400 and float_money.json()["error"]["details"] == {"field": "amount"}


def test_the_controls_are_404_when_switched_off(api: Api, settings):
    settings.BACKOFFICE_SIM_CONTROLS = False
    assert api.get("/sim/ledger").status_code == 404
    assert api.post("/sim/reset").status_code == 404
    assert Client().get("/sim/ledger").status_code == 404  # not even a 401: nothing is there
    settings.BACKOFFICE_SIM_CONTROLS = True
    assert api.get("/sim/ledger").status_code == 200


# Reference lists and their cursors ---------------------------------------------------------------------


def publish(*changes) -> None:
    feed_append(list(changes))


def test_reference_lists_have_the_published_fields(api: Api, council: Council):
    publish(
        line_change(
            CarePackageLine.objects.select_related("provider", "service_user", "service_type").get(
                ref="CPL0000001"
            )
        )
    )
    publish(provider_change(council.provider_a))
    [line] = api.get("/api/v1/care-package-lines").json()["results"]
    assert line == {
        "ref": "CPL0000001",
        "provider_ref": "PRV00001",
        "service_user_ref": "CL000001",
        "service_type": "HOMESUP",
        "planned_per_week": "10.00",
        "rate": "21.37",
        "start_date": "2025-01-06",
        "end_date": None,
        "status": "active",
        "version": 1,
    }
    [provider] = api.get("/api/v1/providers").json()["results"]
    assert provider == {
        "ref": "PRV00001",
        "name": "Airedale Home Care Ltd",
        "kind": "adult",
        "email": "",
        "active": True,
    }


def test_paging_follows_the_cursor_and_sees_every_change_once(api: Api, council: Council):
    for n in range(7):
        publish(provider_change(Provider.objects.create(ref=f"PRV9{n:04d}", name=f"P{n}", kind="adult")))
    first = api.get("/api/v1/providers", limit=3).json()
    assert [p["ref"] for p in first["results"]] == ["PRV90000", "PRV90001", "PRV90002"]
    assert first["has_more"] is True
    second = api.get("/api/v1/providers", limit=3, since=first["next_cursor"]).json()
    third = api.get("/api/v1/providers", limit=3, since=second["next_cursor"]).json()
    assert [p["ref"] for p in third["results"]] == ["PRV90006"] and third["has_more"] is False
    # Nothing new: the same cursor comes back, and so does an empty page.
    idle = api.get("/api/v1/providers", limit=3, since=third["next_cursor"]).json()
    assert idle == {"results": [], "next_cursor": third["next_cursor"], "has_more": False}
    # A change to a record the client already has arrives after its cursor, as a change.
    council.provider_a.active = False
    council.provider_a.save()
    publish(provider_change(council.provider_a))
    later = api.get("/api/v1/providers", since=third["next_cursor"]).json()
    assert [(p["ref"], p["active"]) for p in later["results"]] == [("PRV00001", False)]
    # Streams are separate: providers' changes are not care package lines'.
    assert api.get("/api/v1/care-package-lines").json()["results"] == []


@pytest.mark.parametrize(
    "params", [{"since": "12"}, {"since": "v1-x"}, {"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}]
)
def test_bad_cursor_or_limit_is_400(api: Api, params):
    response = api.get("/api/v1/providers", **params)
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed"
