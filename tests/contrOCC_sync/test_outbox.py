"""The outbox against the real simulated back office: written with the change or not at all, delivered
once however often it is tried, a lost answer retried under the same key, a refusal final and shown to
staff, and the sweeper re-driving what is due."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from contrOCC_sync.client import BackOfficeUnavailable
from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_due, outbox_enqueue, outbox_message_deliver
from contrOCC_sync.services import heartbeat_record
from portal import clock
from tests.backoffice_process import BackOffice
from tests.conftest import Council, client_for

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 10, 26)


def a_line(backoffice: BackOffice) -> dict:
    """An active home support line of the back office, running through WEEK."""
    page = backoffice.api("care-package-lines", limit=1000)
    for line in page["results"]:
        if (
            line["service_type"] == "HOMESUP"
            and line["status"] == "active"
            and line["start_date"] < str(WEEK)
            and (line["end_date"] is None or line["end_date"] > str(WEEK + dt.timedelta(days=6)))
        ):
            return line
    raise AssertionError("no suitable line in the seeded back office")


def submission(line: dict, *, portal_line_id: int, version: int = 1, delivered: str = "3.50") -> dict:
    amount = (Decimal(delivered) * Decimal(line["rate"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "provider_ref": line["provider_ref"],
        "week_start": str(WEEK),
        "confirmed_at": clock.now().isoformat(),
        "confirmed_by": "a.user@example.org",
        "lines": [
            {
                "portal_line_id": portal_line_id, "version": version, "care_package_line_ref": line["ref"],
                "planned": line["planned_per_week"], "delivered": delivered, "frustrated": "0", "missed": "0",
                "extra": "0", "adjustment_form_ref": "", "comment": "", "amount": str(amount),
            }
        ],
    }  # fmt: skip


def ledger_entry(backoffice: BackOffice, portal_line_id: int, version: int = 1) -> dict:
    for entry in backoffice.sim("GET", "ledger")["actual_lines"]:
        if str(entry["portal_line_id"]) == str(portal_line_id) and entry["version"] == version:
            return entry
    raise AssertionError(f"line {portal_line_id} v{version} is not in the ledger")


def unique_line_id() -> int:
    return int(clock.now().timestamp() * 1_000_000) % 2_000_000_000


def test_a_message_is_written_with_its_change_or_not_at_all(backoffice: BackOffice) -> None:
    line = a_line(backoffice)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(kind="actuals_submission", body=submission(line, portal_line_id=1))
        raise RuntimeError("the confirmation failed after the message was written")
    assert not OutboxMessage.objects.exists()


def test_delivered_once_however_often_it_is_tried(
    backoffice: BackOffice, django_capture_on_commit_callbacks
) -> None:
    line = a_line(backoffice)
    line_id = unique_line_id()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = outbox_enqueue(kind="actuals_submission", body=submission(line, portal_line_id=line_id))
    assert len(callbacks) == 1, "delivery is queued only once the change commits"
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.DELIVERED
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.DELIVERED  # a no-op
    message.refresh_from_db()
    assert message.attempts == 1 and message.response["lines"][0]["status"] == "accepted"
    entry = ledger_entry(backoffice, line_id)
    assert entry["recorded"] == 1 and entry["receipts"] == 1


def test_an_answer_lost_after_the_back_office_committed_is_retried_under_the_same_key(
    backoffice: BackOffice,
) -> None:
    line = a_line(backoffice)
    line_id = unique_line_id()
    message = outbox_enqueue(kind="actuals_submission", body=submission(line, portal_line_id=line_id))
    backoffice.faults(drop_after_commit_rate=1.0)
    with pytest.raises(BackOfficeUnavailable):
        outbox_message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.PENDING and message.attempts == 1 and message.last_error
    assert message.next_attempt_at > clock.now()
    assert ledger_entry(backoffice, line_id)["recorded"] == 1, "the back office did commit it"

    backoffice.faults()
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.DELIVERED
    entry = ledger_entry(backoffice, line_id)
    assert entry["recorded"] == 1 and entry["receipts"] == 1, "the retry was answered from the stored key"


@pytest.mark.parametrize(
    "fault", [{"error_rate": 1.0}, {"throttle_rate": 1.0}, {"timeout_rate": 1.0, "hang_seconds": 5}]
)
def test_a_transient_failure_leaves_the_message_waiting(backoffice: BackOffice, fault: dict) -> None:
    line = a_line(backoffice)
    message = outbox_enqueue(
        kind="actuals_submission", body=submission(line, portal_line_id=unique_line_id())
    )
    backoffice.faults(**fault)
    with pytest.raises(BackOfficeUnavailable):
        outbox_message_deliver(message_id=message.pk)
    backoffice.faults()
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.PENDING
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.DELIVERED


def test_a_refusal_is_final_and_shown_to_staff(backoffice: BackOffice, council: Council) -> None:
    line = a_line(backoffice)
    body = submission(line, portal_line_id=unique_line_id()) | {"provider_ref": "PRV99999"}
    message = outbox_enqueue(kind="actuals_submission", body=body, summary="Week of 26 October 2026")
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.REFUSED
    message.refresh_from_db()
    assert "422 unknown_provider" in message.refusal
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.REFUSED
    assert message.attempts == 1

    heartbeat_record()
    page = client_for(council.users["portal_admin"]).get(reverse("council_backoffice")).content.decode()
    assert "Week of 26 October 2026" in page and "unknown_provider" in page
    assert 'data-testid="link-health"' in page and "Up" in page


def test_the_sweeper_picks_what_is_due(backoffice: BackOffice) -> None:
    line = a_line(backoffice)
    due = outbox_enqueue(kind="actuals_submission", body=submission(line, portal_line_id=unique_line_id()))
    later = outbox_enqueue(kind="actuals_submission", body=submission(line, portal_line_id=unique_line_id()))
    OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=clock.now() + dt.timedelta(minutes=5))
    assert outbox_due() == [due.pk]


def test_the_heartbeat_records_up_and_down(backoffice: BackOffice, settings) -> None:
    assert heartbeat_record().ok
    settings.BACKOFFICE_URL = "http://127.0.0.1:1"
    beat = heartbeat_record()
    assert not beat.ok and "ConnectionError" in beat.detail


def test_a_refused_submission_rejects_its_lines_with_the_reason(
    backoffice: BackOffice, council: Council
) -> None:
    """A refusal is never retried: the lines it carried are rejected with its reason, so the provider sees
    them and can correct them, instead of waiting for ever as sent."""
    from actuals.models import ActualLine
    from actuals.services import actuals_generate, week_confirm
    from portal.audit.models import AuditEvent

    week = dt.date(2026, 11, 2)
    with time_machine.travel(dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC), tick=False):
        council.provider_a.ref = "PRV99998"  # a provider the back office does not know
        council.provider_a.save()
        actuals_generate(provider=council.provider_a, week_start=week, by=None)
        week_confirm(
            provider=council.provider_a, week_start=week, by=council.users["provider_a"], declaration=True
        )
        message = OutboxMessage.objects.get()
        assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.REFUSED

    line = ActualLine.objects.get(provider=council.provider_a)
    assert line.status == ActualLine.Status.REJECTED
    assert line.backoffice_reason.startswith("The council's finance system refused the submission: ")
    assert line.sent_versions.get().status == "rejected"
    assert AuditEvent.objects.filter(action="actuals.line.rejected", object_id=str(line.pk)).exists()


def test_a_payment_dispute_upheld_reaches_the_back_office_as_an_adjustment(
    backoffice: BackOffice, council: Council
) -> None:
    """Money already paid is put right by a payment adjustment through the outbox: the simulator records
    it once, with the dispute's reference, to pay in its next run."""
    from actuals.models import ActualLine
    from disputes import services as disputes
    from tests.factories import CarePackageLineFactory

    line = a_line(backoffice)
    council.provider_a.ref = line["provider_ref"]
    council.provider_a.save()
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        from actuals.services import actuals_generate, week_confirm

        CarePackageLineFactory(provider=council.provider_a)
        actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
        week_confirm(
            provider=council.provider_a, week_start=WEEK, by=council.users["provider_a"], declaration=True
        )
    paid = ActualLine.objects.filter(provider=council.provider_a).first()
    ActualLine.objects.filter(pk=paid.pk).update(status=ActualLine.Status.PAID)
    paid.refresh_from_db()
    OutboxMessage.objects.all().delete()  # the week's own submission is not what this test is about
    thread = disputes.dispute_raise_on_payment(
        provider=council.provider_a,
        by=council.users["provider_a"],
        body="Short",
        claimed_amount=Decimal("12.50"),
        line=paid,
    )
    disputes.dispute_resolve(thread=thread, by=council.users["finance"], outcome="upheld", reason="Agreed")
    message = OutboxMessage.objects.get(kind="adjustment")
    assert outbox_message_deliver(message_id=message.pk) == OutboxMessage.State.DELIVERED

    [recorded] = [
        a
        for a in backoffice.sim("GET", "ledger")["adjustments"]
        if a["portal_ref"] == message.body["portal_ref"]
    ]
    assert (recorded["recorded"], recorded["status"], recorded["amount"]) == (1, "accepted", "12.50")
