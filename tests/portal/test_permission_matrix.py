"""Every URL name × every actor → the status a GET gets. A URL missing from the matrix fails the suite.

Another provider's object is a 404, a missing role a 403, a signed-out visitor is sent to sign in (302),
a login acting for several providers with none chosen is sent to choose one (302). A session with the
password but not the code (`unverified`) reaches only the pages that get it the code; a locked login's
session is over at its next request, so `locked` gets exactly what a signed-out visitor gets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contrOCC_sync.models import Heartbeat
from portal import clock
from portal.audit.services import audit_record
from portal.mail.services import email_queue
from tests.conftest import Council, client_for

ACTORS = [
    "anonymous",
    "provider_a",
    "provider_a_admin",
    "provider_b",
    "manager",
    "finance",
    "portal_admin",
    "unverified",
    "locked",
]


def expect(
    anonymous: int,
    provider_a: int,
    provider_a_admin: int,
    provider_b: int,
    manager: int,
    finance: int,
    portal_admin: int,
    *,
    unverified: int = 302,
) -> dict[str, int]:
    statuses = [
        anonymous,
        provider_a,
        provider_a_admin,
        provider_b,
        manager,
        finance,
        portal_admin,
        unverified,
    ]
    return dict(zip(ACTORS, [*statuses, anonymous], strict=True))


def everyone(status: int, *, unverified: int | None = None) -> dict[str, int]:
    return expect(*[status] * 7, unverified=status if unverified is None else unverified)


SIGNED_IN_ONLY = expect(302, 200, 200, 200, 200, 200, 200)
PROVIDER_PAGE = expect(302, 200, 200, 200, 302, 403, 403)
COUNCIL_PAGE = expect(302, 403, 403, 403, 403, 200, 200)
SIGNED_OUT_ONLY = expect(200, 302, 302, 302, 302, 302, 302)
PORTAL_ADMIN_ONLY = expect(302, 403, 403, 403, 403, 403, 200)
PROVIDER_ADMIN_ONLY = expect(302, 403, 200, 403, 302, 403, 403)
CODE_PAGE = expect(302, 302, 302, 302, 302, 302, 302, unverified=200)
A_USER: Callable[[Council], dict[str, Any]] = lambda c: {"pk": c.users["provider_a"].pk}  # noqa: E731
DJANGO_ADMIN = expect(302, 302, 302, 302, 302, 302, 200)

NoArgs: Callable[[Council], dict[str, Any]] = lambda c: {}  # noqa: E731
MATRIX_WEEK = dt.date(2026, 11, 23)


def a_line(c: Council) -> dict[str, Any]:
    """Provider A's week, generated, its line amended so that an acknowledge-exception (ACT-13) is on it."""
    from actuals.services import LineValues, actual_amend, actuals_generate

    result = actuals_generate(provider=c.provider_a, week_start=MATRIX_WEEK, by=None)
    line = result.week.lines.get()
    values = LineValues(Decimal("2"), line.planned - 2, Decimal("0"), Decimal("0"), "", "In hospital")
    actual_amend(provider=c.provider_a, line_id=line.pk, by=c.users["provider_a"], values=values, revision=1)
    return {"week": MATRIX_WEEK, "pk": line.pk}


A_WEEK: Callable[[Council], dict[str, Any]] = lambda c: {"week": a_line(c)["week"]}  # noqa: E731
A_LINE = a_line
FINANCE_ONLY = expect(302, 403, 403, 403, 403, 200, 403)
# A council page about providers' records that a provider's login is never told exists (CouncilPageMixin).
FINANCE_ONLY_UNTOLD = expect(302, 404, 404, 404, 404, 200, 403)


def a_held_line(c: Council) -> int:
    """Provider A's line of a_line, its exception acknowledged and the week confirmed: held for review."""
    from actuals.services import exception_acknowledge, week_confirm

    pk = a_line(c)["pk"]
    by = c.users["provider_a"]
    exception_acknowledge(provider=c.provider_a, line_id=pk, rule="ACT-13", by=by, reason="In hospital")
    week_confirm(provider=c.provider_a, week_start=MATRIX_WEEK, by=by, declaration=True)
    return pk


A_CONFIRMED_LINE: Callable[[Council], dict[str, Any]] = lambda c: {"week": MATRIX_WEEK, "pk": a_held_line(c)}  # noqa: E731


def a_closure_day() -> int:
    from actuals.models import ClosureDay

    return ClosureDay.objects.create(day=clock.today() + dt.timedelta(days=30), name="Council closure").pk


def an_upload(kind: str) -> Callable[[Council], dict[str, Any]]:
    """Provider A's checked upload (a claim form or visits) of the a_line week, waiting for its preview."""

    def make(c: Council) -> dict[str, Any]:
        from actuals.models import ActualsUpload, ProviderWeek

        week = a_line(c)["week"]
        upload = ActualsUpload.objects.create(
            provider=c.provider_a,
            week=ProviderWeek.objects.get(provider=c.provider_a, week_start=week),
            kind=kind,
            created_at=clock.now(),
            created_by=c.users["provider_a"],
            expires_at=clock.now() + dt.timedelta(hours=2),
        )
        return {"week": week, "upload": upload.pk}

    return make


def a_thread(c: Council) -> dict[str, Any]:
    """Provider A's query, its first message with a PDF attached."""
    from disputes.services import Upload, query_raise

    thread = query_raise(
        provider=c.provider_a,
        by=c.users["provider_a"],
        query_type="payment_query",
        subject="Short paid",
        body="See the remittance",
        uploads=[Upload(name="remittance.pdf", data=b"%PDF-1.4\n%%EOF\n")],
    )
    return {"pk": thread.pk}


def an_attachment(c: Council) -> dict[str, Any]:
    from disputes.models import Attachment

    pk = a_thread(c)["pk"]
    return {"pk": pk, "attachment": Attachment.objects.get(message__thread_id=pk).pk}


def a_paid_line(c: Council) -> dict[str, Any]:
    from actuals.models import ActualLine

    pk = a_held_line(c)
    ActualLine.objects.filter(pk=pk).update(status=ActualLine.Status.PAID)
    return {"pk": pk}


def a_remittance_line(c: Council) -> dict[str, Any]:
    from remittances.models import Remittance, RemittanceLine

    remittance = Remittance.objects.create(
        ref="REM-MATRIX", provider=c.provider_a, payment_run_ref="RUN-1", paid_on=clock.today(),
        total=Decimal("10.00"), received_at=clock.now(),
    )  # fmt: skip
    line = RemittanceLine.objects.create(
        remittance=remittance, source_ref="SRC-1", kind="actual_line", quantity=Decimal("1"),
        rate=Decimal("10.00"), amount=Decimal("10.00"),
    )  # fmt: skip
    return {"pk": line.pk}


PROVIDER_OWN = expect(302, 200, 200, 404, 302, 403, 403)


def a_notice(c: Council) -> dict[str, Any]:
    """A notice for every provider, shown from today."""
    from portal.content.services import NoticeFields, notice_create

    fields = NoticeFields("Matrix notice", "Read **this**", "", None, clock.today(), None)
    return {"pk": notice_create(fields=fields, by=c.users["portal_admin"]).pk}


def a_guidance_page(c: Council) -> dict[str, Any]:
    """A published guidance page."""
    from portal.content.services import GuidanceFields, guidance_page_create

    fields = GuidanceFields("Matrix page", "matrix-page", "Do this", None, True, 0)
    page = guidance_page_create(fields=fields, by=c.users["portal_admin"])
    return {"pk": page.pk, "slug": page.slug}


def as_kind(c: Council, kind: str) -> None:
    """Providers A and B become children's agencies (invoices) or foster carers (expenses), their lines
    placements paid on invoice: the children's pages are only for those kinds (a plain 403 otherwise)."""
    from portal.providers.models import CarePackageLine, Provider, ServiceType
    from tests.factories import ServiceTypeFactory

    Provider.objects.filter(pk__in=[c.provider_a.pk, c.provider_b.pk]).update(kind=kind)
    agency = ServiceTypeFactory(
        code="AGENCY", name="Agency placement", unit="weeks", step=Decimal("1"), allows_extras=False,
        paid_on=ServiceType.PaidOn.INVOICE, tolerance_percent=Decimal("0"),
    )  # fmt: skip
    CarePackageLine.objects.filter(pk__in=[c.line_a.pk, c.line_b.pk]).update(service_type=agency)
    c.line_a.refresh_from_db()


def children_page(kind: str) -> Callable[[Council], dict[str, Any]]:
    def make(c: Council) -> dict[str, Any]:
        as_kind(c, kind)
        return {}

    return make


def a_child(c: Council) -> dict[str, Any]:
    as_kind(c, "children")
    return {"ref": c.line_a.service_user.ref}


def an_invoice_draft(c: Council) -> dict[str, Any]:
    """Provider A's user's draft invoice (drafts are the user's own: a colleague's is a 404)."""
    from remittances.models_invoices import InvoiceDraft

    as_kind(c, "children")
    draft = InvoiceDraft.objects.create(
        provider=c.provider_a, created_by=c.users["provider_a"], care_package_line=c.line_a,
        created_at=clock.now(), updated_at=clock.now(),
    )  # fmt: skip
    return {"draft": draft.pk}


def an_invoice(c: Council) -> dict[str, Any]:
    from remittances.models_invoices import Invoice

    as_kind(c, "children")
    invoice = Invoice.objects.create(
        portal_ref="INV-MATRIX", provider=c.provider_a, service_user=c.line_a.service_user,
        care_package_line=c.line_a, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
        provider_invoice_number="A-1", total=Decimal("100.00"), submitted_by=c.users["provider_a"],
        submitted_at=clock.now(),
    )  # fmt: skip
    return {"pk": invoice.pk}


def an_expense_claim(c: Council) -> dict[str, Any]:
    """Provider A's (a foster carer's) expense claim, with a PDF receipt."""
    from remittances.services_invoices import expense_claim_submit, expense_receipt_keep

    as_kind(c, "foster_carer")
    claim = expense_claim_submit(
        provider=c.provider_a, by=c.users["provider_a"], category="equipment", incurred_on=clock.today(),
        amount="12.50", description="A car seat",
        receipt=expense_receipt_keep(name="receipt.pdf", data=b"%PDF-1.4\n%%EOF\n"),
    )  # fmt: skip
    return {"pk": claim.pk}


DRAFT_OWN = expect(302, 200, 404, 404, 302, 403, 403)


def a_remittance(c: Council) -> dict[str, Any]:
    """Provider A's remittance of two lines (short: its PDF is made in the request)."""
    from remittances.models import Remittance, RemittanceLine

    remittance = Remittance.objects.create(
        ref="REM-ADVICE", provider=c.provider_a, payment_run_ref="RUN-1", paid_on=clock.today(),
        total=Decimal("20.00"), received_at=clock.now(),
    )  # fmt: skip
    for n in (1, 2):
        RemittanceLine.objects.create(
            remittance=remittance, source_ref=f"SRC-{n}", kind="actual_line", quantity=Decimal("1"),
            rate=Decimal("10.00"), amount=Decimal("10.00"), service_user_ref=c.line_a.service_user.ref,
        )  # fmt: skip
    return {"ref": remittance.ref}


def a_document(c: Council) -> dict[str, Any]:
    """Provider A's remittance's PDF, made (a small file written as the worker would)."""
    from remittances import documents
    from remittances.models import DocumentRequest, Remittance

    a_remittance(c)
    document = documents.document_request(
        provider=c.provider_a, kind=DocumentRequest.Kind.REMITTANCE_PDF,
        remittance=Remittance.objects.get(ref="REM-ADVICE"), by=c.users["provider_a"], file_name="r.pdf",
    )  # fmt: skip
    documents._write(documents.document_path(document), b"%PDF-1.4\n%%EOF\n")
    DocumentRequest.objects.filter(pk=document.pk).update(state="ready", progress=100, size=15, pages=1)
    return {"pk": document.pk}


POST_ONLY_PROVIDER = expect(302, 405, 405, 405, 302, 403, 403)


# Guidance: provider users and council staff read it; a login of several providers chooses one first.
GUIDANCE_PAGE = expect(302, 200, 200, 200, 302, 200, 200)


# url name: (kwargs from the council fixture, expected status by actor)
MATRIX: dict[str, tuple[Callable[[Council], dict[str, Any]], dict[str, int]]] = {
    "home": (NoArgs, SIGNED_IN_ONLY),
    "healthz": (lambda c: fresh_heartbeat(), everyone(200)),
    "accessibility": (NoArgs, everyone(200)),
    # allauth (sign-in stand-in until issue #4)
    "account_login": (NoArgs, SIGNED_OUT_ONLY),
    "account_logout": (NoArgs, expect(302, 200, 200, 200, 200, 200, 200, unverified=200)),
    "account_inactive": (NoArgs, everyone(200)),
    "account_signup": (NoArgs, SIGNED_OUT_ONLY),
    "account_reauthenticate": (NoArgs, SIGNED_IN_ONLY),
    "account_email": (NoArgs, SIGNED_IN_ONLY),
    "account_email_verification_sent": (NoArgs, everyone(200, unverified=302)),
    "account_change_password": (NoArgs, SIGNED_IN_ONLY),
    "account_set_password": (NoArgs, expect(302, 302, 302, 302, 302, 302, 302)),
    "account_reset_password": (NoArgs, everyone(200)),
    "account_reset_password_done": (NoArgs, everyone(200)),
    "account_reset_password_from_key": (lambda c: {"uidb36": "zz", "key": "not-a-key"}, everyone(200)),
    "account_reset_password_from_key_done": (NoArgs, everyone(200)),
    "account_confirm_login_code": (NoArgs, everyone(302)),
    "account_confirm_email": (lambda c: {"key": "not-a-key"}, everyone(200, unverified=302)),
    # the six-digit code and the account's own pages
    "code_verify": (NoArgs, CODE_PAGE),
    "code_backup": (NoArgs, CODE_PAGE),
    "code_email": (NoArgs, CODE_PAGE),
    "code_enrol": (NoArgs, expect(302, 302, 302, 302, 302, 302, 302)),
    "backup_codes_new": (NoArgs, expect(302, 302, 302, 302, 302, 302, 302)),
    "backup_codes_regenerate": (NoArgs, expect(302, 302, 302, 302, 302, 302, 302)),
    "code_lost": (NoArgs, everyone(200)),
    "code_lost_sent": (NoArgs, everyone(200)),
    "code_reset": (lambda c: {"token": "not-a-token"}, everyone(400)),
    "invitation_accept": (lambda c: {"token": "not-a-token"}, everyone(400)),
    "account_security": (NoArgs, SIGNED_IN_ONLY),
    "session_keepalive": (NoArgs, expect(401, 204, 204, 204, 204, 204, 204, unverified=204)),
    # account administration
    "council_accounts": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_account_invite": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_account": (A_USER, PORTAL_ADMIN_ONLY),
    "council_account_unlock": (A_USER, PORTAL_ADMIN_ONLY),
    "council_account_lock": (A_USER, PORTAL_ADMIN_ONLY),
    "council_account_deactivate": (A_USER, PORTAL_ADMIN_ONLY),
    "council_account_resend_invitation": (A_USER, PORTAL_ADMIN_ONLY),
    "council_account_reset_code": (A_USER, PORTAL_ADMIN_ONLY),
    "council_backoffice": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_backoffice_retry": (NoArgs, expect(302, 403, 403, 403, 403, 403, 405)),
    "provider_users": (NoArgs, PROVIDER_ADMIN_ONLY),
    "provider_user_invite": (NoArgs, PROVIDER_ADMIN_ONLY),
    "provider_user": (A_USER, PROVIDER_ADMIN_ONLY),
    "provider_user_resend_invitation": (A_USER, PROVIDER_ADMIN_ONLY),
    "provider_user_remove": (A_USER, PROVIDER_ADMIN_ONLY),
    # the provider in use
    "provider_switch": (NoArgs, expect(302, 200, 200, 200, 200, 403, 403)),
    "care_package_lines": (NoArgs, PROVIDER_PAGE),
    "care_package_line": (lambda c: {"ref": c.line_a.ref}, expect(302, 200, 200, 404, 302, 403, 403)),
    # the weekly actuals cycle (a week of provider A's, generated, with one line)
    "actuals_weeks": (NoArgs, PROVIDER_PAGE),
    "actuals_week": (A_WEEK, PROVIDER_PAGE),
    "actuals_generate": (A_WEEK, expect(302, 405, 405, 405, 302, 403, 403)),
    "actuals_confirm": (A_WEEK, PROVIDER_PAGE),
    "actuals_nil_return": (A_WEEK, PROVIDER_PAGE),
    "actual_line": (A_LINE, expect(302, 200, 200, 404, 302, 403, 403)),
    # correcting is confirming again: CONFIRM_ACTUALS (a confirmed line, so that the page opens)
    "actual_line_correct": (A_CONFIRMED_LINE, expect(302, 200, 200, 404, 302, 403, 403)),
    "actual_exception_acknowledge": (
        lambda c: {**a_line(c), "rule": "ACT-13"},
        expect(302, 200, 200, 404, 302, 403, 403),
    ),
    "scheduled_payments": (NoArgs, PROVIDER_PAGE),
    # the Excel claim form and the call monitoring import: only a generated week has them (B's is not)
    "claim_form_download": (A_WEEK, expect(302, 200, 200, 404, 302, 403, 403)),
    "claim_form_upload": (A_WEEK, expect(302, 200, 200, 404, 302, 403, 403)),
    "claim_form_preview": (an_upload("claim_form"), expect(302, 200, 200, 404, 302, 403, 403)),
    "visits_upload": (A_WEEK, expect(302, 200, 200, 404, 302, 403, 403)),
    "visits_preview": (an_upload("visits"), expect(302, 200, 200, 404, 302, 403, 403)),
    # council staff
    "council_providers": (NoArgs, COUNCIL_PAGE),
    "council_provider": (lambda c: {"ref": c.provider_a.ref}, COUNCIL_PAGE),
    "council_provider_portal_access": (
        lambda c: {"ref": c.provider_a.ref},
        expect(302, 403, 403, 403, 403, 403, 405),
    ),
    "council_care_package_lines": (NoArgs, COUNCIL_PAGE),
    "council_care_package_line": (lambda c: {"ref": c.line_a.ref}, COUNCIL_PAGE),
    # the council's side of the weekly cycle
    "council_exception_review": (NoArgs, FINANCE_ONLY),
    "council_exception": (lambda c: {"pk": a_held_line(c)}, FINANCE_ONLY),
    # a provider's weeks and a week's lines, with the finance officer's dispute (issue #7): a provider's
    # login is told these council pages do not exist
    "council_provider_weeks": (lambda c: {"ref": c.provider_a.ref}, FINANCE_ONLY_UNTOLD),
    "council_provider_week": (
        lambda c: {"ref": c.provider_a.ref, "week": a_line(c)["week"]},
        FINANCE_ONLY_UNTOLD,
    ),
    "council_deadlines": (NoArgs, COUNCIL_PAGE),
    "council_deadline_reminders": (NoArgs, COUNCIL_PAGE),
    "council_closure_days": (NoArgs, COUNCIL_PAGE),
    "council_closure_day_remove": (lambda c: {"pk": a_closure_day()}, COUNCIL_PAGE),
    # disputes, queries and messages (provider A's query, with an attachment)
    "threads": (NoArgs, PROVIDER_PAGE),
    "query_new": (NoArgs, PROVIDER_PAGE),
    "query_write": (lambda c: {"query_type": "payment_query"}, PROVIDER_PAGE),
    "thread": (a_thread, PROVIDER_OWN),
    "thread_reopen": (a_thread, expect(302, 405, 405, 405, 302, 403, 403)),
    "thread_withdraw": (a_thread, expect(302, 405, 405, 405, 302, 403, 403)),
    "thread_attachment": (an_attachment, PROVIDER_OWN),
    "line_dispute": (a_paid_line, PROVIDER_OWN),
    "remittance_line_dispute": (a_remittance_line, PROVIDER_OWN),
    "council_threads": (NoArgs, COUNCIL_PAGE),
    "council_thread_new": (NoArgs, COUNCIL_PAGE),
    "council_threads_export": (NoArgs, COUNCIL_PAGE),
    "council_thread": (a_thread, COUNCIL_PAGE),
    "council_thread_assign": (a_thread, expect(302, 403, 403, 403, 403, 405, 405)),
    "council_thread_answer": (a_thread, expect(302, 403, 403, 403, 403, 405, 405)),
    "council_thread_outcome": (a_thread, expect(302, 403, 403, 403, 403, 405, 403)),
    "council_thread_reopen": (a_thread, expect(302, 403, 403, 403, 403, 405, 405)),
    "council_thread_death": (a_thread, expect(302, 404, 404, 404, 404, 405, 405)),
    "council_invoice_dispute": (an_invoice, FINANCE_ONLY_UNTOLD),
    "council_thread_attachment": (an_attachment, COUNCIL_PAGE),
    "council_teams": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_team": (lambda c: {"code": "payments"}, PORTAL_ADMIN_ONLY),
    # council communication: guidance and notices, written by portal administrators
    "guidance": (NoArgs, GUIDANCE_PAGE),
    "guidance_page": (lambda c: {"slug": a_guidance_page(c)["slug"]}, GUIDANCE_PAGE),
    "notices": (NoArgs, PROVIDER_PAGE),
    "notice_dismiss": (a_notice, expect(302, 405, 405, 405, 302, 403, 403)),
    "council_notices": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_notice_add": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_notice": (a_notice, PORTAL_ADMIN_ONLY),
    "council_notice_withdraw": (a_notice, PORTAL_ADMIN_ONLY),
    "council_guidance": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_guidance_add": (NoArgs, PORTAL_ADMIN_ONLY),
    "council_guidance_page": (lambda c: {"pk": a_guidance_page(c)["pk"]}, PORTAL_ADMIN_ONLY),
    # children's agencies and foster carers (issue #8): children, invoices and expense claims
    "children": (children_page("children"), PROVIDER_PAGE),
    "child": (a_child, PROVIDER_OWN),
    "invoices": (children_page("children"), PROVIDER_PAGE),
    "invoice_new": (children_page("children"), PROVIDER_PAGE),
    "invoice_draft_placement": (an_invoice_draft, DRAFT_OWN),
    "invoice_draft_period": (an_invoice_draft, DRAFT_OWN),
    "invoice_draft_number": (an_invoice_draft, DRAFT_OWN),
    "invoice_draft_lines": (an_invoice_draft, DRAFT_OWN),
    "invoice_draft_check": (an_invoice_draft, DRAFT_OWN),
    "invoice_draft_discard": (an_invoice_draft, expect(302, 405, 405, 405, 302, 403, 403)),
    "invoice": (an_invoice, PROVIDER_OWN),
    "expense_claims": (children_page("foster_carer"), PROVIDER_PAGE),
    "expense_claim_new": (children_page("foster_carer"), PROVIDER_PAGE),
    "expense_claim": (an_expense_claim, PROVIDER_OWN),
    "expense_claim_receipt": (an_expense_claim, PROVIDER_OWN),
    "council_invoices": (NoArgs, FINANCE_ONLY),
    "council_invoice": (an_invoice, FINANCE_ONLY),
    "council_expense_claims": (NoArgs, FINANCE_ONLY),
    "council_expense_claim": (an_expense_claim, FINANCE_ONLY),
    "council_expense_claim_receipt": (an_expense_claim, FINANCE_ONLY),
    # remittance advice, annual statements and the documents workers make (issue #8)
    "remittances": (NoArgs, PROVIDER_PAGE),
    "remittance": (a_remittance, PROVIDER_OWN),
    "remittance_excel": (a_remittance, PROVIDER_OWN),
    "remittance_pdf": (a_remittance, PROVIDER_OWN),
    "remittance_pdf_request": (a_remittance, POST_ONLY_PROVIDER),
    "annual_statements": (NoArgs, PROVIDER_PAGE),
    "annual_statement_request": (lambda c: {"year": 2026}, POST_ONLY_PROVIDER),
    "document": (a_document, PROVIDER_OWN),
    "document_download": (a_document, PROVIDER_OWN),
    "council_remittances": (NoArgs, FINANCE_ONLY),
    "council_remittance": (a_remittance, FINANCE_ONLY),
    "council_remittance_excel": (a_remittance, FINANCE_ONLY),
    "council_remittance_pdf": (a_remittance, FINANCE_ONLY),
    "council_remittance_pdf_request": (a_remittance, expect(302, 403, 403, 403, 403, 405, 403)),
    "council_document": (a_document, FINANCE_ONLY),
    "council_document_download": (a_document, FINANCE_ONLY),
    # the Django admin, for staff only, signed in through allauth
    "admin:index": (NoArgs, DJANGO_ADMIN),
    "admin:login": (NoArgs, expect(302, 403, 403, 403, 403, 403, 302)),
    "admin:logout": (NoArgs, expect(302, 302, 302, 302, 302, 302, 405)),
    "admin:password_change": (NoArgs, DJANGO_ADMIN),
    "admin:password_change_done": (NoArgs, DJANGO_ADMIN),
    "admin:jsi18n": (NoArgs, DJANGO_ADMIN),
    "admin:autocomplete": (NoArgs, expect(302, 302, 302, 302, 302, 302, 403)),
    "admin:view_on_site": (
        lambda c: {"content_type_id": 1, "object_id": 1},
        DJANGO_ADMIN | {"portal_admin": 404},
    ),
    "admin:app_list": (lambda c: {"app_label": "providers"}, DJANGO_ADMIN),
}

# Reports (issue #9): the council's (finance officers and portal administrators; payments by period only
# for those who see every provider's remittances) and the provider's; downloads are POSTs. A report file
# is its requester's (council) or its provider's users' (provider): anyone else gets a 404.


def a_report_file(audience: str) -> Callable[[Council], dict[str, Any]]:
    """A ready Excel file of a report: finance's ageing report, or provider A's weeks outstanding."""

    def make(c: Council) -> dict[str, Any]:
        from reports import services
        from reports.definitions import Scope, report_definition

        if audience == "council":
            definition, scope = report_definition("council", "ageing"), Scope(c.users["finance"])
        else:
            definition, scope = (
                report_definition("provider", "weeks"),
                Scope(c.users["provider_a"], c.provider_a),
            )
        form = definition.form({})
        assert form.is_valid()
        request = services.report_request(
            definition=definition, scope=scope, fmt="xlsx", filters=form.filters(), filters_text=""
        )
        assert services.report_make(request_id=request.pk) == "ready"
        return {"pk": request.pk}

    return make


def _report_rows() -> None:
    from reports.definitions import COUNCIL_REPORTS, PROVIDER_REPORTS

    MATRIX["council_reports"] = (NoArgs, COUNCIL_PAGE)
    for definition in COUNCIL_REPORTS:
        payments = definition.key == "payments"
        MATRIX[definition.url_name] = (NoArgs, FINANCE_ONLY if payments else COUNCIL_PAGE)
        MATRIX[definition.download_url_name] = (
            NoArgs,
            expect(302, 403, 403, 403, 403, 405, 403 if payments else 405),
        )
    MATRIX["council_report_file"] = (a_report_file("council"), expect(302, 403, 403, 403, 403, 200, 404))
    MATRIX["council_report_file_download"] = (
        a_report_file("council"),
        expect(302, 403, 403, 403, 403, 200, 404),
    )
    MATRIX["reports"] = (NoArgs, PROVIDER_PAGE)
    for definition in PROVIDER_REPORTS:
        MATRIX[definition.url_name] = (NoArgs, PROVIDER_PAGE)
        MATRIX[definition.download_url_name] = (NoArgs, expect(302, 405, 405, 405, 302, 403, 403))
    MATRIX["report_file"] = (a_report_file("provider"), PROVIDER_OWN)
    MATRIX["report_file_download"] = (a_report_file("provider"), PROVIDER_OWN)


_report_rows()

# The admin is read-only: superusers may list, view and see history; nobody adds, changes or deletes.
ADMIN_OBJECTS: dict[str, Callable[[Council], Any]] = {
    "providers_provider": lambda c: c.provider_a.pk,
    "providers_servicetype": lambda c: c.line_a.service_type.pk,
    "providers_serviceuser": lambda c: c.line_a.service_user.pk,
    "providers_carepackageline": lambda c: c.line_a.pk,
    "accounts_user": lambda c: c.users["provider_a"].pk,
    "audit_auditevent": lambda c: audit_record(action="tests.matrix", actor=None, obj=c.provider_a).pk,
    "mail_queuedemail": lambda c: email_queue(subject="Matrix", body="", to=[c.provider_a.email]).pk,
}
for _model, _object_id in ADMIN_OBJECTS.items():
    MATRIX[f"admin:{_model}_changelist"] = (NoArgs, DJANGO_ADMIN)
    MATRIX[f"admin:{_model}_add"] = (NoArgs, DJANGO_ADMIN | {"portal_admin": 403})
    for _view, _status in (("change", 200), ("history", 200), ("delete", 403)):
        MATRIX[f"admin:{_model}_{_view}"] = (
            lambda c, get=_object_id: {"object_id": get(c)},
            DJANGO_ADMIN | {"portal_admin": _status},
        )


def fresh_heartbeat() -> dict[str, Any]:
    Heartbeat.objects.update_or_create(
        component="backoffice", defaults={"ok": True, "checked_at": clock.now()}
    )
    return {}


def url_names(patterns: list[Any], namespace: str | None = None) -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            yield from url_names(
                pattern.url_patterns, f"{namespace}:{inner}" if namespace and inner else inner or namespace
            )
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_url_is_in_the_matrix() -> None:
    names = set(url_names(get_resolver().url_patterns))
    missing = sorted(names - MATRIX.keys())
    stale = sorted(MATRIX.keys() - names)
    assert not missing, f"URLs with no row in the permission matrix: {missing}"
    assert not stale, f"Matrix rows for URLs that no longer exist: {stale}"


@pytest.fixture
def actor_client(request: pytest.FixtureRequest, council: Council) -> Client:
    actor = request.param
    if actor == "anonymous":
        return client_for(None)
    if actor == "locked":
        return request.getfixturevalue("locked_client")
    return client_for(council.users[actor], verified=actor != "unverified")


@pytest.mark.parametrize("url_name", sorted(MATRIX))
@pytest.mark.parametrize("actor_client", ACTORS, indirect=True)
def test_permission_matrix(
    url_name: str, actor_client: Client, council: Council, request: pytest.FixtureRequest
) -> None:
    kwargs_for, expected = MATRIX[url_name]
    actor = request.node.callspec.params["actor_client"]
    response = actor_client.get(reverse(url_name, kwargs=kwargs_for(council)))
    assert response.status_code == expected[actor], (
        f"{url_name} as {actor}: expected {expected[actor]}, got {response.status_code}"
    )
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        page = response.content.decode()
        assert "!!MISSING" not in page, f"{url_name} as {actor} renders a missing variable"
        assert "[invalid name]" not in page, f"{url_name} as {actor} has a filter with no label"
