"""Annual statements: a financial year's payments (April to March) in one PDF, made by the worker through
the same document requests, on request and for every foster carer when the year closes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from portal.clock import LONDON
from portal.providers.models import Provider
from remittances import documents, statements
from remittances.models import DocumentRequest, RemittanceLine
from tests.conftest import Council, client_for
from tests.factories import MembershipFactory, ProviderFactory
from tests.remittances.advice_fixtures import flat, pdf_pages, remittance

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _files(settings, tmp_path, monkeypatch) -> list[str]:
    from remittances.tasks import document_make_task

    settings.VAR_DIR = tmp_path / "var"
    tasks: list[str] = []
    monkeypatch.setattr(document_make_task, "delay", tasks.append)
    return tasks


def year_of_payments(provider: Provider) -> None:
    remittance(provider, [{"amount": D("100.00")}], paid_on=dt.date(2025, 3, 31), ref=f"MAR25-{provider.pk}")
    remittance(provider, [{"amount": D("200.00")}], paid_on=dt.date(2025, 4, 1), ref=f"APR25-{provider.pk}")
    remittance(
        provider,
        [
            {"amount": D("300.00")},
            {
                "kind": RemittanceLine.Kind.ADJUSTMENT,
                "amount": D("-25.00"),
                "rate": D("-25.00"),
                "quantity": D("1"),
                "description": "Adjustment: overpaid in May",
            },
        ],
        paid_on=dt.date(2026, 3, 31),
        ref=f"MAR26-{provider.pk}",
    )
    remittance(provider, [{"amount": D("400.00")}], paid_on=dt.date(2026, 4, 1), ref=f"APR26-{provider.pk}")


def test_a_years_statement_has_every_payment_from_april_to_march(council: Council) -> None:
    year_of_payments(council.provider_a)
    data, pages = statements.annual_statement_pdf(provider=council.provider_a, financial_year=2025)
    text = flat(pdf_pages(data)[0])
    assert pages == 1
    assert "Annual statement" in text and council.provider_a.name in text
    assert "1 April 2025 to 31 March 2026" in text
    assert f"APR25-{council.provider_a.pk}" in text and f"MAR26-{council.provider_a.pk}" in text
    assert f"MAR25-{council.provider_a.pk}" not in text and f"APR26-{council.provider_a.pk}" not in text
    assert "Paid for services £500.00" in text and "Payment adjustments -£25.00" in text
    assert "Total paid in the year £475.00" in text
    years = statements.statement_years(provider=council.provider_a)
    assert [(y.year, y.remittances, y.total) for y in years] == [
        (2026, 1, D("400.00")),
        (2025, 2, D("475.00")),
        (2024, 1, D("100.00")),
    ]


def test_a_statement_is_asked_for_on_its_page_and_made_by_the_worker(
    council: Council, provider_a_client, provider_b_client, _files, django_capture_on_commit_callbacks
) -> None:
    year_of_payments(council.provider_a)
    page = provider_a_client.get(reverse("annual_statements"))
    assert page.status_code == 200 and "April 2025 to March 2026" in page.content.decode()
    assert provider_a_client.post(reverse("annual_statement_request", args=[2019])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        asked = provider_a_client.post(reverse("annual_statement_request", args=[2025]))
    document = DocumentRequest.objects.get()
    assert asked["Location"] == reverse("document", args=[document.pk])
    assert document.file_name == f"annual-statement-{council.provider_a.ref}-2025-26.pdf"
    assert documents.document_make(document_id=_files[0]) == DocumentRequest.State.READY
    download = provider_a_client.get(reverse("document_download", args=[document.pk]))
    assert "Total paid in the year £475.00" in flat(pdf_pages(b"".join(download.streaming_content))[0])
    assert provider_b_client.get(reverse("document_download", args=[document.pk])).status_code == 404
    assert "Download" in provider_a_client.get(reverse("annual_statements")).content.decode()


def test_when_the_year_closes_every_foster_carer_paid_in_it_gets_its_statement_once(council: Council) -> None:
    carer = ProviderFactory(kind=Provider.Kind.FOSTER_CARER)
    unpaid_carer = ProviderFactory(kind=Provider.Kind.FOSTER_CARER)
    off_portal = ProviderFactory(kind=Provider.Kind.FOSTER_CARER, portal_enabled=False)
    for provider in (carer, off_portal, council.provider_a):
        year_of_payments(provider)
    with time_machine.travel(dt.datetime(2026, 4, 2, 4, 0, tzinfo=LONDON), tick=False):
        assert statements.annual_statements_for_closed_year() == 1
        assert statements.annual_statements_for_closed_year() == 0
    made = DocumentRequest.objects.get()
    assert (made.provider, made.financial_year, made.requested_by) == (carer, 2025, None)
    assert not DocumentRequest.objects.filter(provider__in=[unpaid_carer, off_portal]).exists()
    assert made.expires_at - made.created_at == documents.LIFETIMES[DocumentRequest.Kind.ANNUAL_STATEMENT_PDF]


def test_a_new_remittance_of_the_year_makes_its_statement_again(db) -> None:  # type: ignore[no-untyped-def]
    """A statement asked for in March must not miss the payments made later that month."""
    from portal import clock

    carer = ProviderFactory(kind=Provider.Kind.FOSTER_CARER)
    document = DocumentRequest.objects.create(
        provider=carer,
        kind=DocumentRequest.Kind.ANNUAL_STATEMENT_PDF,
        subject_key="2025",
        financial_year=2025,
        state=DocumentRequest.State.READY,
        file_name="statement.pdf",
        created_at=clock.now(),
        expires_at=clock.now() + dt.timedelta(days=30),
    )
    assert documents.statements_outdated(provider=carer, paid_on=dt.date(2026, 4, 20)) == 0  # the next year
    assert documents.statements_outdated(provider=carer, paid_on=dt.date(2026, 3, 20)) == 1
    document.refresh_from_db()
    assert document.state == DocumentRequest.State.EXPIRED


def test_the_page_speaks_to_the_provider_it_is_for(council: Council, provider_a_client) -> None:
    """An adult care provider or an agency is not told about foster carers' statements in the third person;
    a foster carer is told theirs is made for them."""
    page = provider_a_client.get(reverse("annual_statements")).content.decode()
    assert "Foster carers" not in page and "made for you" not in page
    assert "You have not been paid through the portal yet." in page
    carer = ProviderFactory(kind=Provider.Kind.FOSTER_CARER)
    year_of_payments(carer)
    page = (
        client_for(MembershipFactory(provider=carer).user).get(reverse("annual_statements")).content.decode()
    )
    assert "We also make your statement for you when each financial year closes, on 2 April" in page
