"""Inbound sync against the real simulated back office: the council arrives, a second pull changes
nothing, changes to existing rows are applied and recorded for their providers, a row that refers to
something not pulled yet is parked and applied later, bad rows are skipped while the rest applies, and a
failing stream keeps its cursor and emails the portal team once."""

from __future__ import annotations

import pytest

from contrOCC_sync.client import BackOfficeClient
from contrOCC_sync.inbound import (
    UNCHANGED,
    _apply_row,
    apply_care_package_line,
    pull_all,
    stream_pull,
)
from contrOCC_sync.models import ParkedRow, SyncRun, SyncStream
from portal import clock
from portal.audit.models import AuditEvent
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from remittances.models import PaymentSchedule
from tests.backoffice_process import BackOffice
from tests.conftest import email_body

pytestmark = pytest.mark.django_db


def everything(backoffice: BackOffice, resource: str) -> list[dict]:
    """The back office's current records of a feed (its latest change per key)."""
    latest: dict[str, dict] = {}
    cursor = ""
    while True:
        page = (
            backoffice.api(resource, since=cursor, limit=1000)
            if cursor
            else backoffice.api(resource, limit=1000)
        )
        for row in page["results"]:
            latest[row.get("ref") or row.get("code")] = row
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return list(latest.values())


def test_the_council_arrives_and_a_second_pull_changes_nothing(backoffice: BackOffice) -> None:
    runs = pull_all()
    assert all(run.status == SyncRun.Status.OK for run in runs), [run.error for run in runs]
    assert ServiceType.objects.count() == len(everything(backoffice, "service-types"))
    assert Provider.objects.count() == len(everything(backoffice, "providers"))
    assert ServiceUser.objects.count() == len(everything(backoffice, "service-users"))
    lines = everything(backoffice, "care-package-lines")
    assert CarePackageLine.objects.count() == len(lines) >= 3000
    sample = lines[17]
    line = CarePackageLine.objects.select_related("provider", "service_user").get(ref=sample["ref"])
    assert (line.provider.ref, line.service_user.ref, str(line.rate), line.version) == (
        sample["provider_ref"], sample["service_user_ref"], sample["rate"], sample["version"],
    )  # fmt: skip
    assert PaymentSchedule.objects.count() > 0
    # Providers arrive with portal access off: a portal administrator switches it on.
    assert not Provider.objects.filter(portal_enabled=True).exists()

    again = pull_all()
    assert (
        sum(run.applied for run in again) == PaymentSchedule.objects.count()
    )  # the schedule is a fresh copy
    assert all(run.parked == run.skipped == 0 for run in again)


def test_changes_to_lines_and_people_are_applied_and_their_providers_told(
    backoffice: BackOffice, mailbox, django_capture_on_commit_callbacks
) -> None:
    pull_all()
    line = (
        CarePackageLine.objects.filter(status="active", end_date__isnull=True)
        .select_related("service_user")
        .first()
    )
    Provider.objects.filter(pk=line.provider_id).update(portal_enabled=True, portal_enabled_at=clock.now())
    backoffice.sim(
        "POST", "care-package-lines", {"ref": line.ref, "rate": str(line.rate + 1), "end_date": "2027-03-31"}
    )
    backoffice.sim("POST", "service-users", {"ref": line.service_user.ref, "deceased_on": "2026-11-20"})
    with django_capture_on_commit_callbacks(execute=True):
        runs = {run.stream.name: run for run in pull_all()}
    assert runs["care-package-lines"].applied == 1 and runs["service-users"].applied == 1
    told = {message["Subject"]: message for message in mailbox()}
    ends = next(m for subject, m in told.items() if subject.startswith("A care package line ends"))
    assert line.provider.email in ends["To"] and "End date: 2027-03-31" in email_body(ends)
    assert f"{line.service_user.name} has died" in told

    changed = CarePackageLine.objects.get(pk=line.pk)
    assert changed.rate == line.rate + 1 and str(changed.end_date) == "2027-03-31"
    assert changed.version == line.version + 1
    event = AuditEvent.objects.get(action="providers.care_package_line.changed", object_id=str(line.pk))
    assert event.provider_id == line.provider_id and set(event.data["changes"]) == {"rate", "end_date"}
    assert str(ServiceUser.objects.get(pk=line.service_user_id).deceased_on) == "2026-11-20"
    assert AuditEvent.objects.filter(action="providers.service_user.died", provider=line.provider).exists()

    # An older change arriving after the newer one changes nothing.
    stale = {
        "ref": line.ref, "provider_ref": line.provider.ref, "service_user_ref": line.service_user.ref,
        "service_type": line.service_type.code, "planned_per_week": str(line.planned_per_week),
        "rate": str(line.rate), "start_date": str(line.start_date), "end_date": None,
        "status": "active", "version": line.version,
    }  # fmt: skip
    assert apply_care_package_line(stale) == UNCHANGED
    assert CarePackageLine.objects.get(pk=line.pk).rate == line.rate + 1


def test_a_line_for_a_provider_not_pulled_yet_is_parked_then_applied(backoffice: BackOffice) -> None:
    pull_all()
    person = ServiceUser.objects.first()
    suffix = clock.now().strftime("%H%M%S%f")
    provider = backoffice.sim(
        "POST",
        "providers",
        {
            "ref": f"PRVN{suffix[-6:]}",
            "name": "Newly Commissioned Care Ltd",
            "kind": "adult",
            "email": "new@example.org",
        },
    )
    line = backoffice.sim(
        "POST",
        "care-package-lines",
        {
            "provider_ref": provider["ref"], "service_user_ref": person.ref, "service_type": "HOMESUP",
            "planned_per_week": "7.00", "rate": "24.10", "start_date": "2026-11-02",
        },
    )  # fmt: skip
    run = stream_pull(name=SyncStream.Name.CARE_PACKAGE_LINES)
    assert run.parked == 1 and run.status == SyncRun.Status.OK
    parked = ParkedRow.objects.get(key=line["ref"])
    assert parked.state == ParkedRow.State.PARKED and provider["ref"] in parked.reason
    assert not CarePackageLine.objects.filter(ref=line["ref"]).exists()

    stream_pull(name=SyncStream.Name.PROVIDERS)
    stream_pull(name=SyncStream.Name.CARE_PACKAGE_LINES)
    assert CarePackageLine.objects.get(ref=line["ref"]).provider.ref == provider["ref"]
    parked.refresh_from_db()
    assert parked.state == ParkedRow.State.APPLIED


def test_bad_rows_are_skipped_and_shown_while_the_rest_of_the_page_applies(backoffice: BackOffice) -> None:
    stream, _ = SyncStream.objects.get_or_create(name=SyncStream.Name.SERVICE_TYPES)
    run = SyncRun.objects.create(stream=stream, started_at=clock.now())
    rows = [
        {
            "code": "GOOD",
            "name": "Good",
            "unit": "hours",
            "step": "0.25",
            "allows_extras": True,
            "paid_on": "actuals",
        },
        {
            "code": "BADUNIT",
            "name": "Bad",
            "unit": "fortnights",
            "step": "1",
            "allows_extras": False,
            "paid_on": "plan",
        },
        {"code": "NOSTEP", "name": "No step", "unit": "hours", "allows_extras": False, "paid_on": "plan"},
        {
            "code": "BADSTEP",
            "name": "Bad step",
            "unit": "hours",
            "step": "-1",
            "allows_extras": False,
            "paid_on": "plan",
        },
        "not an object",
    ]
    for row in rows:
        _apply_row(stream, row, run)
    assert run.applied == 1 and run.skipped == 4
    assert list(ServiceType.objects.values_list("code", flat=True)) == ["GOOD"]
    reasons = dict(ParkedRow.objects.filter(state=ParkedRow.State.SKIPPED).values_list("key", "reason"))
    assert "fortnights" in reasons["BADUNIT"] and "step" in reasons["NOSTEP"]
    assert set(reasons) == {"BADUNIT", "NOSTEP", "BADSTEP", "(not an object)"}
    # Applying the good row again changes nothing.
    _apply_row(stream, rows[0], run)
    assert run.unchanged == 1 and run.applied == 1


def test_a_failing_stream_keeps_its_cursor_and_emails_the_portal_team_once(
    backoffice: BackOffice, live_server, mailbox
) -> None:
    good = stream_pull(name=SyncStream.Name.SERVICE_TYPES)
    cursor = SyncStream.objects.get(name=SyncStream.Name.SERVICE_TYPES).cursor
    assert good.status == SyncRun.Status.OK and cursor

    # The portal's own web server answers HTML 404s: not the back office, not JSON.
    broken = BackOfficeClient(base_url=live_server.url, token="x")
    for _ in range(3):
        run = stream_pull(name=SyncStream.Name.SERVICE_TYPES, client=broken)
        assert run.status == SyncRun.Status.FAILED and "not JSON" in run.error
    stream = SyncStream.objects.get(name=SyncStream.Name.SERVICE_TYPES)
    assert stream.cursor == cursor and stream.failing_since is not None
    alerts = mailbox()
    assert len(alerts) == 1 and "Service types" in alerts[0]["Subject"]

    assert stream_pull(name=SyncStream.Name.SERVICE_TYPES).status == SyncRun.Status.OK
    stream.refresh_from_db()
    assert stream.failing_since is None and stream.alerted_at is None


def test_a_page_of_new_lines_with_one_the_database_refuses_inserts_the_others(council) -> None:
    from contrOCC_sync.inbound import _apply_page

    stream, _ = SyncStream.objects.get_or_create(name=SyncStream.Name.CARE_PACKAGE_LINES)
    run = SyncRun.objects.create(stream=stream, started_at=clock.now())
    base = {
        "provider_ref": council.provider_a.ref, "service_user_ref": council.line_a.service_user.ref,
        "service_type": council.line_a.service_type.code, "planned_per_week": "7.00", "rate": "24.10",
        "start_date": "2026-11-02", "end_date": None, "status": "active", "version": 1,
    }  # fmt: skip
    rows = [
        base | {"ref": "CPLNEW1"},
        base | {"ref": "CPLNEW2", "end_date": "2026-01-01"},  # ends before it starts: the database refuses it
        base | {"ref": "CPLNEW3"},
        base | {"ref": "CPLNEW3", "version": 2, "rate": "25.00"},  # changed again within the page
    ]
    _apply_page(stream, rows, run)
    assert set(CarePackageLine.objects.filter(ref__startswith="CPLNEW").values_list("ref", flat=True)) == {
        "CPLNEW1",
        "CPLNEW3",
    }
    assert str(CarePackageLine.objects.get(ref="CPLNEW3").rate) == "25.00"
    skipped = ParkedRow.objects.get(state=ParkedRow.State.SKIPPED)
    assert skipped.key == "CPLNEW2" and skipped.payload["end_date"] == "2026-01-01"
    assert run.skipped == 1
