"""Documents made by a worker: a long remittance's PDF is asked for with a POST, made by the task (its
progress on the row), shown with its progress and then a download link, served only to the provider's
users (and council staff), and removed when it expires. The task is idempotent and survives a worker that
died half-way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from portal import clock
from portal.audit.models import AuditEvent
from remittances import documents
from remittances.documents import document_make, document_path, document_request, documents_sweep
from remittances.models import DocumentRequest
from remittances.pdf import remittance_pdf_name
from tests.conftest import Council
from tests.remittances.advice_fixtures import flat, pdf_pages, remittance

pytestmark = pytest.mark.django_db
D = Decimal
State = DocumentRequest.State


@pytest.fixture(autouse=True)
def _small_inline_limit(monkeypatch, settings, tmp_path) -> None:
    """Remittances of more than 3 lines go to the worker here (200 in the portal), so tests stay quick."""
    monkeypatch.setattr(documents, "INLINE_PDF_MAX_LINES", 3)
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """The document tasks queued on commit, kept here instead of reaching a broker (the test runs them)."""
    from remittances.tasks import document_make_task

    tasks: list[str] = []
    monkeypatch.setattr(document_make_task, "delay", tasks.append)
    return tasks


def long_remittance(council: Council):
    return remittance(council.provider_a, [{"amount": D("10.00")} for _ in range(8)])


def request_pdf(council: Council, made=None) -> DocumentRequest:
    made = made or long_remittance(council)
    return document_request(
        provider=council.provider_a,
        kind=DocumentRequest.Kind.REMITTANCE_PDF,
        remittance=made,
        by=council.users["provider_a"],
        file_name=remittance_pdf_name(made),
    )


def test_a_long_remittances_pdf_is_asked_for_made_by_the_worker_and_downloaded(
    council: Council, provider_a_client, queued, django_capture_on_commit_callbacks
) -> None:
    made = long_remittance(council)
    detail = provider_a_client.get(reverse("remittance", args=[made.ref]))
    assert detail.context["pdf_inline"] is False
    assert "Prepare the PDF" in detail.content.decode()
    # the PDF link of a long remittance says where to go instead of making it in the request
    redirect = provider_a_client.get(reverse("remittance_pdf", args=[made.ref]))
    assert redirect.status_code == 302 and redirect["Location"].endswith("#downloads")

    with django_capture_on_commit_callbacks(execute=True):
        asked = provider_a_client.post(reverse("remittance_pdf_request", args=[made.ref]))
    document = DocumentRequest.objects.get()
    assert asked.status_code == 302 and asked["Location"] == reverse("document", args=[document.pk])
    assert queued == [str(document.pk)]
    assert (document.state, document.requested_by, document.file_name) == (
        State.QUEUED,
        council.users["provider_a"],
        f"remittance-{made.ref}.pdf",
    )
    assert AuditEvent.objects.filter(action="remittances.document.requested").count() == 1

    waiting = provider_a_client.get(reverse("document", args=[document.pk]))
    page = waiting.content.decode()
    assert 'hx-trigger="every 2s"' in page and "Check again" in page and "0% done" in page
    assert "!!MISSING" not in page
    partial = provider_a_client.get(reverse("document", args=[document.pk]), HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<div id="document-status"')
    assert provider_a_client.get(reverse("document_download", args=[document.pk])).status_code == 404

    # asking again while it waits is the same request, not a second run
    with django_capture_on_commit_callbacks(execute=True):
        again = provider_a_client.post(reverse("remittance_pdf_request", args=[made.ref]))
    assert again["Location"] == reverse("document", args=[document.pk])
    assert DocumentRequest.objects.count() == 1 and queued == [str(document.pk)]

    assert document_make(document_id=queued[0]) == State.READY
    document.refresh_from_db()
    assert (document.state, document.progress, document.attempts, document.pages) == (State.READY, 100, 1, 1)
    assert document.size == document_path(document).stat().st_size > 0
    assert document_path(document).parent == (tmp_path_of(document) / "files" / "documents")

    ready = provider_a_client.get(reverse("document", args=[document.pk]))
    assert "hx-trigger" not in ready.content.decode()
    assert reverse("document_download", args=[document.pk]) in ready.content.decode()
    download = provider_a_client.get(reverse("document_download", args=[document.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert f'filename="remittance-{made.ref}.pdf"' in download["Content-Disposition"]
    text = flat(pdf_pages(b"".join(download.streaming_content))[0])
    assert "Total paid £80.00" in text and "Page 1 of 1" in text
    # the remittance's page now links to the ready document
    assert (
        reverse("document", args=[document.pk])
        in provider_a_client.get(reverse("remittance", args=[made.ref])).content.decode()
    )


def tmp_path_of(document: DocumentRequest):
    from django.conf import settings

    return settings.VAR_DIR


def test_the_file_is_for_the_providers_users_and_the_council_only(
    council: Council, provider_a_admin_client, provider_b_client, finance_client, queued
) -> None:
    document = request_pdf(council)
    document_make(document_id=document.pk)
    for name in ("document", "document_download"):
        url = reverse(name, args=[document.pk])
        assert provider_a_admin_client.get(url).status_code == 200, name  # a colleague's request
        assert provider_b_client.get(url).status_code == 404, name
        assert finance_client.get(url).status_code == 403, name  # not the provider's page
        assert finance_client.get(reverse(f"council_{name}", args=[document.pk])).status_code == 200, name
        assert provider_b_client.get(reverse(f"council_{name}", args=[document.pk])).status_code == 403, name


def test_making_is_idempotent_and_a_second_run_never_remakes_it(council: Council, queued) -> None:
    document = request_pdf(council)
    assert document_make(document_id=document.pk) == State.READY
    first = document_path(document).read_bytes()
    assert document_make(document_id=document.pk) == State.READY
    document.refresh_from_db()
    assert document.attempts == 1
    assert document_path(document).read_bytes() == first
    assert document_make(document_id="00000000-0000-0000-0000-000000000000") == "missing"


def test_a_run_leaves_a_document_another_run_is_making_and_takes_over_a_silent_one(
    council: Council, queued
) -> None:
    document = request_pdf(council)
    DocumentRequest.objects.filter(pk=document.pk).update(
        state=State.RUNNING, attempts=1, heartbeat_at=clock.now(), started_at=clock.now()
    )
    assert document_make(document_id=document.pk) == "running"
    # the first worker died: nothing from it for longer than SILENT_AFTER, so the next run takes over
    DocumentRequest.objects.filter(pk=document.pk).update(heartbeat_at=clock.now() - dt.timedelta(minutes=11))
    assert document_make(document_id=document.pk) == State.READY
    document.refresh_from_db()
    assert (document.state, document.attempts) == (State.READY, 2)


def test_a_document_that_cannot_be_made_says_so_and_can_be_asked_for_again(
    council: Council, provider_a_client, queued, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    document = request_pdf(council)

    def broken(document, progress):
        raise RuntimeError("the layout engine fell over")

    monkeypatch.setitem(documents.MAKERS, DocumentRequest.Kind.REMITTANCE_PDF, broken)
    assert document_make(document_id=document.pk) == State.FAILED
    document.refresh_from_db()
    assert document.state == State.FAILED and "fell over" in document.error
    page = provider_a_client.get(reverse("document", args=[document.pk])).content.decode()
    assert "Could not be made" in page and "Try again" in page and "fell over" not in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        provider_a_client.post(reverse("remittance_pdf_request", args=[document.remittance.ref]))
    assert DocumentRequest.objects.filter(state=State.QUEUED).count() == 1  # a new request, the old kept


def test_a_document_that_keeps_failing_to_finish_is_given_up_on(council: Council, queued) -> None:
    document = request_pdf(council)
    DocumentRequest.objects.filter(pk=document.pk).update(
        state=State.RUNNING, attempts=documents.MAX_ATTEMPTS, heartbeat_at=clock.now() - dt.timedelta(hours=1)
    )
    assert document_make(document_id=document.pk) == State.FAILED
    document.refresh_from_db()
    assert "gave up" in document.error


def test_the_sweep_removes_expired_files_and_queues_again_what_a_lost_task_left(
    council: Council, queued
) -> None:
    made = request_pdf(council)
    document_make(document_id=made.pk)
    lost = request_pdf(council, remittance(council.provider_a, [{} for _ in range(5)]))
    queued.clear()
    path = document_path(made)
    assert path.exists()

    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        result = documents_sweep()
    assert (result.expired, result.requeued) == (0, 1) and queued == [str(lost.pk)]

    with time_machine.travel(clock.now() + documents.LIFETIMES[made.kind] + dt.timedelta(minutes=1)):
        result = documents_sweep()
        assert result.expired == 2
        made.refresh_from_db()
        assert made.state == State.EXPIRED and not path.exists()
        assert documents.document_file(made) is None


def test_an_expired_document_is_not_served_even_before_the_sweep(
    council: Council, provider_a_client, queued
) -> None:
    document = request_pdf(council)
    document_make(document_id=document.pk)
    assert provider_a_client.get(reverse("document_download", args=[document.pk])).status_code == 200
    DocumentRequest.objects.filter(pk=document.pk).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    assert provider_a_client.get(reverse("document_download", args=[document.pk])).status_code == 404


def test_progress_follows_the_pages_being_laid_out(council: Council, queued, monkeypatch) -> None:
    monkeypatch.setattr(documents, "PROGRESS_EVERY_SECONDS", 0)
    made = remittance(council.provider_a, [{} for _ in range(60)])
    document = request_pdf(council, made)
    seen: list[tuple[int, str]] = []
    real = documents._reporter

    def spy(claim):
        report = real(claim)

        def both(percent: int, stage: str) -> None:
            seen.append((percent, stage))
            report(percent, stage)

        return both

    monkeypatch.setattr(documents, "_reporter", spy)
    assert document_make(document_id=document.pk) == State.READY
    stages = [stage for _, stage in seen]
    assert stages[0].startswith("Read 60 lines")
    assert any(stage.startswith("Laying out page 2") for stage in stages)
    assert any(stage.startswith("Laid out") for stage in stages)
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and max(percents) < 100


def test_two_requests_for_the_same_document_share_one_row(council: Council, queued) -> None:
    made = long_remittance(council)
    first = request_pdf(council, made)
    second = request_pdf(council, made)
    assert first.pk == second.pk
    other = remittance(council.provider_b, [{} for _ in range(5)])
    with pytest.raises(documents.DocumentError):
        document_request(
            provider=council.provider_a,
            kind=DocumentRequest.Kind.REMITTANCE_PDF,
            remittance=other,
            by=None,
            file_name="x.pdf",
        )


def test_the_try_again_form_of_a_failed_document_carries_the_csrf_token(
    council: Council, queued, monkeypatch
) -> None:
    """The status panel is an include with `only`: its retry form once went without the token, so a real
    browser's "Try again" was refused with a 403."""
    from tests.conftest import client_for

    document = request_pdf(council)
    monkeypatch.setitem(
        documents.MAKERS, DocumentRequest.Kind.REMITTANCE_PDF, lambda document, progress: 1 / 0
    )
    document_make(document_id=document.pk)
    client = client_for(council.users["provider_a"])
    client.handler.enforce_csrf_checks = True
    page = client.get(reverse("document", args=[document.pk])).content.decode()
    panel = page[page.index('data-testid="document-status"') :]
    retry = panel[panel.index('<form method="post" action="') :]
    token = retry.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert token and retry.index("csrfmiddlewaretoken") < retry.index("</form>")
    response = client.post(
        reverse("remittance_pdf_request", args=[document.remittance.ref]), {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_a_documents_page_gives_its_time_as_gov_uk_writes_times(
    council: Council, provider_a_client, queued
) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 3, 14, 49, tzinfo=clock.LONDON), tick=False):
        document = request_pdf(council)
        page = provider_a_client.get(reverse("document", args=[document.pk])).content.decode()
    assert "the file will be kept until 2:49pm on Friday 4 December 2026" in page
