"""A foster carer's expense claims through the views: the claim form with its receipt (type judged from
the content, size refused while it arrives, stored outside the web root under a random name), every bad
answer a message on the page with nothing sent, the receipt kept across a bad answer, and served only to
the carer's own users and council finance, as a safe download."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contrOCC_sync.models import OutboxMessage
from portal.audit.models import AuditEvent
from remittances.models_invoices import ExpenseClaim, SubmissionStatus
from remittances.services_invoices import RECEIPT_MAX_BYTES
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.remittances.conftest import EXE, PDF, PNG, Children
from tests.remittances.test_invoice_wizard import errors

pytestmark = pytest.mark.django_db
D = Decimal


def claim_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "equipment",
        "incurred_on_day": "10",
        "incurred_on_month": "4",
        "incurred_on_year": "2026",
        "amount": "42.99",
        "description": "A booster seat for the car",
        "child": "",
    }
    data.update(overrides)
    return data


def receipt(
    data: bytes = PDF, name: str = "receipt.pdf", content_type: str = "application/pdf"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_carer_claims_an_expense_with_a_receipt(kids: Children) -> None:
    client = kids.client("carer_user")
    page = client.get(reverse("expense_claim_new"))
    assert page.status_code == 200
    assert "Poppy Walker" in page.content.decode() and "Amira Khan" not in page.content.decode()

    response = client.post(
        reverse("expense_claim_new"),
        claim_data(child=kids.foster_child.ref, receipt=receipt(PDF, name="../../Booster seat (Argos).PDF")),
    )
    claim = ExpenseClaim.objects.get()
    assert response["Location"] == reverse("expense_claim", kwargs={"pk": claim.pk})
    assert (claim.provider, claim.service_user, claim.category, claim.amount, claim.status) == (
        kids.carer,
        kids.foster_child,
        "equipment",
        D("42.99"),
        SubmissionStatus.SENT,
    )
    assert claim.incurred_on == dt.date(2026, 4, 10)
    assert claim.receipt_name == "Booster seat _Argos.pdf"  # cleaned for showing, the extension its content's
    assert claim.receipt_content_type == "application/pdf" and claim.receipt_size == len(PDF)
    assert re.fullmatch(r"[0-9a-f]{32}", claim.receipt_stored_as)  # a random name, not the one sent
    stored = Path(settings.VAR_DIR) / "files" / "receipts" / claim.receipt_stored_as
    assert stored.read_bytes() == PDF
    assert not str(stored).startswith(str(settings.STATIC_ROOT))  # outside the web root

    message = OutboxMessage.objects.get()
    assert (message.kind, message.provider) == ("expense_claim", kids.carer)
    assert message.body == {
        "portal_ref": claim.portal_ref,
        "provider_ref": kids.carer.ref,
        "service_user_ref": kids.foster_child.ref,
        "category": "equipment",
        "incurred_on": "2026-04-10",
        "amount": "42.99",
        "description": "A booster seat for the car",
    }
    assert AuditEvent.objects.filter(
        action="remittances.expense_claim.submitted", object_id=str(claim.pk)
    ).exists()

    page = client.get(response["Location"])
    assert "Sent to the council" in page.content.decode()
    assert "Booster seat _Argos.pdf" in page.content.decode()
    listing = client.get(reverse("expense_claims"))
    assert claim.portal_ref in listing.content.decode()


def test_the_receipt_is_served_to_the_carer_and_council_finance_only_and_safely(
    kids: Children, council
) -> None:
    client = kids.client("carer_user")
    client.post(
        reverse("expense_claim_new"),
        claim_data(receipt=receipt(PNG, name="till <script>.png", content_type="text/html")),
    )
    claim = ExpenseClaim.objects.get()
    assert claim.receipt_content_type == "image/png"  # the content's, not the browser's word

    response = client.get(reverse("expense_claim_receipt", kwargs={"pk": claim.pk}))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="till _script.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]

    url = reverse("expense_claim_receipt", kwargs={"pk": claim.pk})
    assert kids.client("agency_user").get(url).status_code == 403  # an agency claims no expenses
    other_carer = client_for(MembershipFactory(provider__kind="foster_carer").user)
    assert other_carer.get(url).status_code == 404  # another carer's claim is not there
    assert other_carer.get(reverse("expense_claim", kwargs={"pk": claim.pk})).status_code == 404
    assert kids.client("finance").get(url).status_code == 403  # the provider's URL is the provider's
    staff = kids.client("finance").get(reverse("council_expense_claim_receipt", kwargs={"pk": claim.pk}))
    assert staff.status_code == 200 and staff["X-Content-Type-Options"] == "nosniff"
    assert kids.client("finance").get(reverse("council_expense_claims")).status_code == 200
    assert client_for(council.users["portal_admin"]).get(reverse("council_expense_claims")).status_code == 403


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            receipt(EXE, name="receipt.pdf"),
            "The receipt must be a PDF or a photo or scan (PNG, JPEG or GIF): this file is not one, whatever its name says",
        ),
        (
            receipt(b"<html><script>alert(1)</script></html>", name="receipt.png", content_type="image/png"),
            "The receipt must be a PDF or a photo or scan (PNG, JPEG or GIF): this file is not one, whatever its name says",
        ),
        (receipt(b"", name="empty.pdf"), "The selected receipt is empty"),
        (None, "Upload a receipt: a PDF, or a photo or scan of it"),
    ],
)
def test_a_receipt_that_is_not_an_image_or_a_pdf_is_refused_and_nothing_sent(
    kids: Children, upload: SimpleUploadedFile | None, message: str
) -> None:
    data = claim_data() if upload is None else claim_data(receipt=upload)
    response = kids.client("carer_user").post(reverse("expense_claim_new"), data)
    assert response.status_code == 200
    assert errors(response) == [message]
    assert 'value="42.99"' in response.content.decode()  # the rest of what was typed is kept
    assert not ExpenseClaim.objects.exists() and not OutboxMessage.objects.exists()
    assert not (Path(settings.VAR_DIR) / "files" / "receipts").exists() or not any(
        (Path(settings.VAR_DIR) / "files" / "receipts").iterdir()
    )


def test_an_oversized_receipt_is_refused_while_it_arrives(kids: Children) -> None:
    big = receipt(PDF + b"0" * (RECEIPT_MAX_BYTES + 1))
    response = kids.client("carer_user").post(reverse("expense_claim_new"), claim_data(receipt=big))
    assert response.status_code == 200
    assert errors(response) == ["The receipt must be smaller than 10 MB"]
    assert 'value="42.99"' in response.content.decode()  # the fields before the file were read
    assert not ExpenseClaim.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-5.00"}, "The amount must be more than £0"),
        ({"amount": "0"}, "The amount must be more than £0"),
        ({"amount": "12.345"}, "Enter the amount in pounds and pence, like 12.50"),
        ({"amount": "lots"}, "Enter the amount in pounds and pence, like 12.50"),
        ({"amount": "Infinity"}, "Enter the amount in pounds and pence, like 12.50"),
        (
            {"amount": "£1,000,000"},
            "The amount must be £5,000.00 or less: for a bigger expense, contact the children's finance team",
        ),
        ({"incurred_on_day": "16"}, "The date of the expense must be today or in the past"),
        (
            {"incurred_on_year": "2025", "incurred_on_month": "4", "incurred_on_day": "14"},
            "The date of the expense must be within the last year: for older expenses, contact the children's finance team",
        ),
        ({"incurred_on_day": "31"}, "The date of the expense must be a real date"),
        ({"category": "holiday"}, "Select what the expense was for"),
        ({"description": ""}, "Enter a description of the expense"),
    ],
)
def test_a_bad_answer_is_refused_on_the_page_and_nothing_is_sent(
    kids: Children, overrides: dict[str, str], message: str
) -> None:
    response = kids.client("carer_user").post(
        reverse("expense_claim_new"), claim_data(**overrides, receipt=receipt())
    )
    assert response.status_code == 200
    assert message in errors(response)
    assert not ExpenseClaim.objects.exists() and not OutboxMessage.objects.exists()


def test_a_child_not_placed_with_the_carer_is_refused(kids: Children) -> None:
    response = kids.client("carer_user").post(
        reverse("expense_claim_new"), claim_data(child=kids.child.ref, receipt=receipt())
    )
    assert errors(response) == ["Select one of the children placed with you, or none"]
    assert not ExpenseClaim.objects.exists()


def test_mileage_needs_no_receipt(kids: Children) -> None:
    response = kids.client("carer_user").post(
        reverse("expense_claim_new"), claim_data(category="mileage", amount="18.45", description="41 miles")
    )
    assert response.status_code == 302
    claim = ExpenseClaim.objects.get()
    assert (claim.receipt_stored_as, claim.receipt_name) == ("", "")
    assert (
        kids.client("carer_user").get(reverse("expense_claim_receipt", kwargs={"pk": claim.pk})).status_code
        == 404
    )


def test_a_receipt_that_passed_is_kept_while_the_rest_is_put_right(kids: Children) -> None:
    client = kids.client("carer_user")
    response = client.post(
        reverse("expense_claim_new"), claim_data(amount="-1", receipt=receipt(PNG, name="till.png"))
    )
    assert errors(response) == ["The amount must be more than £0"]
    assert "We have kept the receipt you uploaded, till.png" in response.content.decode()
    response = client.post(reverse("expense_claim_new"), claim_data(amount="12.50"))  # no file this time
    assert response.status_code == 302
    claim = ExpenseClaim.objects.get()
    assert (claim.receipt_name, claim.receipt_content_type) == ("till.png", "image/png")
    # Starting a new claim forgets it.
    client.get(reverse("expense_claim_new"))
    response = client.post(reverse("expense_claim_new"), claim_data(amount="3.00"))
    assert errors(response) == ["Upload a receipt: a PDF, or a photo or scan of it"]


def test_only_foster_carers_claim_expenses(kids: Children, council) -> None:
    for client in (client_for(council.users["provider_a"]), kids.client("agency_user")):
        assert client.get(reverse("expense_claims")).status_code == 403
        assert client.get(reverse("expense_claim_new")).status_code == 403


def test_the_claim_form_checks_csrf_itself_once_the_upload_limit_is_in_place(kids: Children) -> None:
    """The view is exempt from the CSRF middleware only to install the upload limit first (portal/uploads.py):
    a post without the token is still refused."""
    client = kids.client("carer_user")
    client.handler.enforce_csrf_checks = True
    response = client.post(reverse("expense_claim_new"), claim_data(receipt=receipt()))
    assert response.status_code == 403
    assert not ExpenseClaim.objects.exists()


def _claim(kids: Children, **fields: Any) -> ExpenseClaim:
    from portal import clock

    values: dict[str, Any] = {
        "portal_ref": f"EXP-TEST-{ExpenseClaim.objects.count() + 1}",
        "provider": kids.carer,
        "category": "mileage",
        "incurred_on": dt.date(2026, 4, 1),
        "amount": D("18.90"),
        "description": "Hospital visit, 42 miles",
        "submitted_by": kids.carer_user,
        "submitted_at": clock.now(),
        **fields,
    }
    return ExpenseClaim.objects.create(**values)


def test_council_finance_finds_claims_by_provider_and_reference(kids: Children) -> None:
    ours = _claim(kids)
    other_carer = MembershipFactory(provider__kind="foster_carer", provider__name="Mr Okafor").user
    theirs = _claim(kids, provider=other_carer.memberships.get().provider, submitted_by=other_carer)
    finance = kids.client("finance")

    def listed(**query: str) -> list[int]:
        response = finance.get(reverse("council_expense_claims"), query)
        assert response.status_code == 200
        return [claim.pk for claim in response.context["page_obj"].object_list]

    assert sorted(listed()) == sorted([ours.pk, theirs.pk])
    assert listed(provider="edwards") == [ours.pk]
    assert listed(reference=theirs.portal_ref.lower()) == [theirs.pk]
    assert listed(provider="edwards", status="paid") == []
    page = finance.get(reverse("council_expense_claims"), {"reference": "EXP-NONE"}).content.decode()
    assert "No expense claims match these filters." in page


def test_a_paid_claim_names_the_remittance_that_paid_it(kids: Children) -> None:
    from remittances.models import RemittanceLine
    from tests.remittances.advice_fixtures import remittance

    claim = _claim(kids, status=SubmissionStatus.PAID)
    paid = remittance(
        kids.carer,
        [{"kind": RemittanceLine.Kind.EXPENSE_CLAIM, "portal_ref": claim.portal_ref, "amount": claim.amount}],
        ref="REM-EXP-1",
        paid_on=dt.date(2026, 4, 9),
    )
    page = kids.client("carer_user").get(reverse("expense_claim", kwargs={"pk": claim.pk})).content.decode()
    assert "Remittance REM-EXP-1</a>, paid on 9 April 2026" in page
    assert f'href="{reverse("remittance", args=[paid.ref])}"' in page
