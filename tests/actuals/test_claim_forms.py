"""The Excel claim form: the download's shape (header, locked references, validation, instructions),
the round trip through openpyxl, re-uploading, and every file the upload must refuse without writing
anything. Files are built in the tests: a real download edited with openpyxl, or a zip made by hand."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import time_machine
from django.core.files import uploadhandler
from django.test import Client
from django.urls import reverse

from actuals import claim_forms
from actuals.models import ActualLine, ActualsUpload, LineException
from actuals.services import actuals_generate
from portal.audit.models import AuditEvent
from portal.providers.models import CarePackageLine
from portal.uploads import UploadLimitHandler
from tests.actuals.conftest import DAY_CARE, amend, confirm, service_type
from tests.conftest import Council, client_for
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db

D = Decimal
WEEK = dt.date(2026, 11, 16)
AFTER_THE_WEEK = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # the Monday after, before the deadline


@pytest.fixture(autouse=True)
def _monday_after_the_week() -> Iterator[None]:
    with time_machine.travel(AFTER_THE_WEEK, tick=False):
        yield


@pytest.fixture
def lines(council: Council) -> list[ActualLine]:
    """Provider A's week: Alice's home support line (the council fixture's), Dev's day care line, and
    provider B's week beside it."""
    CarePackageLineFactory(
        provider=council.provider_a,
        service_user__name="Dev Dhillon",
        service_type=service_type(DAY_CARE),
        planned_per_week=D("3"),
        rate=D("45.00"),
    )
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    actuals_generate(provider=council.provider_b, week_start=WEEK, by=None)
    return list(ActualLine.objects.for_provider(council.provider_a).order_by("pk"))


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"week": WEEK, **kwargs})


def download(client: Client) -> bytes:
    response = client.get(url("claim_form_download"))
    assert response.status_code == 200
    assert response["Content-Type"] == claim_forms.XLSX_CONTENT_TYPE
    return response.content


def workbook_of(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def saved(workbook: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def headings(sheet: Any) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[claim_forms.HEADING_ROW] if cell.value}


def row_of(sheet: Any, line_id: int) -> int:
    for row in range(claim_forms.FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row, 1).value == line_id:
            return row
    raise AssertionError(f"line {line_id} is not on the form")


def edit(data: bytes, changes: dict[int, dict[str, Any]], **header: Any) -> bytes:
    """The downloaded form with cells changed, as a provider would in Excel: {line id: {heading: value}}."""
    workbook = workbook_of(data)
    sheet = workbook[claim_forms.CLAIM_SHEET]
    columns = headings(sheet)
    for line_id, values in changes.items():
        row = row_of(sheet, line_id)
        for heading, value in values.items():
            sheet.cell(row, columns[heading]).value = value
    for label, value in header.items():
        for row in range(1, claim_forms.HEADING_ROW):
            if sheet.cell(row, 1).value == label:
                sheet.cell(row, 2).value = value
    return saved(workbook)


def upload(client: Client, data: bytes, name: str = "claim-form.xlsx") -> Any:
    return client.post(url("claim_form_upload"), {"file": _file(data, name)})


def _file(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def snapshot(council: Council) -> list[tuple[Any, ...]]:
    """Everything an upload could write: every line's values and revision, and the exceptions."""
    return [
        *ActualLine.objects.order_by("pk").values_list(
            "pk", "delivered", "frustrated", "missed", "extra", "adjustment_form_ref", "comment", "revision"
        ),
        *LineException.objects.order_by("pk").values_list("pk", "line_id", "rule"),
    ]


@pytest.fixture
def nothing_written(council: Council) -> Callable[[], None]:
    """Call after the fixtures: a checker that no line, exception or audit event changed since."""
    state: dict[str, Any] = {}

    def start() -> None:
        state["before"] = snapshot(council)
        state["events"] = AuditEvent.objects.filter(action__startswith="actuals.").count()

    def check() -> None:
        assert snapshot(council) == state["before"]
        assert AuditEvent.objects.filter(action__startswith="actuals.").count() == state["events"]

    check.start = start  # type: ignore[attr-defined]
    return check


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """What became of an upload: stopped by the upload limit, made a file (in memory or on disk), written
    to a temporary file, checked by the service."""
    counts = {"stopped": 0, "files": 0, "on_disk": 0, "checked": 0}
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
    temporary = uploadhandler.TemporaryUploadedFile

    def on_disk(*args: Any, **kwargs: Any) -> Any:
        counts["on_disk"] += 1
        return temporary(*args, **kwargs)

    monkeypatch.setattr(uploadhandler, "TemporaryUploadedFile", on_disk)
    check = claim_forms.claim_form_check

    def checked(**kwargs: Any) -> Any:
        counts["checked"] += 1
        return check(**kwargs)

    monkeypatch.setattr(claim_forms, "claim_form_check", checked)
    return counts


def refused(response: Any) -> str:
    """The upload page, re-shown with its error: the text of the page."""
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "There is a problem" in page
    assert "<title>Error: " in page
    return page


# The download ----------------------------------------------------------------------------------


def test_the_download_is_a_claim_form_with_locked_references(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    response = provider_a_client.get(url("claim_form_download"))
    assert response.status_code == 200
    assert f"claim-form-{council.provider_a.ref}-2026-11-16.xlsx" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    workbook = workbook_of(response.content)
    assert workbook.sheetnames == [claim_forms.CLAIM_SHEET, claim_forms.INSTRUCTIONS_SHEET]
    sheet = workbook[claim_forms.CLAIM_SHEET]

    header = {sheet.cell(row, 1).value: sheet.cell(row, 2).value for row in range(2, 8)}
    assert header["Council"] == "Wyvern County Council"
    assert header["Provider"] == council.provider_a.name
    assert header["Provider reference"] == council.provider_a.ref
    assert header["Week commencing"].date() == WEEK
    assert header["Deadline"] == "5pm on Tuesday 24 November 2026"

    columns = headings(sheet)
    assert list(columns) == [column.heading for column in claim_forms.COLUMNS]
    alice, dev = lines
    row = row_of(sheet, alice.pk)
    assert sheet.cell(row, columns["Care package line"]).value == council.line_a.ref
    assert sheet.cell(row, columns["Client reference"]).value == council.line_a.service_user.ref
    assert sheet.cell(row, columns["Person"]).value == "Alice Ashworth"
    assert sheet.cell(row, columns["Step"]).value == 0.25
    assert sheet.cell(row, columns["Planned"]).value == 10.5
    assert sheet.cell(row, columns["Delivered"]).value == 10.5
    assert sheet.cell(row, columns["Frustrated"]).value is None  # none: left blank
    assert row_of(sheet, dev.pk) != row  # every line, once: Day care sorts before Home support
    assert sheet.max_row == claim_forms.FIRST_DATA_ROW + 1

    assert sheet.protection.sheet
    assert sheet.cell(row, columns["Person"]).protection.locked
    assert sheet.cell(row, columns["Portal line ID"]).protection.locked
    assert not sheet.cell(row, columns["Delivered"]).protection.locked
    letter = openpyxl.utils.get_column_letter(columns["Comment"])
    assert not sheet.column_dimensions[letter].protection.locked  # its empty cells are editable

    delivered = sheet.cell(row, columns["Delivered"]).coordinate
    validations = [dv for dv in sheet.data_validations.dataValidation if delivered in dv.sqref]
    assert len(validations) == 1
    assert validations[0].type == "decimal" and validations[0].operator == "greaterThanOrEqual"
    assert "steps of 0.25" in validations[0].prompt
    day_care = sheet.cell(row_of(sheet, dev.pk), columns["Delivered"]).coordinate
    assert [dv.type for dv in sheet.data_validations.dataValidation if day_care in dv.sqref] == ["whole"]

    instructions = " ".join(
        str(cell.value)
        for row in workbook[claim_forms.INSTRUCTIONS_SHEET].iter_rows()
        for cell in row
        if cell.value
    )
    assert "Leave a quantity blank for none" in instructions
    assert "Home support" in instructions and "in steps of 0.25" in instructions


def test_text_that_looks_like_a_formula_is_written_as_text(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, dev = lines
    hyperlink = '=HYPERLINK("http://evil.example/steal","Click for your remittance")'
    amend(alice, council.users["provider_a"], comment=hyperlink)
    amend(dev, council.users["provider_a"], adjustment_form_ref="+44 1234", comment="@SUM(A1:A9)")
    data = download(provider_a_client)

    sheet = workbook_of(data)[claim_forms.CLAIM_SHEET]
    columns = headings(sheet)
    for line_id, heading, text in (
        (alice.pk, "Comment", hyperlink),
        (dev.pk, "Adjustment form reference", "+44 1234"),
        (dev.pk, "Comment", "@SUM(A1:A9)"),
    ):
        cell = sheet.cell(row_of(sheet, line_id), columns[heading])
        assert cell.data_type == "s" and cell.value == text
        assert cell.quotePrefix
        assert not cell.protection.locked
    read_only = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    cells = [cell for row in read_only[claim_forms.CLAIM_SHEET].iter_rows() for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]
    read_only.close()

    # Back through the upload it is the same text: not a formula, and no change.
    response = upload(provider_a_client, data)
    assert response.status_code == 302 and response["Location"] == url("actuals_week")
    assert ActualLine.objects.get(pk=alice.pk).comment == hyperlink


def test_only_a_generated_week_has_a_claim_form(provider_a_client: Client, council: Council) -> None:
    assert provider_a_client.get(url("claim_form_download")).status_code == 404
    assert provider_a_client.get(url("claim_form_upload")).status_code == 404


# The round trip --------------------------------------------------------------------------------


def test_round_trip_download_edit_upload_preview_apply(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, dev = lines
    data = edit(
        download(provider_a_client),
        {
            alice.pk: {"Delivered": 9.25, "Frustrated": 1.25, "Comment": "In hospital on Thursday"},
            dev.pk: {"Delivered": 2},  # no comment: a blocking exception once applied
        },
    )
    response = upload(provider_a_client, data)
    assert response.status_code == 302
    upload_row = ActualsUpload.objects.get()
    assert response["Location"] == url("claim_form_preview", upload=upload_row.pk)
    assert ActualLine.objects.get(pk=alice.pk).delivered == D("10.50")  # nothing applied yet

    preview = provider_a_client.get(response["Location"]).content.decode()
    assert "Check your claim form" in preview and "There is a problem" not in preview
    assert preview.count('data-testid="change-row"') == 4
    assert "Alice Ashworth" in preview and "In hospital on Thursday" in preview
    assert ">10.5<" in preview and ">9.25<" in preview
    assert "Apply the changes to 2 lines" in preview

    applied = provider_a_client.post(response["Location"], follow=True)
    assert applied.redirect_chain[-1][0] == url("actuals_week")
    assert "Claim form applied: 2 lines changed (4 values)." in applied.content.decode()

    alice_now = ActualLine.objects.get(pk=alice.pk)
    assert (alice_now.delivered, alice_now.frustrated, alice_now.comment) == (
        D("9.25"),
        D("1.25"),
        "In hospital on Thursday",
    )
    assert alice_now.amended and alice_now.amended_by == council.users["provider_a"]
    assert alice_now.revision == alice.revision + 1
    assert alice_now.amount == D("245.70")  # (9.25 + 1.25) × £23.40
    assert not alice_now.exceptions.exists()
    assert set(ActualLine.objects.get(pk=dev.pk).exceptions.values_list("rule", flat=True)) == {"ACT-04"}

    event = AuditEvent.objects.get(action="actuals.claim_form.applied")
    assert event.data == {
        "upload": str(upload_row.pk),
        "file": "claim-form.xlsx",
        "rows": 2,
        "lines": 2,
        "fields": 4,
    }
    per_line = AuditEvent.objects.filter(action="actuals.line.amended", object_id=str(alice.pk)).get()
    assert per_line.data["before"]["delivered"] == "10.50" and per_line.data["after"]["delivered"] == "9.25"
    assert ActualsUpload.objects.get().applied_at is not None

    # The same file again changes nothing, and says so.
    again = upload(provider_a_client, data)
    assert again.status_code == 302 and again["Location"] == url("actuals_week")
    page = provider_a_client.get(again["Location"]).content.decode()
    assert "No changes: the claim form&#x27;s 2 rows match your lines as they are." in page
    assert ActualsUpload.objects.count() == 1
    assert ActualLine.objects.get(pk=alice.pk).revision == alice_now.revision


def test_an_untouched_download_changes_nothing(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    nothing_written.start()
    response = upload(provider_a_client, download(provider_a_client))
    assert response.status_code == 302 and response["Location"] == url("actuals_week")
    nothing_written()
    assert not ActualsUpload.objects.exists()


def test_applying_twice_or_after_the_line_changed_writes_nothing(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, _dev = lines
    data = edit(download(provider_a_client), {alice.pk: {"Delivered": 9, "Comment": "Short visit"}})
    preview_url = upload(provider_a_client, data)["Location"]
    amend(alice, council.users["provider_a_admin"], comment="Someone else saved first")

    page = provider_a_client.post(preview_url).content.decode()
    assert "1 of the lines in this upload has changed since it was checked" in page
    assert "<title>Error: " in page
    assert ActualLine.objects.get(pk=alice.pk).delivered == D("10.50")
    assert not AuditEvent.objects.filter(action="actuals.claim_form.applied").exists()

    fresh = upload(provider_a_client, data)["Location"]
    provider_a_client.post(fresh)
    page = provider_a_client.post(fresh).content.decode()
    assert "This upload has already been applied." in page
    assert AuditEvent.objects.filter(action="actuals.claim_form.applied").count() == 1


def test_another_providers_upload_is_not_there(
    provider_a_client: Client, provider_b_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, _dev = lines
    data = edit(download(provider_a_client), {alice.pk: {"Delivered": 9, "Comment": "Short visit"}})
    preview_url = upload(provider_a_client, data)["Location"]
    assert provider_b_client.get(preview_url).status_code == 404
    assert provider_b_client.post(preview_url).status_code == 404
    assert ActualLine.objects.get(pk=alice.pk).delivered == D("10.50")


def test_an_expired_upload_must_be_uploaded_again(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, _dev = lines
    data = edit(download(provider_a_client), {alice.pk: {"Delivered": 9, "Comment": "Short visit"}})
    preview_url = upload(provider_a_client, data)["Location"]
    # Two hours on (the session's idle limit is shorter, so the upload's clock is moved, not the test's).
    upload_row = ActualsUpload.objects.get()
    assert upload_row.expires_at == AFTER_THE_WEEK + claim_forms.UPLOAD_LIFETIME
    ActualsUpload.objects.update(expires_at=AFTER_THE_WEEK)
    response = provider_a_client.get(preview_url)
    assert response["Location"] == url("claim_form_upload")
    assert "has expired" in provider_a_client.post(preview_url).content.decode()
    assert ActualLine.objects.get(pk=alice.pk).delivered == D("10.50")


# Rows with problems: listed by row and column, and nothing can be applied ------------------------


def problems_page(client: Client, data: bytes) -> tuple[str, str]:
    response = upload(client, data)
    assert response.status_code == 302, response.content.decode()
    page = client.get(response["Location"]).content.decode()
    assert "<title>Error: Check your claim form" in page
    assert "There is a problem" in page
    assert "Apply the changes" not in page
    return page, response["Location"]


def test_a_formula_is_a_problem_and_nothing_is_applied(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    alice, dev = lines
    data = edit(
        download(provider_a_client),
        {alice.pk: {"Delivered": "=9+1"}, dev.pk: {"Delivered": 2, "Comment": "Closed on Friday"}},
    )
    nothing_written.start()
    page, preview_url = problems_page(provider_a_client, data)
    sheet = workbook_of(data)[claim_forms.CLAIM_SHEET]
    row = row_of(sheet, alice.pk)
    assert f"Row {row}, column K (Delivered): The cell holds a formula" in page
    assert "What it would change once fixed" in page and "Closed on Friday" in page

    response = provider_a_client.post(preview_url)
    assert "The claim form has problems" in response.content.decode()
    nothing_written()


def test_a_formula_on_another_sheet_refuses_the_file(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    workbook = workbook_of(download(provider_a_client))
    workbook[claim_forms.INSTRUCTIONS_SHEET]["D4"] = '=WEBSERVICE("http://evil.example")'
    nothing_written.start()
    page = refused(upload(provider_a_client, saved(workbook)))
    assert "Cell D4 of the “Instructions” sheet holds a formula" in page
    nothing_written()
    assert not ActualsUpload.objects.exists()


def test_another_providers_line_reads_as_not_one_of_yours(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    alice, dev = lines
    b_line = ActualLine.objects.get(provider=council.provider_b)
    data = edit(
        download(provider_a_client),
        {
            alice.pk: {"Portal line ID": b_line.pk, "Care package line": None},
            dev.pk: {"Portal line ID": 99999999},
        },
    )
    nothing_written.start()
    page, _ = problems_page(provider_a_client, data)
    assert f"Line {b_line.pk} is not one of your lines for this week" in page
    assert "Line 99999999 is not one of your lines for this week" in page
    assert "Bernard Booth" not in page and council.line_b.ref not in page
    nothing_written()


def test_a_line_twice_is_a_problem(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    alice, _dev = lines
    sheet_data = download(provider_a_client)
    workbook = workbook_of(sheet_data)
    sheet = workbook[claim_forms.CLAIM_SHEET]
    first = row_of(sheet, alice.pk)
    copy = sheet.max_row + 1
    for column in range(1, len(claim_forms.COLUMNS) + 1):
        sheet.cell(copy, column).value = sheet.cell(first, column).value
    sheet.cell(copy, headings(sheet)["Delivered"]).value = 5
    nothing_written.start()
    page, _ = problems_page(provider_a_client, saved(workbook))
    assert f"Row {copy}, column A (Portal line ID): Line {alice.pk} is also on row {first}" in page
    nothing_written()


def test_unreadable_values_and_confirmed_lines_are_problems(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    alice, dev = lines
    data = edit(
        download(provider_a_client),
        {
            alice.pk: {
                "Delivered": "lots",
                "Missed": -1,
                "Extra": 1.255,
                "Adjustment form reference": "R" * 65,
            },
            dev.pk: {"Portal line ID": "abc"},
        },
    )
    nothing_written.start()
    page, _ = problems_page(provider_a_client, data)
    for text in (
        "Delivered must be a number, like 7.25",
        "Missed must be 0 or more",
        "Extra must have no more than 2 decimal places",
        "The adjustment form reference must be 64 characters or fewer",
        "The portal line ID must be the number the form was downloaded with",
    ):
        assert text in page
    nothing_written()


def test_a_confirmed_line_cannot_be_changed_by_upload(
    provider_a_client: Client, council: Council, lines: list[ActualLine]
) -> None:
    alice, dev = lines
    data = download(provider_a_client)
    amend(dev, council.users["provider_a"], delivered="3")
    confirm(council.provider_a, council.users["provider_a"], week_start=WEEK)
    changed = edit(data, {alice.pk: {"Delivered": 8, "Comment": "Late"}})
    page, _ = problems_page(provider_a_client, changed)
    assert f"Line {alice.pk} (Alice Ashworth) is sent: a claim form cannot change a confirmed line" in page
    assert ActualLine.objects.get(pk=alice.pk).delivered == D("10.50")

    # Unchanged rows of a confirmed week are no problem: the form as it was downloaded changes nothing.
    assert upload(provider_a_client, data)["Location"] == url("actuals_week")


# Files refused as a whole, with nothing written -------------------------------------------------


def _zip(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _macro_workbook(data: bytes) -> bytes:
    parts = _parts(data)
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 a VBA project"
    return _zip(parts)


def _macro_content_type(data: bytes) -> bytes:
    parts = _parts(data)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return _zip(parts)


def _ratio_bomb(data: bytes) -> bytes:
    parts = _parts(data)
    parts["xl/worksheets/sheet1.xml"] = b" " * (20 * 1024 * 1024)  # 20 MB of spaces: ~1,000× smaller packed
    return _zip(parts)


def _size_bomb(data: bytes) -> bytes:
    parts = _parts(data)
    for number in range(14):  # 14 × 5 MB of modestly compressible XML: over 64 MB unpacked
        parts[f"xl/worksheets/sheet{number + 3}.xml"] = (b"<row>%d</row>" % number) * (5 * 1024 * 1024 // 12)
    return _zip(parts)


def _no_content_types(data: bytes) -> bytes:
    parts = _parts(data)
    del parts["[Content_Types].xml"]
    return _zip(parts)


def _other_week(data: bytes) -> bytes:
    return edit(data, {}, **{"Week commencing": dt.datetime(2026, 11, 9)})


def _other_provider(data: bytes) -> bytes:
    return edit(data, {}, **{"Provider reference": "PRV99999"})


def _no_delivered_column(data: bytes) -> bytes:
    workbook = workbook_of(data)
    sheet = workbook[claim_forms.CLAIM_SHEET]
    sheet.cell(claim_forms.HEADING_ROW, headings(sheet)["Delivered"]).value = "Hours"
    return saved(workbook)


def _broken_sheet_xml(data: bytes) -> bytes:
    parts = _parts(data)
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:2000]
    return _zip(parts)


def _entity_expansion(data: bytes) -> bytes:
    """A billion-laughs sheet: defusedxml (which openpyxl uses when it is installed) refuses entities."""
    parts = _parts(data)
    sheet = parts["xl/worksheets/sheet1.xml"]
    entities = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    parts["xl/worksheets/sheet1.xml"] = entities + sheet.replace(b"Short visit", b"&lol2;")
    return _zip(parts)


REFUSALS: list[tuple[str, Callable[[bytes], bytes], str]] = [
    (
        "text file named .xlsx",
        lambda data: b"Portal line ID,Delivered\n123,7.5\n",
        "is not an Excel workbook",
    ),
    ("pdf named .xlsx", lambda data: b"%PDF-1.7\n" + data, "is not an Excel workbook"),
    (
        "a zip of something else",
        lambda data: _zip({"word/document.xml": b"<w/>"}),
        "is not an Excel workbook",
    ),
    ("no content types", _no_content_types, "is not an Excel workbook"),
    ("old Excel format", lambda data: claim_forms.OLE_MAGIC + b"\0" * 512, "older Excel format (.xls)"),
    ("macro project inside", _macro_workbook, "macro-enabled workbook (.xlsm)"),
    ("macro content type", _macro_content_type, "macro-enabled workbook (.xlsm)"),
    ("zip bomb by ratio", _ratio_bomb, "it may be a zip bomb"),
    ("zip bomb by size", _size_bomb, "it may be a zip bomb"),
    ("damaged sheet", _broken_sheet_xml, "could not be read as an Excel workbook"),
    ("entity expansion", _entity_expansion, "could not be read as an Excel workbook"),
    ("a different week", _other_week, "is for the week commencing Monday 9 November 2026, not Monday 16"),
    ("another provider's form", _other_provider, "This claim form is not for Airedale Home Care Ltd"),
    ("headings changed", _no_delivered_column, "The claim form has no “Delivered” column"),
]


@pytest.mark.parametrize(("case", "make", "message"), REFUSALS, ids=[case for case, _m, _t in REFUSALS])
def test_files_refused_with_a_clear_message_and_nothing_written(
    provider_a_client: Client,
    council: Council,
    lines: list[ActualLine],
    nothing_written: Any,
    case: str,
    make: Callable[[bytes], bytes],
    message: str,
) -> None:
    alice, _dev = lines
    data = make(edit(download(provider_a_client), {alice.pk: {"Delivered": 9, "Comment": "Short visit"}}))
    nothing_written.start()
    page = refused(upload(provider_a_client, data))
    assert message in page, page
    assert 'class="govuk-file-upload govuk-file-upload--error"' in page
    nothing_written()
    assert not ActualsUpload.objects.exists()


def test_an_oversized_file_is_refused_unread(
    provider_a_client: Client, council: Council, lines: list[ActualLine], nothing_written: Any
) -> None:
    nothing_written.start()
    page = refused(upload(provider_a_client, claim_forms.ZIP_MAGIC + b"\0" * claim_forms.MAX_UPLOAD_BYTES))
    assert "The claim form must be smaller than 5 MB" in page
    nothing_written()
    with pytest.raises(claim_forms.UploadRefused, match=r"it must be smaller than 5\.0 MB"):
        claim_forms.xlsx_container_check(b"PK\x03\x04" + b"\0" * claim_forms.MAX_UPLOAD_BYTES)


@pytest.mark.parametrize(
    "size",
    [claim_forms.MAX_UPLOAD_BYTES + 1, 3 * claim_forms.MAX_UPLOAD_BYTES],
    ids=["just over: counted as it arrives", "far over: its declared length"],
)
def test_an_oversized_file_is_refused_as_it_arrives(
    provider_a_client: Client,
    council: Council,
    lines: list[ActualLine],
    nothing_written: Any,
    stored: dict[str, int],
    size: int,
) -> None:
    nothing_written.start()
    page = refused(upload(provider_a_client, b"\0" * size))
    assert "The claim form must be smaller than 5 MB" in page
    assert 'class="govuk-file-upload govuk-file-upload--error"' in page
    assert stored == {"stopped": 1, "files": 0, "on_disk": 0, "checked": 0}
    nothing_written()
    assert not ActualsUpload.objects.exists()


def test_the_upload_checks_csrf_itself(
    council: Council, lines: list[ActualLine], stored: dict[str, int]
) -> None:
    """The view is exempt from the CSRF middleware only so that the limit is in place before the body is
    read (portal/uploads.py); it checks the token itself, which comes before the file."""
    client = client_for(council.users["provider_a"])
    client.handler.enforce_csrf_checks = True
    page = client.get(url("claim_form_upload")).content.decode()
    assert page.index('name="csrfmiddlewaretoken"') < page.index('type="file"')
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None
    too_big = 2 * claim_forms.MAX_UPLOAD_BYTES

    no_token = client.post(url("claim_form_upload"), {"file": _file(b"\0" * too_big, "claim-form.xlsx")})
    assert no_token.status_code == 403
    with_token = client.post(
        url("claim_form_upload"),
        {"csrfmiddlewaretoken": match[1], "file": _file(b"\0" * too_big, "claim-form.xlsx")},
    )
    assert "The claim form must be smaller than 5 MB" in refused(with_token)
    assert stored["files"] == 0 and stored["checked"] == 0


def test_no_file_chosen(provider_a_client: Client, council: Council, lines: list[ActualLine]) -> None:
    page = refused(provider_a_client.post(url("claim_form_upload"), {}))
    assert "Select the claim form to upload" in page


def test_the_upload_page(provider_a_client: Client, council: Council, lines: list[ActualLine]) -> None:
    page = provider_a_client.get(url("claim_form_upload")).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'class="govuk-file-upload"' in page and 'type="file"' in page
    assert f'href="{url("claim_form_download")}"' in page
    week_page = provider_a_client.get(url("actuals_week")).content.decode()
    assert f'href="{url("claim_form_download")}"' in week_page
    assert f'href="{url("claim_form_upload")}"' in week_page
    assert f'href="{url("visits_upload")}"' in week_page


def test_a_problem_never_reaches_a_care_package_line(council: Council, lines: list[ActualLine]) -> None:
    """Applying goes through the lines only: the care package lines the back office publishes stay as
    they are."""
    before = list(CarePackageLine.objects.order_by("pk").values_list("pk", "version", "planned_per_week"))
    alice, _dev = lines
    week = alice.week
    data = claim_forms.claim_form_workbook(provider=council.provider_a, week=week)
    changed = edit(data, {alice.pk: {"Delivered": 9, "Comment": "Short visit"}})
    result = claim_forms.claim_form_check(
        provider=council.provider_a,
        week=week,
        by=council.users["provider_a"],
        file_name="x.xlsx",
        data=changed,
    )
    assert result.upload is not None and result.lines_changed == 1 and result.rows == 2
    claim_forms.claim_form_apply(
        provider=council.provider_a, upload_id=result.upload.pk, by=council.users["provider_a"]
    )
    assert (
        list(CarePackageLine.objects.order_by("pk").values_list("pk", "version", "planned_per_week"))
        == before
    )
