"""The thread pages: a query sent in two steps with a file, text shown as typed, files checked from their
content and refused while they arrive when too big, downloads served only as attachments, the unread
count in the navigation, and the council's reply, answer and outcome."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disputes.models import Attachment, Team, Thread
from disputes.services import ATTACHMENT_MAX_BYTES
from tests.conftest import Council, client_for

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def send_query(client, **extra):  # type: ignore[no-untyped-def]
    step = client.post(reverse("query_new"), {"query_type": "payment_query"})
    assert step.status_code == 302 and step["Location"] == reverse(
        "query_write", kwargs={"query_type": "payment_query"}
    )
    data = {
        "subject": "Short paid",
        "person": "",
        "body": "<script>alert(1)</script> Two hours missing",
        **extra,
    }
    return client.post(step["Location"], data)


def test_a_query_is_sent_and_its_text_shown_as_typed(council: Council) -> None:
    client = client_for(council.users["provider_a"])
    response = send_query(client, attachments=[SimpleUploadedFile("remittance.pdf", PDF, "application/pdf")])
    thread = Thread.objects.get()
    assert response["Location"] == reverse("thread", kwargs={"pk": thread.pk})
    assert (thread.team.code, thread.query_type, thread.state) == (
        "payments",
        "payment_query",
        "awaiting_council",
    )

    page = client.get(response["Location"]).content.decode()
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; Two hours missing" in page and "<script>alert(1)" not in page
    )
    link = re.search(r'href="([^"]+)" data-testid="attachment">remittance.pdf<', page)
    assert link is not None
    download = client.get(link.group(1))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert client_for(council.users["provider_b"]).get(link.group(1)).status_code == 404


def test_a_disguised_file_is_refused_with_a_clear_message(council: Council) -> None:
    client = client_for(council.users["provider_a"])
    fake = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")
    page = send_query(client, attachments=[fake]).content.decode()
    assert (
        "<title>Error: " in page
        and "invoice is not a PDF, an image (PNG, JPEG, GIF) or an Excel workbook" in page
    )
    assert "Two hours missing" in page  # nothing typed is lost
    assert not Thread.objects.exists() and not Attachment.objects.exists()


def test_an_oversized_file_is_refused_as_it_arrives(council: Council, tmp_path) -> None:
    client = client_for(council.users["provider_a"])
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * ATTACHMENT_MAX_BYTES, "application/pdf")
    page = send_query(client, attachments=[big]).content.decode()
    assert "Each file must be smaller than 10 MB" in page
    assert not Thread.objects.exists() and not (tmp_path / "files").exists()


def test_the_unread_count_is_in_the_navigation(council: Council) -> None:
    send_query(client_for(council.users["provider_a"]))
    finance = council.users["finance"]
    Team.objects.get(code="payments").members.add(finance)
    staff = client_for(finance)
    home = staff.get(reverse("council_threads")).content.decode()
    assert re.search(r'data-testid="unread-count">1<span class="govuk-visually-hidden"> unread', home)
    thread = Thread.objects.get()
    staff.get(reverse("council_thread", kwargs={"pk": thread.pk}))
    assert 'data-testid="unread-count"' not in staff.get(reverse("council_threads")).content.decode()


def test_the_council_replies_then_answers(council: Council) -> None:
    send_query(client_for(council.users["provider_a"]))
    thread = Thread.objects.get()
    staff = client_for(council.users["finance"])
    url = reverse("council_thread", kwargs={"pk": thread.pk})
    assert staff.post(url, {"body": "Which week?"}).status_code == 302
    thread.refresh_from_db()
    assert thread.state == Thread.State.AWAITING_PROVIDER
    empty = staff.post(reverse("council_thread_answer", kwargs={"pk": thread.pk}), {"reason": " "})
    assert "Enter the answer" in empty.content.decode()
    staff.post(reverse("council_thread_answer", kwargs={"pk": thread.pk}), {"reason": "Paid in Friday's run"})
    thread.refresh_from_db()
    assert (thread.state, thread.outcome) == ("resolved", "answered")
    page = (
        client_for(council.users["provider_a"])
        .get(reverse("thread", kwargs={"pk": thread.pk}))
        .content.decode()
    )
    assert "Paid in Friday&#x27;s run" in page and "Reopen" in page


def test_only_a_finance_officer_decides_a_dispute(council: Council) -> None:
    send_query(client_for(council.users["provider_a"]))
    thread = Thread.objects.get()
    url = reverse("council_thread_outcome", kwargs={"pk": thread.pk})
    data = {"outcome": "withdrawn", "reason": "x"}
    assert client_for(council.users["portal_admin"]).post(url, data).status_code == 403
    page = client_for(council.users["finance"]).post(url, data).content.decode()
    assert "Only a dispute has an outcome: answer a query instead." in page


@pytest.mark.parametrize("url_name", ["thread", "council_thread"])
def test_a_reply_with_a_file_checks_csrf_itself_after_the_upload_limit(
    council: Council, url_name: str
) -> None:
    """The upload views are exempt from the CSRF middleware only so that they can install the upload limit
    before the body is read: they still refuse a post without the token, and take one with it."""
    send_query(client_for(council.users["provider_a"]))
    thread = Thread.objects.get()
    client = client_for(council.users["provider_a" if url_name == "thread" else "finance"])
    client.handler.enforce_csrf_checks = True
    url = reverse(url_name, kwargs={"pk": thread.pk})
    letter = SimpleUploadedFile("letter.pdf", PDF, "application/pdf")
    assert client.post(url, {"body": "No token", "attachments": [letter]}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode()).group(
        1
    )
    letter.seek(0)
    answer = client.post(
        url, {"csrfmiddlewaretoken": token, "body": "With the token", "attachments": [letter]}
    )
    assert answer.status_code == 302
    assert thread.messages.filter(body="With the token", attachments__name="letter.pdf").exists()


def test_the_inbox_downloads_as_excel_with_text_never_a_formula(council: Council) -> None:
    import io

    from openpyxl import load_workbook

    client = client_for(council.users["provider_a"])
    client.post(reverse("query_new"), {"query_type": "payment_query"})
    client.post(
        reverse("query_write", kwargs={"query_type": "payment_query"}),
        {"subject": '=HYPERLINK("http://evil.example","Click")', "person": "", "body": "x"},
    )
    response = client_for(council.users["finance"]).get(reverse("council_threads_export") + "?state=open")
    assert response["Content-Disposition"].startswith('attachment; filename="messages-')
    sheet = load_workbook(io.BytesIO(response.content))["Messages"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 1
    subject = rows[0][3]
    assert subject.value == '=HYPERLINK("http://evil.example","Click")' and subject.data_type == "s"
    assert subject.quotePrefix
