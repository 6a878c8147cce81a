"""Expense claims: a foster carer's list, the claim form with its receipt, a claim's page and its receipt;
the council's list and claim pages.

The receipt is refused while it arrives when it is too big (`UploadLimitMixin`, portal/uploads.py: this
view checks CSRF itself, after the limit is in place), then judged from its content. A receipt that passed
is kept (stored, and named in the session) while the rest of the form is put right, so a bad answer never
means choosing the file again. Receipts are served only to the provider's own users and to council staff
who may see every claim, as an attachment, with nosniff and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views import View

from portal import files, permissions
from portal.access import PermissionRequiredMixin
from portal.formatting import money
from portal.pagination import paginate
from portal.uploads import UploadLimitMixin
from remittances import selectors_invoices as selectors
from remittances import services_invoices as services
from remittances.forms_invoices import ExpenseClaimForm
from remittances.models_invoices import ExpenseClaim, SubmissionStatus
from remittances.services_invoices import RECEIPT_FOLDER, Receipt, SubmissionError, long_date
from remittances.views_invoices import add_error, paid_in_rows

CLAIMS_PER_PAGE = 50
SESSION_RECEIPT = "expense_claim_receipt"


def receipt_response(claim: ExpenseClaim) -> FileResponse:
    """The receipt as an attachment (never shown inline), its type as its content said when it came."""
    if not claim.receipt_stored_as:
        raise Http404("The claim has no receipt")
    try:
        handle = files.stored_path(RECEIPT_FOLDER, claim.receipt_stored_as).open("rb")
    except FileNotFoundError as error:
        raise Http404("The receipt is no longer there") from error
    response = FileResponse(
        handle, as_attachment=True, filename=claim.receipt_name, content_type=claim.receipt_content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response


def claim_context(claim: ExpenseClaim, *, staff: bool) -> dict[str, Any]:
    rows: list[tuple[str, Any, None]] = [
        ("Portal reference", claim.portal_ref, None),
        ("Council reference", claim.backoffice_ref or "Not given yet", None),
        ("Expense", claim.get_category_display(), None),
        ("Date", long_date(claim.incurred_on), None),
        ("Amount", money(claim.amount), None),
        ("Description", claim.description, None),
        (
            "Child",
            f"{claim.service_user.name} ({claim.service_user.ref})"
            if claim.service_user
            else "Not about one child",
            None,
        ),
        (
            "Submitted",
            f"{long_date(claim.submitted_at.date())} by {claim.submitted_by.full_name or claim.submitted_by.email}",
            None,
        ),
    ]
    rows += paid_in_rows(claim, staff=staff)
    if staff:
        rows.insert(0, ("Provider", f"{claim.provider.name} ({claim.provider.ref})", None))
    receipt_url = ""
    if claim.receipt_stored_as:
        name = "council_expense_claim_receipt" if staff else "expense_claim_receipt"
        receipt_url = reverse(name, kwargs={"pk": claim.pk})
    return {
        "claim": claim,
        "rows": rows,
        "staff": staff,
        "receipt_url": receipt_url,
    }


class ExpenseMixin(PermissionRequiredMixin):
    permission_required = permissions.CLAIM_EXPENSES

    def get_claim(self, pk: int) -> ExpenseClaim:
        claim = selectors.expense_claim_for_provider(provider=self.provider, pk=pk)
        if claim is None:
            raise Http404("No such expense claim")
        return claim


class ExpenseClaimsView(ExpenseMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        claims = selectors.expense_claims_for_provider(provider=self.provider)
        return render(
            request,
            "remittances/expenses/claim_list.html",
            {**paginate(request, claims, per_page=CLAIMS_PER_PAGE), "staff": False},
        )


class ExpenseClaimNewView(UploadLimitMixin, ExpenseMixin, View):
    """The claim form. First among the bases: UploadLimitMixin's dispatch must be the one `as_view` sees."""

    upload_max_bytes = services.RECEIPT_MAX_BYTES

    def kept_receipt(self) -> Receipt | None:
        data = self.request.session.get(SESSION_RECEIPT)  # type: ignore[attr-defined]
        if not isinstance(data, dict) or data.get("provider") != self.provider.pk:
            return None
        return Receipt.from_dict(data)

    def render_form(self, form: ExpenseClaimForm, receipt: Receipt | None) -> HttpResponse:
        return render(
            self.request,  # type: ignore[attr-defined]
            "remittances/expenses/claim_new.html",
            {"form": form, "kept_receipt": receipt},
        )

    def form(self, *args: Any, **kwargs: Any) -> ExpenseClaimForm:
        return ExpenseClaimForm(*args, children=services.expense_children(provider=self.provider), **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        request.session.pop(SESSION_RECEIPT, None)  # a new claim starts with no receipt
        form = self.form()
        wanted = request.GET.get("child", "")
        if wanted:
            form.initial["child"] = wanted
        return self.render_form(form, None)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        receipt = self.kept_receipt()
        valid = form.is_valid()
        uploaded = form.cleaned_data.get("receipt") if "receipt" in form.cleaned_data else None
        if uploaded is not None:
            try:
                receipt = services.expense_receipt_keep(name=uploaded.name or "receipt", data=uploaded.read())
            except SubmissionError as error:
                add_error(form, error)
                valid = False
            else:
                request.session[SESSION_RECEIPT] = receipt.as_dict() | {"provider": self.provider.pk}
        if valid:
            data = form.cleaned_data
            try:
                claim = services.expense_claim_submit(
                    provider=self.provider,
                    by=self.user,
                    category=data["category"],
                    incurred_on=data["incurred_on"],
                    amount=data["amount"],
                    description=data["description"],
                    child_ref=data["child"],
                    receipt=receipt,
                )
            except SubmissionError as error:
                add_error(form, error)
            else:
                request.session.pop(SESSION_RECEIPT, None)
                messages.success(
                    request,
                    f"Expense claim for {money(claim.amount)} sent to the council. Its status will show "
                    "here when the council's finance system has it.",
                )
                return HttpResponseRedirect(reverse("expense_claim", kwargs={"pk": claim.pk}))
        return self.render_form(form, receipt)


class ExpenseClaimView(ExpenseMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request, "remittances/expenses/claim_detail.html", claim_context(self.get_claim(pk), staff=False)
        )


class ExpenseClaimReceiptView(ExpenseMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        return receipt_response(self.get_claim(pk))


# The council's side ---------------------------------------------------------------------------------


class CouncilExpenseMixin(PermissionRequiredMixin):
    permission_required = permissions.VIEW_ALL_INVOICES_AND_EXPENSES

    def get_claim(self, pk: int) -> ExpenseClaim:
        claim = selectors.expense_claim_for_staff(user=self.user, pk=pk)
        if claim is None:
            raise Http404("No such expense claim")
        return claim


class CouncilExpenseClaimsView(CouncilExpenseMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status", "")
        status = status if status in SubmissionStatus.values else ""
        provider, reference = request.GET.get("provider", "")[:200], request.GET.get("reference", "")[:64]
        claims = selectors.expense_claims_for_staff(
            user=self.user, status=status, provider=provider, reference=reference
        )
        return render(
            request,
            "remittances/expenses/claim_list.html",
            {
                **paginate(request, claims, per_page=CLAIMS_PER_PAGE),
                "staff": True,
                "statuses": SubmissionStatus.choices,
                "status": status,
                "provider_q": provider,
                "reference": reference,
            },
        )


class CouncilExpenseClaimView(CouncilExpenseMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request, "remittances/expenses/claim_detail.html", claim_context(self.get_claim(pk), staff=True)
        )


class CouncilExpenseClaimReceiptView(CouncilExpenseMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        return receipt_response(self.get_claim(pk))
