"""The back office's decisions on line versions, as the inbound sync applies its submission events: they
land on the line's current version only, and a repeated event changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from actuals.models import ActualLine
from actuals.services import LineValues, actual_line_correct
from contrOCC_sync.inbound import APPLIED, UNCHANGED, apply_submission_event
from contrOCC_sync.models import SubmissionEvent
from portal.audit.models import AuditEvent
from tests.actuals.conftest import acknowledge_all, actual_of, amend, confirm, generate
from tests.conftest import Council

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


def event(
    line: ActualLine, status: str, *, version: int | None = None, reason: str = "", **fields: Any
) -> dict:
    return {
        "at": "2026-11-09T11:00:00+00:00",
        "kind": "actual_line",
        "ref": f"ACL{line.pk:06d}{version or line.version}",
        "portal_ref": "",
        "portal_line_id": line.pk,
        "version": line.version if version is None else version,
        "status": status,
        "reason": reason,
        "reason_code": "",
        **fields,
    }


def apply(line: ActualLine, status: str, **kwargs: Any) -> ActualLine:
    apply_submission_event(event(line, status, **kwargs))
    return ActualLine.objects.get(pk=line.pk)


@pytest.fixture
def sent(council: Council, week: dt.date) -> ActualLine:
    generate(council.provider_a)
    confirm(council.provider_a, council.users["provider_a"])
    line = actual_of(council.line_a)
    assert line.status == Status.SENT
    return line


def test_an_accepted_line_then_paid(sent: ActualLine) -> None:
    assert apply(sent, "received").status == Status.SENT  # not a decision
    assert apply(sent, "accepted").status == Status.ACCEPTED
    assert apply(sent, "paid").status == Status.PAID
    actions = list(
        AuditEvent.objects.filter(object_id=str(sent.pk)).order_by("pk").values_list("action", flat=True)
    )
    assert actions[-2:] == ["actuals.line.accepted", "actuals.line.paid"]


def test_a_rejection_comes_back_with_its_reason(sent: ActualLine) -> None:
    reason = "The back office computes 262.50, not 245.70 (rate 25.00 per hour)."
    line = apply(sent, "rejected", reason=reason, reason_code="amount_mismatch")
    assert (line.status, line.backoffice_reason) == (Status.REJECTED, reason)
    assert AuditEvent.objects.get(action="actuals.line.rejected").data == {
        "version": 1,
        "reason": reason,
        "current": True,
    }


def test_a_corrected_rejection_accepted_clears_the_reason(council: Council, sent: ActualLine) -> None:
    line = apply(sent, "rejected", reason="Amount differs")
    values = dataclasses.replace(LineValues.of(line), delivered=D("10"), comment="Rate fixed")
    line = actual_line_correct(
        provider=council.provider_a, line_id=line.pk, by=council.users["provider_a"], values=values,
        reason="Wrong amount", revision=line.revision,
    )  # fmt: skip
    assert (line.version, line.status, line.backoffice_reason) == (2, Status.SENT, "")
    assert apply(line, "accepted").status == Status.ACCEPTED


def test_decisions_on_an_older_version_change_nothing(council: Council, sent: ActualLine) -> None:
    values = dataclasses.replace(LineValues.of(sent), delivered=D("9"), comment="Friday cancelled")
    corrected = actual_line_correct(
        provider=council.provider_a, line_id=sent.pk, by=council.users["provider_a"], values=values,
        reason="Friday cancelled", revision=sent.revision,
    )  # fmt: skip
    assert corrected.version == 2

    for status in ("accepted", "superseded", "rejected", "paid"):
        line = apply(corrected, status, version=1, reason="old")
        assert (line.version, line.status, line.backoffice_reason) == (2, Status.SENT, "")
    assert apply(corrected, "accepted", version=2).status == Status.ACCEPTED
    assert SubmissionEvent.objects.filter(portal_line_id=str(sent.pk)).count() == 5


def test_each_version_keeps_its_own_decision(council: Council, sent: ActualLine) -> None:
    """The back office paid version 1 in a run before version 2 arrived: the payment is kept on version
    1 (the next run pays the difference), while the line follows version 2."""
    values = dataclasses.replace(LineValues.of(sent), delivered=D("9"), comment="Friday cancelled")
    corrected = actual_line_correct(
        provider=council.provider_a, line_id=sent.pk, by=council.users["provider_a"], values=values,
        reason="Friday cancelled", revision=sent.revision,
    )  # fmt: skip
    apply(corrected, "accepted", version=1)
    apply(corrected, "paid", version=1)
    line = apply(corrected, "accepted", version=2)

    versions = {v.version: v for v in line.sent_versions.all()}
    assert (versions[1].status, versions[1].amount) == ("paid", sent.amount)
    assert (versions[2].status, versions[2].amount) == ("accepted", corrected.amount)
    assert D(versions[2].payload["delivered"]) == D("9") and versions[2].why == "correction (version 2)"
    assert (line.status, line.version) == (Status.ACCEPTED, 2)
    paid = AuditEvent.objects.get(action="actuals.line.paid")
    assert paid.data == {"version": 1, "reason": "", "current": False}
    # a paid version is final: a later word on it changes nothing
    apply(corrected, "rejected", version=1, reason="late", ref="ACL-late")
    assert line.sent_versions.get(version=1).status == "paid"


def test_a_page_of_decisions_is_applied_together_in_order(council: Council, sent: ActualLine) -> None:
    """The sync applies a page's decisions in one go, in the order the back office made them (accepted,
    then paid, of one line on one page)."""
    from contrOCC_sync.inbound import _apply_page
    from contrOCC_sync.models import SyncRun, SyncStream

    stream, _ = SyncStream.objects.get_or_create(name=SyncStream.Name.SUBMISSION_EVENTS)
    run = SyncRun.objects.create(stream=stream, started_at=sent.sent_at)
    rows = [event(sent, "accepted"), event(sent, "paid"), {"kind": "actual_line"}]
    _apply_page(stream, rows, run)
    line = ActualLine.objects.get(pk=sent.pk)
    assert line.status == Status.PAID
    assert (run.applied, run.skipped) == (2, 1)
    assert list(
        AuditEvent.objects.filter(object_id=str(sent.pk), action__startswith="actuals.line.")
        .order_by("pk")
        .values_list("action", flat=True)
    )[-2:] == ["actuals.line.accepted", "actuals.line.paid"]


def test_a_repeated_event_is_a_no_op(sent: ActualLine) -> None:
    row = event(sent, "rejected", reason="Line ended before the week")
    assert apply_submission_event(row) == APPLIED
    line = ActualLine.objects.get(pk=sent.pk)
    assert apply_submission_event(row) == UNCHANGED
    assert ActualLine.objects.get(pk=sent.pk).status == line.status == Status.REJECTED
    assert SubmissionEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="actuals.line.rejected").count() == 1


def test_a_decision_repeated_in_another_event_changes_nothing(sent: ActualLine) -> None:
    apply(sent, "accepted")
    apply(sent, "accepted", ref="ACL-other")
    assert AuditEvent.objects.filter(action="actuals.line.accepted").count() == 1


def test_a_paid_line_stays_paid(sent: ActualLine) -> None:
    apply(sent, "accepted")
    apply(sent, "paid")
    assert apply(sent, "rejected", reason="late").status == Status.PAID
    assert apply(sent, "accepted", ref="ACL-again").status == Status.PAID


def test_a_decision_on_a_line_never_sent_changes_nothing(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    line = amend(actual_of(council.line_a), user, delivered="4.50", frustrated="6", comment="In hospital")
    draft = apply(line, "accepted")
    assert draft.status == Status.DRAFT
    acknowledge_all(line, user)
    confirm(council.provider_a, user)
    assert apply(line, "accepted", ref="ACL-held").status == Status.HELD


def test_an_event_for_a_line_the_portal_does_not_have_is_stored_and_ignored(sent: ActualLine) -> None:
    row = event(sent, "accepted") | {"portal_line_id": "not-a-portal-line"}
    assert apply_submission_event(row) == APPLIED
    assert apply_submission_event(event(sent, "accepted") | {"portal_line_id": sent.pk + 1000}) == APPLIED
    assert ActualLine.objects.get(pk=sent.pk).status == Status.SENT
