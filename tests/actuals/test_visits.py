"""Electronic call monitoring: a CSV of visits matched to the week's hours-based lines, delivered hours
rounded to the step (half up), unmatched visits listed with why, applied all-or-nothing; and the files
the import refuses without writing anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files import uploadhandler
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from actuals import visits
from actuals.models import ActualLine, ActualsUpload
from actuals.services import actuals_generate
from portal.audit.models import AuditEvent
from portal.uploads import UploadLimitHandler
from tests.actuals.conftest import DAY_CARE, HOME_SUPPORT, amend, service_type
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ServiceUserFactory

pytestmark = pytest.mark.django_db

D = Decimal
WEEK = dt.date(2026, 11, 16)
AFTER_THE_WEEK = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ONE_TO_ONE: dict[str, Any] = {
    **HOME_SUPPORT,
    "code": "ONE_TO_ONE",
    "name": "1-to-1 support",
    "tolerance_percent": D("5"),
}
EXTRA_CARE: dict[str, Any] = {**HOME_SUPPORT, "code": "EXTRA_CARE", "name": "Extra care"}
HEADER = "Client reference,Date,Start,End,Carer"


@pytest.fixture(autouse=True)
def _monday_after_the_week() -> Iterator[None]:
    with time_machine.travel(AFTER_THE_WEEK, tick=False):
        yield


class People:
    """Provider A's clients this week, each a case of the matching."""

    def __init__(self, council: Council) -> None:
        a = council.provider_a
        self.alice = council.line_a  # one home support line
        self.bob_home = CarePackageLineFactory(
            provider=a, service_user__name="Bob Barker", service_user__ref="CL-BOB"
        )
        self.bob_one = CarePackageLineFactory(
            provider=a, service_user=self.bob_home.service_user, service_type=service_type(ONE_TO_ONE)
        )  # two hours lines: the home support one takes the visits
        carol = ServiceUserFactory(name="Carol Cope", ref="CL-CAROL")
        self.carol_extra = CarePackageLineFactory(
            provider=a, service_user=carol, service_type=service_type(EXTRA_CARE)
        )
        self.carol_one = CarePackageLineFactory(
            provider=a, service_user=carol, service_type=service_type(ONE_TO_ONE)
        )
        self.dev = CarePackageLineFactory(
            provider=a,
            service_user__name="Dev Dhillon",
            service_user__ref="CL-DEV",
            service_type=service_type(DAY_CARE),
        )
        self.bernard = council.line_b  # provider B's client
        actuals_generate(provider=a, week_start=WEEK, by=None)
        actuals_generate(provider=council.provider_b, week_start=WEEK, by=None)

    def actual(self, line: Any) -> ActualLine:
        return ActualLine.objects.get(care_package_line=line)


@pytest.fixture
def people(council: Council) -> People:
    return People(council)


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"week": WEEK, **kwargs})


def upload(client: Client, text: str | bytes, name: str = "visits.csv") -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        url("visits_upload"), {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    )


def csv_of(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_visits_become_delivered_hours_and_unmatched_visits_are_listed(
    provider_a_client: Client, council: Council, people: People
) -> None:
    alice = people.alice.service_user.ref
    bernard = people.bernard.service_user.ref
    text = csv_of(
        f"{alice},2026-11-16,09:00,09:50,Sam Carer",  # 50 minutes
        f"{alice},17/11/2026,09:00,10:00,Sam Carer",  # 1 hour
        f"{alice},2026-11-18,13:00,14:17:30,Jo Carer",  # 1 hour 17.5 minutes: 3h 7.5m in all, 3.125 → 3.25
        f"{alice},2026-11-18,13:00,14:17:30,Jo Carer",  # the same visit twice: listed, counted once
        "CL-BOB,2026-11-19,08:00,09:30,Sam Carer",  # goes on Bob's home support line: 1.5
        "CL-CAROL,2026-11-19,08:00,09:00,Sam Carer",  # two hours lines, neither home support
        "CL-DEV,2026-11-19,08:00,09:00,Sam Carer",  # day care only
        f"{bernard},2026-11-19,08:00,09:00,Sam Carer",  # provider B's client
        "CL-NOBODY,2026-11-19,08:00,09:00,Sam Carer",  # nobody's
        f"{alice},2026-11-23,08:00,09:00,Sam Carer",  # the Monday after
        f"{alice},2026-11-20,10:00,10:00,Sam Carer",  # ends as it starts
        f"{alice},2026-11-20,9.30,10:00,Sam Carer",  # not a time
        f"{alice},20 Nov,09:30,10:00,Sam Carer",  # not a date
        ",2026-11-20,09:30,10:00,Sam Carer",  # no client
    )
    response = upload(provider_a_client, text)
    assert response.status_code == 302, response.content.decode()
    preview = provider_a_client.get(response["Location"]).content.decode()

    assert preview.count('data-testid="visit-line"') == 2
    assert preview.count('data-testid="unmatched-visit"') == 10
    for reason in (
        "The same visit is on row 4",
        "Carol Cope has 2 hours-based lines this week",
        "Dev Dhillon has no hours-based line with you this week",
        f"{bernard} is not one of your clients with a line this week",
        "CL-NOBODY is not one of your clients with a line this week",
        "23 Nov 2026 is not in this week (16 Nov 2026 to 22 Nov 2026)",
        "The visit starts and ends at 10:00",
        "The start time “9.30” is not a time: use 09:30",
        "“20 Nov” is not a date: use 24/11/2026 or 2026-11-24",
        "The visit has no client reference",
    ):
        assert reason in preview, reason
    assert "Bernard Booth" not in preview  # another provider's client is never named
    assert "Set delivered on 2 lines" in preview
    alice_line = people.actual(people.alice)
    assert alice_line.delivered == D("10.50")  # nothing applied yet

    upload_row = ActualsUpload.objects.get()
    by_line = {change["line"]: change for change in upload_row.changes}
    assert by_line[alice_line.pk]["computed"] == "3.25" and by_line[alice_line.pk]["visits"] == 3
    assert by_line[people.actual(people.bob_home).pk]["computed"] == "1.50"

    applied = provider_a_client.post(response["Location"], follow=True)
    assert "Visits applied: delivered hours set on 2 lines." in applied.content.decode()
    assert people.actual(people.alice).delivered == D("3.25")
    assert people.actual(people.bob_home).delivered == D("1.50")
    assert people.actual(people.bob_one).delivered == D("10.50")  # untouched
    assert people.actual(people.carol_extra).delivered == D("10.50")
    alice_line = people.actual(people.alice)
    assert alice_line.amended_by == council.users["provider_a"]
    assert "ACT-04" in set(alice_line.exceptions.values_list("rule", flat=True))  # a variance needs a comment
    event = AuditEvent.objects.get(action="actuals.visits.applied")
    assert event.data["lines"] == 2 and event.data["unmatched"] == 10 and event.data["visits"] == 14


def test_rounding_is_half_up_to_the_step(provider_a_client: Client, council: Council, people: People) -> None:
    alice = people.alice.service_user.ref
    # 7 minutes 30 seconds is exactly half a quarter hour: half up makes it 0.25 (banker's rounding: 0).
    response = upload(provider_a_client, csv_of(f"{alice},2026-11-16,09:00:00,09:07:30,Sam Carer"))
    provider_a_client.post(response["Location"])
    assert people.actual(people.alice).delivered == D("0.25")


def test_a_visit_over_midnight_ends_the_next_day_and_counts_in_the_week_it_started(
    provider_a_client: Client, council: Council, people: People
) -> None:
    alice = people.alice.service_user.ref
    response = upload(
        provider_a_client,
        csv_of(
            f"{alice},2026-11-18,22:30,00:15,Sam Carer",  # Wednesday night into Thursday: 1.75 hours
            f"{alice},22/11/2026,23:00,01:30,Jo Carer",  # Sunday night into the next week: 2.5, this week's
            f"{alice},2026-11-15,23:00,01:30,Jo Carer",  # the Sunday before: last week's, ending in this one
            "CL-BOB,2026-11-16,23:59:30,00:00:00,Sam Carer",  # half a minute
        ),
    )
    assert response.status_code == 302, response.content.decode()
    preview = provider_a_client.get(response["Location"]).content.decode()
    assert preview.count('data-testid="unmatched-visit"') == 1
    assert "15 Nov 2026 is not in this week (16 Nov 2026 to 22 Nov 2026)" in preview
    by_line = {change["line"]: change for change in ActualsUpload.objects.get().changes}
    alice_line = by_line[people.actual(people.alice).pk]
    assert (alice_line["computed"], alice_line["visits"]) == ("4.25", 2)
    assert by_line[people.actual(people.bob_home).pk]["computed"] == "0.00"  # half a minute rounds to none


def test_the_same_file_again_changes_nothing(
    provider_a_client: Client, council: Council, people: People
) -> None:
    text = csv_of("CL-BOB,2026-11-16,09:00,11:00,Sam Carer")
    provider_a_client.post(upload(provider_a_client, text)["Location"])
    line = people.actual(people.bob_home)
    assert line.delivered == D("2.00")

    again = upload(provider_a_client, text)
    assert again["Location"] == url("actuals_week")
    page = provider_a_client.get(again["Location"]).content.decode()
    assert "No changes: the 1 visit in the file give the delivered hours your lines already have." in page
    assert people.actual(people.bob_home).revision == line.revision
    assert ActualsUpload.objects.count() == 1


def test_confirmed_lines_are_shown_not_changed(
    provider_a_client: Client, council: Council, people: People
) -> None:
    line = people.actual(people.bob_home)
    ActualLine.objects.filter(pk=line.pk).update(status=ActualLine.Status.SENT, confirmed_at=AFTER_THE_WEEK)
    response = upload(provider_a_client, csv_of("CL-BOB,2026-11-16,09:00,11:00,Sam Carer"))
    page = provider_a_client.get(response["Location"]).content.decode()
    assert "Confirmed: not changed" in page and "Set delivered" not in page
    assert "nothing to apply" in provider_a_client.post(response["Location"]).content.decode()
    assert people.actual(people.bob_home).delivered == D("10.50")


def test_a_line_changed_since_the_check_stops_the_whole_import(
    provider_a_client: Client, council: Council, people: People
) -> None:
    response = upload(
        provider_a_client,
        csv_of(
            "CL-BOB,2026-11-16,09:00,11:00,Sam Carer",
            f"{people.alice.service_user.ref},2026-11-16,09:00,10:00,Jo",
        ),
    )
    amend(people.actual(people.bob_home), council.users["provider_a_admin"], comment="Saved first")
    page = provider_a_client.post(response["Location"]).content.decode()
    assert "1 of the lines in this upload has changed since it was checked" in page
    assert people.actual(people.alice).delivered == D("10.50")
    assert not AuditEvent.objects.filter(action="actuals.visits.applied").exists()


def test_another_providers_import_is_not_there(
    provider_a_client: Client, provider_b_client: Client, council: Council, people: People
) -> None:
    preview_url = upload(provider_a_client, csv_of("CL-BOB,2026-11-16,09:00,11:00,Sam Carer"))["Location"]
    assert provider_b_client.get(preview_url).status_code == 404
    assert provider_b_client.post(preview_url).status_code == 404
    claim_form_url = preview_url.replace("/visits/", "/claim-form/")
    assert provider_a_client.get(claim_form_url).status_code == 404  # a visits upload is not a claim form


REFUSED: list[tuple[str, bytes, str]] = [
    (
        "latin-1 text",
        "Client reference,Date,Start,End,Carer\nCL-BOB,2026-11-16,09:00,10:00,Zoë\n".encode("latin-1"),
        "is not UTF-8 text",
    ),
    ("an Excel workbook", b"PK\x03\x04" + b"\0" * 100, "is not a CSV file of visits"),
    ("binary", b"\x00\x01\x02 binary", "is not a CSV file of visits"),
    (
        "no carer column",
        b"Client reference,Date,Start,End\nCL-BOB,2026-11-16,09:00,10:00\n",
        "It has no “carer” column.",
    ),
    ("headings only", HEADER.encode() + b"\n", "The file has no visits in it"),
    (
        "an unclosed quote",
        b'Client reference,Date,Start,End,Carer\n"CL-BOB,2026-11-16,09:00,10:00,Sam\n',
        "is not a CSV file",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), REFUSED, ids=[case for case, _d, _m in REFUSED])
def test_files_refused_with_nothing_written(
    provider_a_client: Client, council: Council, people: People, case: str, data: bytes, message: str
) -> None:
    before = list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "revision"))
    response = upload(provider_a_client, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Error: " in page and message in page, page
    assert list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "revision")) == before
    assert not ActualsUpload.objects.exists()


def test_too_many_rows_or_too_big_is_refused(
    provider_a_client: Client, council: Council, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(visits, "MAX_VISIT_ROWS", 3)
    rows = [f"CL-BOB,2026-11-16,0{hour}:00,0{hour}:30,Sam" for hour in range(4)]
    assert "more than 3 visits" in upload(provider_a_client, csv_of(*rows)).content.decode()
    big = csv_of(*["CL-BOB,2026-11-16,09:00,09:30,Sam Carer"] * 140_000)
    assert "The file of visits must be smaller than 5 MB" in upload(provider_a_client, big).content.decode()
    with pytest.raises(visits.UploadRefused, match="must be smaller than 5 MB"):
        visits.visits_check(
            provider=council.provider_a,
            week=people.actual(people.alice).week,
            by=council.users["provider_a"],
            file_name="big.csv",
            data=big.encode(),
        )
    assert not ActualsUpload.objects.exists()


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """What became of an upload: stopped by the upload limit, made a file by Django's handlers, checked."""
    counts = {"stopped": 0, "files": 0, "checked": 0}
    stop = UploadLimitHandler._stop

    def stopped(self: UploadLimitHandler) -> None:
        counts["stopped"] += 1
        stop(self)

    monkeypatch.setattr(UploadLimitHandler, "_stop", stopped)
    for handler in (uploadhandler.MemoryFileUploadHandler, uploadhandler.TemporaryFileUploadHandler):
        complete = handler.file_complete

        def file_complete(self: Any, file_size: int, complete: Any = complete) -> Any:
            made = complete(self, file_size)
            counts["files"] += made is not None
            return made

        monkeypatch.setattr(handler, "file_complete", file_complete)
    check = visits.visits_check

    def checked(**kwargs: Any) -> Any:
        counts["checked"] += 1
        return check(**kwargs)

    monkeypatch.setattr(visits, "visits_check", checked)
    return counts


@pytest.mark.parametrize(
    "size", [visits.MAX_VISITS_BYTES + 1, 4 * visits.MAX_VISITS_BYTES], ids=["just over", "far over"]
)
def test_an_oversized_file_is_refused_as_it_arrives(
    provider_a_client: Client, council: Council, people: People, stored: dict[str, int], size: int
) -> None:
    before = list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "revision"))
    line = "CL-BOB,2026-11-16,09:00,09:30,Sam Carer\n"
    data = (csv_of() + line * (size // len(line) + 1)).encode()[:size]
    response = upload(provider_a_client, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Error: " in page and "The file of visits must be smaller than 5 MB" in page
    assert stored == {"stopped": 1, "files": 0, "checked": 0}
    assert list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "revision")) == before
    assert not ActualsUpload.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="actuals.visits").exists()


def test_headings_are_matched_loosely_and_a_bom_is_fine(
    provider_a_client: Client, council: Council, people: People
) -> None:
    text = (
        "\ufeffCarer Name,Visit Date,Start Time,End Time,CLIENT_REF\r\nSam,16/11/2026,09:00,10:45,CL-BOB\r\n"
    )
    response = upload(provider_a_client, text.encode("utf-8"))
    provider_a_client.post(response["Location"])
    assert people.actual(people.bob_home).delivered == D("1.75")


def test_the_upload_page(provider_a_client: Client, council: Council, people: People) -> None:
    page = provider_a_client.get(url("visits_upload")).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'class="govuk-file-upload"' in page
