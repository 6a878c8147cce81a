"""The simulation controls: brokerage's changes, the ledger, reset, the fault settings' validation."""

from __future__ import annotations

import datetime as dt

from contrOCC_sync.simulator.backoffice.models import CarePackageLine, FeedEntry, Provider

from .conftest import Api, Council, actual, submission


def test_brokerage_creates_a_line_and_each_change_is_a_new_version_in_the_feed(api: Api, council: Council):
    created = api.post(
        "/sim/care-package-lines",
        {"provider_ref": "PRV00001", "service_user_ref": "CL000002", "service_type": "HOMESUP",
         "planned_per_week": "7.50", "rate": "22.10", "start_date": "2026-09-07"},
    )  # fmt: skip
    assert created.status_code == 201
    ref = created.json()["ref"]
    assert created.json()["version"] == 1 and created.json()["status"] == "active"
    uplift = api.post("/sim/care-package-lines", {"ref": ref, "rate": "23.00"})
    assert uplift.status_code == 200 and (uplift.json()["version"], uplift.json()["rate"]) == (2, "23.00")
    ended = api.post("/sim/care-package-lines", {"ref": ref, "end_date": "2026-10-04", "status": "ended"})
    assert (ended.json()["version"], ended.json()["end_date"], ended.json()["status"]) == (
        3,
        "2026-10-04",
        "ended",
    )
    feed = api.all("/api/v1/care-package-lines")
    assert [(line["ref"], line["version"], line["rate"], line["end_date"]) for line in feed] == [
        (ref, 1, "22.10", None),
        (ref, 2, "23.00", None),
        (ref, 3, "23.00", "2026-10-04"),
    ]
    # The new rate is the back office's computation at once: a stale portal figure is rejected.
    stale = api.post(
        "/api/v1/actuals-submissions",
        submission(actual(1, line=ref, delivered="7.50", amount="165.75"), week=dt.date(2026, 9, 7)),
    )
    assert stale.json()["lines"][0]["reason_code"] == "amount_mismatch"


def test_brokerage_refuses_what_it_cannot_make(api: Api, council: Council):
    unknown = api.post("/sim/care-package-lines", {"provider_ref": "PRV0", "service_user_ref": "CL000001",
                       "service_type": "HOMESUP", "planned_per_week": "1", "rate": "1", "start_date": "2026-09-07"})  # fmt: skip
    assert unknown.status_code == 422
    backwards = api.post("/sim/care-package-lines", {"ref": "CPL0000001", "end_date": "2020-01-01"})
    assert backwards.status_code == 400 and CarePackageLine.objects.get(ref="CPL0000001").version == 1


def test_people_and_providers_change_and_are_published(api: Api, council: Council):
    died = api.post(
        "/sim/service-users", {"ref": "CL000001", "deceased_on": "2026-09-03", "weekly_contribution": "12.00"}
    )
    assert died.status_code == 200 and died.json()["deceased_on"] == "2026-09-03"
    assert (
        api.post("/sim/providers", {"ref": "PRV00003", "name": "Calder Care", "kind": "adult"}).status_code
        == 201
    )
    assert api.post("/sim/providers", {"ref": "PRV00003", "active": False}).json()["active"] is False
    assert [p["deceased_on"] for p in api.all("/api/v1/service-users")] == ["2026-09-03"]
    assert [p["active"] for p in api.all("/api/v1/providers")] == [True, False]


def test_the_ledger_counts_each_item_once_and_its_receipts(api: Api, council: Council):
    api.post("/api/v1/actuals-submissions", submission(actual(1), actual(2, amount="1.00")))
    api.post("/api/v1/actuals-submissions", submission(actual(1)))  # a repeat under another key
    api.post(
        "/api/v1/actuals-submissions", submission(actual(1, version=2, delivered="9.00", amount="192.33"))
    )
    api.post("/api/v1/adjustments", {"portal_ref": "A-1", "provider_ref": "PRV00001", "amount": "5.00"})
    api.post("/sim/payment-runs")
    ledger = api.get("/sim/ledger").json()
    assert [
        (line["portal_line_id"], line["version"], line["recorded"], line["receipts"], line["status"])
        for line in ledger["actual_lines"]
    ] == [
        (1, 1, 1, 2, "superseded"),
        (1, 2, 1, 1, "paid"),
        (2, 1, 1, 1, "rejected"),
    ]
    assert ledger["paid_by_portal_line_id"] == {"1": "192.33"}
    assert ledger["paid_by_portal_ref"] == {"A-1": "5.00"}
    assert [(a["portal_ref"], a["recorded"], a["status"]) for a in ledger["adjustments"]] == [
        ("A-1", 1, "paid")
    ]
    assert ledger["counts"] | {"actual_lines_by_status": None} == {
        "submissions": 3, "actual_lines": 3, "actual_line_receipts": 4, "actual_lines_by_status": None,
        "invoices": 0, "expense_claims": 0, "adjustments": 1, "payment_runs": 1, "remittances": 1,
    }  # fmt: skip
    assert ledger["counts"]["actual_lines_by_status"] == {"superseded": 1, "paid": 1, "rejected": 1}


def test_reset_empties_the_simulator_but_cursors_stay_valid(api: Api, council: Council):
    api.post("/sim/providers", {"ref": "PRV00009", "name": "Nine", "kind": "adult"})
    cursor = api.get("/api/v1/providers").json()["next_cursor"]
    api.post("/api/v1/actuals-submissions", submission(actual(1)))
    assert api.post("/sim/reset").json() == {"status": "empty"}
    assert not Provider.objects.exists() and not FeedEntry.objects.exists()
    assert api.get("/sim/ledger").json()["actual_lines"] == []
    api.post("/sim/providers", {"ref": "PRV00010", "name": "Ten", "kind": "adult"})
    assert [p["ref"] for p in api.get("/api/v1/providers", since=cursor).json()["results"]] == ["PRV00010"]


def test_reset_is_refused_in_production(api: Api, settings):
    settings.PRODUCTION = True
    assert api.post("/sim/reset").status_code == 403


def test_fault_settings_are_validated_and_read_back(api: Api):
    assert api.post("/sim/faults", {"error_rate": 0.6, "timeout_rate": 0.6}).status_code == 400
    assert api.post("/sim/faults", {"error_rate": "lots"}).status_code == 400
    assert api.post("/sim/faults", {"latency_ms": -1}).status_code == 400
    body = {
        "error_rate": 0.2,
        "timeout_rate": 0.1,
        "latency_ms": 5,
        "drop_after_commit_rate": 0.05,
        "throttle_rate": 0,
        "hang_seconds": 10,
    }
    assert api.post("/sim/faults", body).json() == body
    assert api.get("/sim/faults").json() == body
    assert api.post("/sim/faults", {}).json()["error_rate"] == 0  # left out: back to none
