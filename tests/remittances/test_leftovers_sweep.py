"""The nightly sweep of what the invoice wizard and the claim form leave behind: invoice drafts nobody
changed for INVOICE_DRAFT_STALE_DAYS days, and receipt files no expense claim holds once
RECEIPT_ORPHAN_HOURS old. Each deletion is audited; what is still in use is never touched; a second run
deletes nothing more."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse

from portal import clock, files
from portal.audit.models import AuditEvent
from remittances.models_invoices import ExpenseClaim, InvoiceDraft
from remittances.services_invoices import (
    RECEIPT_FOLDER,
    expense_receipts_orphaned_remove,
    invoice_drafts_stale_remove,
    invoice_leftovers_sweep,
)
from remittances.tasks import invoice_leftovers_sweep as sweep_task
from tests.remittances.conftest import AGENCY_TYPE, NOW, PNG, Children, line
from tests.remittances.test_expense_claims import claim_data
from tests.remittances.test_invoice_wizard import MARCH, draft_url, period_data, start, walk

pytestmark = pytest.mark.django_db


def _age(draft: InvoiceDraft, days: float) -> None:
    InvoiceDraft.objects.filter(pk=draft.pk).update(updated_at=clock.now() - dt.timedelta(days=days))


def _receipt_file(data: bytes = PNG, *, hours_old: float) -> str:
    stored, _digest = files.store(data, folder=RECEIPT_FOLDER)
    when = (clock.now() - dt.timedelta(hours=hours_old)).timestamp()
    os.utime(files.stored_path(RECEIPT_FOLDER, stored), (when, when))
    return stored


def _exists(stored: str) -> bool:
    return files.stored_path(RECEIPT_FOLDER, stored).is_file()


# Invoice drafts ---------------------------------------------------------------------------------------


def test_a_draft_nobody_changed_for_30_days_is_deleted_and_audited(kids: Children) -> None:
    assert settings.INVOICE_DRAFT_STALE_DAYS == 30
    client = kids.client("agency_user")
    stale = walk(client, kids.placement)
    # Two more placements of the child's (one draft per placement keeps the wizard's helpers simple).
    started = start(client, line(kids.agency, kids.child, AGENCY_TYPE))  # only its child chosen
    fresh = walk(client, line(kids.agency, kids.child, AGENCY_TYPE), number="BW-02")
    _age(stale, 30.5)
    _age(started, 45)
    _age(fresh, 29)

    assert invoice_drafts_stale_remove() == 2

    assert list(InvoiceDraft.objects.values_list("pk", flat=True)) == [fresh.pk]
    events = {e.object_id: e for e in AuditEvent.objects.filter(action="remittances.invoice_draft.removed")}
    assert set(events) == {str(stale.pk), str(started.pk)}
    event = events[str(stale.pk)]
    assert (event.actor, event.provider) == (None, kids.agency)
    assert event.data["created_by"] == kids.agency_user.email
    assert event.data["child"] == kids.child.ref and event.data["care_package_line"] == kids.placement.ref
    assert event.data["period"] == ["2026-03-01", "2026-03-31"]
    assert (event.data["number"], event.data["lines"]) == ("BW-2026-03", 1)
    assert events[str(started.pk)].data["period"] is None
    # Its pages are gone for its user (a 404), and the invoices page no longer lists it.
    assert client.get(draft_url("invoice_draft_check", stale)).status_code == 404
    assert draft_url("invoice_draft_check", stale) not in client.get(reverse("invoices")).content.decode()
    # A second run finds nothing more.
    assert invoice_drafts_stale_remove() == 0
    assert AuditEvent.objects.filter(action="remittances.invoice_draft.removed").count() == 2


def test_a_draft_answered_again_is_kept_for_another_30_days(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)
    _age(draft, 40)
    client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))  # taken up again today
    assert invoice_drafts_stale_remove() == 0
    assert InvoiceDraft.objects.filter(pk=draft.pk).exists()


def test_the_age_is_a_setting(kids: Children, settings: Any) -> None:
    settings.INVOICE_DRAFT_STALE_DAYS = 7
    draft = walk(kids.client("agency_user"), kids.placement)
    _age(draft, 8)
    assert invoice_drafts_stale_remove() == 1


@pytest.mark.django_db(transaction=True)
def test_a_draft_being_saved_while_the_sweep_runs_is_left_alone(kids: Children) -> None:
    """The sweep skips a draft locked by a request saving it (and checks its age again under the lock)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    draft = walk(kids.client("agency_user"), kids.placement)
    _age(draft, 31)
    locked, release = threading.Event(), threading.Event()

    def saving() -> None:
        with transaction.atomic():
            InvoiceDraft.objects.select_for_update().get(pk=draft.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=saving)
    holder.start()
    try:
        assert locked.wait(10)
        assert invoice_drafts_stale_remove() == 0
    finally:
        release.set()
        holder.join()
    assert InvoiceDraft.objects.filter(pk=draft.pk).exists()
    assert invoice_drafts_stale_remove() == 1  # the next night's run, the lock gone


# Receipts ---------------------------------------------------------------------------------------------


def test_a_receipt_no_claim_holds_is_deleted_once_a_day_old_and_audited(kids: Children) -> None:
    assert settings.RECEIPT_ORPHAN_HOURS == 24
    assert settings.RECEIPT_ORPHAN_HOURS * 3600 > settings.SESSION_ABSOLUTE_SECONDS  # see the setting
    client = kids.client("carer_user")
    # A claim sent with its receipt (an old one: a claim's receipt is kept whatever its age).
    client.post(
        reverse("expense_claim_new"),
        claim_data(receipt=SimpleUploadedFile("till.png", PNG, content_type="image/png")),
    )
    claimed = ExpenseClaim.objects.get().receipt_stored_as
    when = (clock.now() - dt.timedelta(days=400)).timestamp()
    os.utime(files.stored_path(RECEIPT_FOLDER, claimed), (when, when))
    # A receipt uploaded with a claim never sent: kept in the session, the claim abandoned.
    client.post(
        reverse("expense_claim_new"),
        claim_data(amount="-1", receipt=SimpleUploadedFile("bus.png", PNG + b"1", content_type="image/png")),
    )
    [abandoned] = [
        name for name in os.listdir(Path(settings.VAR_DIR) / "files" / RECEIPT_FOLDER) if name != claimed
    ]
    when = (clock.now() - dt.timedelta(hours=25)).timestamp()
    os.utime(files.stored_path(RECEIPT_FOLDER, abandoned), (when, when))
    young = _receipt_file(hours_old=23)  # perhaps still on its way into a claim
    stray = Path(settings.VAR_DIR) / "files" / RECEIPT_FOLDER / "not-a-stored-name.txt"
    stray.write_text("left alone: not one of ours")
    os.utime(stray, (0, 0))

    assert expense_receipts_orphaned_remove() == 1

    assert not _exists(abandoned)
    assert _exists(claimed) and _exists(young) and stray.exists()
    [event] = AuditEvent.objects.filter(action="remittances.expense_receipt.removed")
    assert event.actor is None
    assert (event.data["stored_as"], event.data["size"]) == (abandoned, len(PNG) + 1)
    assert event.data["uploaded_at"] == dt.datetime.fromtimestamp(when, tz=dt.UTC).isoformat()
    assert expense_receipts_orphaned_remove() == 0
    # The claim's receipt is still served.
    claim = ExpenseClaim.objects.get()
    assert client.get(reverse("expense_claim_receipt", kwargs={"pk": claim.pk})).status_code == 200


def test_a_kept_receipt_swept_away_asks_for_the_file_again(kids: Children) -> None:
    """The margin makes it all but impossible, but if the file is gone the claim is refused plainly."""
    client = kids.client("carer_user")
    client.post(
        reverse("expense_claim_new"),
        claim_data(amount="-1", receipt=SimpleUploadedFile("till.png", PNG, content_type="image/png")),
    )
    [kept] = os.listdir(Path(settings.VAR_DIR) / "files" / RECEIPT_FOLDER)
    when = (NOW - dt.timedelta(hours=25)).timestamp()
    os.utime(files.stored_path(RECEIPT_FOLDER, kept), (when, when))
    assert expense_receipts_orphaned_remove() == 1
    response = client.post(reverse("expense_claim_new"), claim_data(incurred_on_day="12"))
    assert response.status_code == 200
    assert "Upload the receipt again: it was not kept" in response.content.decode()
    assert not ExpenseClaim.objects.exists()


def test_many_held_receipts_do_not_hide_an_orphan_behind_them(kids: Children) -> None:
    """The folder is read in batches: the claims' own (old) receipts never use up a run's allowance."""
    for index in range(7):
        stored = _receipt_file(PNG + bytes([index]), hours_old=48)
        ExpenseClaim.objects.create(
            portal_ref=f"EXP-HELD-{index}",
            provider=kids.carer,
            category="equipment",
            incurred_on=dt.date(2026, 4, 1),
            amount="10.00",
            description="held",
            receipt_name="r.png",
            receipt_stored_as=stored,
            receipt_content_type="image/png",
            submitted_by=kids.carer_user,
            submitted_at=clock.now(),
        )
    orphan = _receipt_file(PNG + b"orphan", hours_old=48)
    assert expense_receipts_orphaned_remove(batch=2) == 1
    assert not _exists(orphan)
    assert ExpenseClaim.objects.count() == 7
    assert all(_exists(name) for name in ExpenseClaim.objects.values_list("receipt_stored_as", flat=True))


def test_no_receipt_folder_yet_is_nothing_to_do(kids: Children) -> None:
    assert not (Path(settings.VAR_DIR) / "files" / RECEIPT_FOLDER).exists()
    assert expense_receipts_orphaned_remove() == 0


# The task and its schedule ----------------------------------------------------------------------------


def test_the_nightly_task_sweeps_both_and_is_idempotent(kids: Children) -> None:
    draft = walk(kids.client("agency_user"), kids.placement)
    _age(draft, 31)
    _receipt_file(hours_old=30)
    assert sweep_task.apply().get() == {"drafts": 1, "receipts": 1}
    assert sweep_task.apply().get() == {"drafts": 0, "receipts": 0}
    assert invoice_leftovers_sweep().drafts == 0


def test_the_sweep_is_on_the_beat_schedule_at_night_london_time() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["invoice-leftovers-sweep"]
    assert entry["task"] == "remittances.tasks.invoice_leftovers_sweep"
    assert entry["task"] == sweep_task.name
    schedule = entry["schedule"]
    assert (schedule.hour, schedule.minute) == ({3}, {30})
    assert settings.CELERY_TIMEZONE == "Europe/London"
