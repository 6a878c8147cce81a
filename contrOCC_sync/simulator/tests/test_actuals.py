"""Receiving actuals: per-line decisions at receipt and the version rules (CONTROCC_API.md,
"Submissions"; services/actuals.py ACT-R1..R4)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from contrOCC_sync.simulator.backoffice.models import CarePackageLine, ForcedDecision, ReceivedLine

from .conftest import WEEK, Api, Council, actual, submission


def send(api: Api, *lines, **kwargs):
    response = api.post("/api/v1/actuals-submissions", submission(*lines, **kwargs))
    assert response.status_code == 201, response.json()
    return response.json()


def decision(api: Api, line) -> tuple[str, str | None]:
    [answer] = send(api, line)["lines"]
    return answer["status"], answer["reason_code"]


def test_a_correct_line_is_accepted_and_the_answer_names_each_line(api: Api, council: Council):
    answer = send(api, actual(101), actual(102, line="CPL0000003", delivered="2", amount="166.50"))
    assert answer["ref"].startswith("SUB") and answer["status"] == "received"
    assert answer["lines"] == [
        {"portal_line_id": 101, "version": 1, "status": "accepted", "reason": None, "reason_code": None},
        {"portal_line_id": 102, "version": 1, "status": "accepted", "reason": None, "reason_code": None},
    ]
    detail = api.get(f"/api/v1/actuals-submissions/{answer['ref']}").json()
    assert detail["status"] == "accepted" and len(detail["lines"]) == 2


def test_an_unknown_provider_refuses_the_whole_submission_with_422(api: Api, council: Council):
    response = api.post("/api/v1/actuals-submissions", submission(actual(1), provider="PRV77777"))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "unknown_provider",
        "message": "The back office has no provider PRV77777.",
        "details": {},
    }
    assert not ReceivedLine.objects.exists()


@pytest.mark.parametrize(
    "change,line,code",
    [
        ({}, actual(1, line="CPL9999999"), "unknown_care_package_line"),
        ({}, actual(1, line="CPL0000004", amount="220.00"), "other_provider"),
        ({"end_date": WEEK - dt.timedelta(days=1)}, actual(1), "line_ended"),
        ({"start_date": WEEK + dt.timedelta(days=7)}, actual(1), "line_not_started"),
        (
            {},
            actual(1, line="CPL0000002", delivered="40", extra="2", form="AF-1", amount="840.00"),
            "extras_not_allowed",
        ),
        ({}, actual(1, amount="213.71"), "amount_mismatch"),
    ],
)
def test_each_rejection_reason(api: Api, council: Council, change, line, code):
    CarePackageLine.objects.filter(ref=line["care_package_line_ref"]).update(**change)
    sent = send(api, line)
    answer = sent["lines"][0]
    assert (answer["status"], answer["reason_code"]) == ("rejected", code)
    assert answer["reason"]
    assert api.get(f"/api/v1/actuals-submissions/{sent['ref']}").json()["status"] == "rejected"


def test_a_rejection_says_what_the_back_office_computes(api: Api, council: Council):
    answer = send(api, actual(1, amount="200.00"))["lines"][0]
    assert answer["reason"] == "The back office computes 213.70, not 200.00 (rate 21.37 per hour)."


def test_a_line_ended_during_the_week_is_still_paid_for_its_days(api: Api, council: Council):
    CarePackageLine.objects.filter(ref="CPL0000002").update(end_date=WEEK + dt.timedelta(days=2))
    # Plan-paid: 40 h × 3/7 = 17.14 → 17.25 (nearest quarter, half up) × 20.00
    assert decision(api, actual(1, line="CPL0000002", delivered="17.25", amount="345.00")) == (
        "accepted",
        None,
    )


@pytest.mark.parametrize(
    "line,amount",
    [
        # actuals: delivered + frustrated + extra with a form; missed never paid. 10.25 × 21.37 = 219.0425
        (actual(1, delivered="9.00", frustrated="1.00", missed="1.00", extra="0.25", form="AF-7"), "219.04"),
        # an extra without an adjustment form reference is not paid
        (actual(1, delivered="9.00", frustrated="1.00", extra="0.25"), "213.70"),
        # half up to the penny: 0.25 × 21.37 = 5.3425 → 5.34; 0.75 × 21.37 = 16.0275 → 16.03
        (actual(1, delivered="0.25"), "5.34"),
        (actual(1, delivered="0.75"), "16.03"),
        # plan: the week's plan whatever was delivered, + referenced extra where allowed
        (actual(1, line="CPL0000003", delivered="1", missed="2", amount=""), "166.50"),
        (actual(1, line="CPL0000003", delivered="3", extra="1", form="AF-2", amount=""), "222.00"),
    ],
)
def test_the_back_office_pays_its_own_computation(api: Api, council: Council, line, amount):
    line["amount"] = amount
    assert decision(api, line) == ("accepted", None)
    assert ReceivedLine.objects.get().computed_amount == Decimal(amount)


def test_half_a_penny_rounds_up(api: Api, council: Council):
    CarePackageLine.objects.filter(ref="CPL0000001").update(rate=Decimal("21.10"))
    # 0.25 × 21.10 = 5.275 → 5.28 (half up), not 5.27 (banker's rounding would give 5.28 too: use .325)
    assert decision(api, actual(1, delivered="0.25", amount="5.28")) == ("accepted", None)
    CarePackageLine.objects.filter(ref="CPL0000001").update(rate=Decimal("21.30"))
    # 0.25 × 21.30 = 5.325 → 5.33 half up (banker's would give 5.32)
    assert decision(api, actual(2, delivered="0.25", amount="5.33")) == ("accepted", None)


def test_a_forced_decision_wins_over_the_rules(api: Api, council: Council):
    api.post(
        "/sim/decisions",
        {
            "kind": "actual_line",
            "portal_line_id": 5,
            "version": 1,
            "decision": "reject",
            "reason": "Held by finance",
        },
    )
    api.post(
        "/sim/decisions", {"kind": "actual_line", "portal_line_id": 6, "version": 1, "decision": "accept"}
    )
    sent = send(api, actual(5), actual(6, amount="1.00"))
    assert [(a["status"], a["reason"]) for a in sent["lines"]] == [
        ("rejected", "Held by finance"),
        ("accepted", None),
    ]
    assert ForcedDecision.objects.count() == 2
    assert api.get(f"/api/v1/actuals-submissions/{sent['ref']}").json()["status"] == "part_rejected"


# Versions ------------------------------------------------------------------------------------------


def test_a_repeat_is_answered_with_its_first_status_and_recorded_once(api: Api, council: Council):
    send(api, actual(1, amount="1.00"))  # rejected
    [again] = send(api, actual(1))[
        "lines"
    ]  # the same version, now with a right amount: still the first answer
    assert (again["status"], again["reason_code"], again["duplicate"]) == (
        "rejected",
        "amount_mismatch",
        True,
    )
    line = ReceivedLine.objects.get()
    assert (line.receipts, line.amount) == (2, Decimal("1.00"))


def test_a_higher_version_supersedes_and_a_lower_one_after_it_is_superseded(api: Api, council: Council):
    send(api, actual(1, version=1))
    send(api, actual(1, version=2, delivered="9.00", amount="192.33"))
    [late] = send(api, actual(1, version=1))["lines"]  # a retry of v1 that arrives after v2: a repeat
    assert late["status"] == "accepted" and late["duplicate"]
    statuses = dict(ReceivedLine.objects.values_list("version", "status"))
    assert statuses == {1: "superseded", 2: "accepted"}
    [lower] = send(api, actual(2, version=2), actual(2, version=3, delivered="8", amount="170.96"))["lines"][
        :1
    ]
    assert lower["status"] == "superseded"
    [older] = send(api, actual(2, version=1))["lines"]
    assert older["status"] == "superseded" and older["reason_code"] == "superseded"


def ledger_of(api: Api) -> list[tuple]:
    return [
        (line["portal_line_id"], line["version"], line["status"], line["recorded"])
        for line in api.get("/sim/ledger").json()["actual_lines"]
    ]


VERSIONS = [
    actual(9, version=1),
    actual(9, version=2, amount="1.00"),  # rejected
    actual(9, version=3, delivered="9.50", amount="203.02"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_versions_in_any_order_give_the_same_ledger(api: Api, council: Council, order):
    for index in order:
        send(api, VERSIONS[index])
    assert ledger_of(api) == [(9, 1, "superseded", 1), (9, 2, "superseded", 1), (9, 3, "accepted", 1)]


def test_versions_in_one_submission_are_decided_in_version_order(api: Api, council: Council):
    answer = send(api, VERSIONS[2], VERSIONS[0])["lines"]
    assert [a["status"] for a in answer] == ["accepted", "superseded"]


def test_every_decision_is_published_as_a_submission_event(api: Api, council: Council):
    send(api, actual(1))
    send(api, actual(1, version=2, amount="1.00"))
    events = api.all("/api/v1/submission-events")
    assert [(e["kind"], e["portal_line_id"], e["version"], e["status"]) for e in events] == [
        ("actual_line", 1, 1, "accepted"),
        ("actual_line", 1, 1, "superseded"),
        ("actual_line", 1, 2, "rejected"),
    ]
    assert events[0]["ref"] == ReceivedLine.objects.get(version=1).ref and events[0]["portal_ref"] is None
    assert events[0]["at"].endswith("+00:00") and events[2]["reason_code"] == "amount_mismatch"


def test_string_portal_line_ids_come_back_as_sent(api: Api, council: Council):
    line = actual(1)
    line["portal_line_id"] = "AL-000123"
    assert send(api, line)["lines"][0]["portal_line_id"] == "AL-000123"
