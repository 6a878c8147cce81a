"""Invoices: the provider's list and invoice pages, the wizard that raises one (child and placement →
period → invoice number → lines → check your answers → submit), and the council's list and invoice pages.

The wizard is plain GOV.UK pages, one question each, working without JavaScript: every answer is kept in
an `InvoiceDraft` row, so a bad answer loses nothing and the provider can come back to it. Each page,
once answered, goes to the first step still unanswered (or refused by the rules, which may have changed
since), or to "check your answers". Views only call `remittances.services_invoices` and the selectors;
another provider's draft, invoice or placement is a 404.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.views import View

from portal import clock, permissions
from portal.access import PermissionRequiredMixin
from portal.formatting import money, quantity
from portal.pagination import paginate
from portal.providers.models import CarePackageLine, ServiceType
from remittances import selectors_invoices as selectors
from remittances import services_invoices as services
from remittances.forms_invoices import LineForm, NumberForm, PeriodForm, PlacementForm, placement_label
from remittances.models_invoices import ExpenseClaim, Invoice, InvoiceDraft, SubmissionStatus
from remittances.services_invoices import SubmissionError, long_date

INVOICES_PER_PAGE = 50

STEP_URL_NAMES = {
    "line": "invoice_draft_placement",
    "period": "invoice_draft_period",
    "number": "invoice_draft_number",
    "lines": "invoice_draft_lines",
}


def step_url(step: str, draft: InvoiceDraft) -> str:
    return reverse(STEP_URL_NAMES[step], kwargs={"draft": draft.pk})


def next_url(draft: InvoiceDraft) -> str:
    """The first step still to answer (or answered in a way the rules now refuse), else the check page."""
    step = services.invoice_draft_check(draft).next_step
    return step_url(step, draft) if step else reverse("invoice_draft_check", kwargs={"draft": draft.pk})


def add_error(form: forms.Form, error: SubmissionError) -> None:
    """The service's message on the field it is about (the form's own name for it), else on the form."""
    names = {"line": "line", "period_start": "period_start", "period_end": "period_end", "number": "number"}
    name = names.get(error.field, error.field)
    form.add_error(name if name in form.fields else None, str(error))


def show_refusal(form: forms.Form, error: SubmissionError, *, on_form: bool = False) -> None:
    """Put the rules' refusal of an answer already given on the step's unbound form (the page as first
    shown), so that a step the wizard comes back to says why: the placement's dates, or another invoice,
    may have changed since the answer was given. `on_form`: on the form as a whole, not on a field."""
    form.full_clean()  # unbound: no errors yet, nothing cleaned
    form.cleaned_data = {}
    if on_form:
        form.add_error(None, str(error))
    else:
        add_error(form, error)


def period_text(start: Any, end: Any) -> str:
    return f"{long_date(start)} to {long_date(end)}" if start and end else ""


class InvoiceMixin(PermissionRequiredMixin):
    permission_required = permissions.RAISE_INVOICES


class DraftMixin(InvoiceMixin):
    """A page of the wizard: the draft comes from the URL, and only the user's own for this provider."""

    template_name = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except services.DraftNotFound as error:  # sent or deleted meanwhile (another tab)
            raise Http404("No such draft invoice") from error

    def refusal(self, draft: InvoiceDraft, step: str) -> SubmissionError | None:
        """What the rules now refuse in the answer this step already has, if anything."""
        return services.invoice_draft_check(draft).refusals.get(step)

    def get_draft(self, draft_id: uuid.UUID) -> InvoiceDraft:
        try:
            return services.draft_for(provider=self.provider, user=self.user, draft_id=draft_id)
        except services.DraftNotFound as error:
            raise Http404("No such draft invoice") from error

    def page(self, draft: InvoiceDraft | None, form: forms.Form | None, **context: Any) -> HttpResponse:
        line = draft.care_package_line if draft else None
        return render(
            self.request,  # type: ignore[attr-defined]
            self.template_name,
            {
                "draft": draft,
                "form": form,
                "child": line.service_user if line else None,
                "placement": placement_label(line) if line else "",
                "check_url": reverse("invoice_draft_check", kwargs={"draft": draft.pk}) if draft else "",
                **context,
            },
        )


# The provider's invoices --------------------------------------------------------------------------


class InvoicesView(InvoiceMixin, View):
    """Every invoice the provider has raised, newest first, with the user's unfinished ones above."""

    def get(self, request: HttpRequest) -> HttpResponse:
        invoices = selectors.invoices_for_provider(provider=self.provider)
        drafts = list(services.drafts_for(provider=self.provider, user=self.user)[:20])
        return render(
            request,
            "remittances/invoices/invoice_list.html",
            {
                **paginate(request, invoices, per_page=INVOICES_PER_PAGE),
                "drafts": [(draft, _draft_summary(draft), _draft_resume_url(draft)) for draft in drafts],
                "draft_days": settings.INVOICE_DRAFT_STALE_DAYS,
                "staff": False,
            },
        )


def _draft_resume_url(draft: InvoiceDraft) -> str:
    """Where to take an unfinished invoice up again: its first question not answered yet, else the check
    page (which says what the rules refuse, if anything). From the answers alone: no query a draft."""
    if draft.care_package_line_id is None:
        return step_url("line", draft)
    if draft.period_start is None or draft.period_end is None:
        return step_url("period", draft)
    if not draft.provider_invoice_number:
        return step_url("number", draft)
    if not draft.lines:
        return step_url("lines", draft)
    return reverse("invoice_draft_check", kwargs={"draft": draft.pk})


def _draft_summary(draft: InvoiceDraft) -> str:
    line = draft.care_package_line
    parts = [line.service_user.name if line else "No child chosen yet"]
    if draft.period_start and draft.period_end:
        parts.append(period_text(draft.period_start, draft.period_end))
    if draft.provider_invoice_number:
        parts.append(f"invoice number {draft.provider_invoice_number}")
    return ", ".join(parts)


def paid_in_rows(item: Invoice | ExpenseClaim, *, staff: bool) -> list[tuple[str, Any, None]]:
    """A "Paid in" row naming the remittance that paid the item, linked, once one has."""
    remittance = selectors.remittance_paying(item=item)
    if remittance is None:
        return []
    url = reverse("council_remittance" if staff else "remittance", args=[remittance.ref])
    link = format_html('<a class="govuk-link" href="{}">Remittance {}</a>', url, remittance.ref)
    return [("Paid in", format_html("{}, paid on {}", link, long_date(remittance.paid_on)), None)]


def invoice_context(invoice: Invoice, *, staff: bool) -> dict[str, Any]:
    line = invoice.care_package_line
    rows: list[tuple[str, Any, None]] = [
        (
            "Your invoice number" if not staff else "Provider's invoice number",
            invoice.provider_invoice_number,
            None,
        ),
        ("Portal reference", invoice.portal_ref, None),
        ("Council reference", invoice.backoffice_ref or "Not given yet", None),
        ("Child", f"{invoice.service_user.name} ({invoice.service_user.ref})", None),
        ("Placement", f"{line.service_type.name}, care package line {line.ref}", None),
        ("Period", period_text(invoice.period_start, invoice.period_end), None),
        ("Total", money(invoice.total), None),
        (
            "Submitted",
            f"{long_date(invoice.submitted_at.date())} by {invoice.submitted_by.full_name or invoice.submitted_by.email}",
            None,
        ),
    ]
    rows += paid_in_rows(invoice, staff=staff)
    if staff:
        rows.insert(0, ("Provider", f"{invoice.provider.name} ({invoice.provider.ref})", None))
    return {
        "invoice": invoice,
        "rows": rows,
        "lines": list(invoice.lines.all()),
        "threads": list(selectors.threads_about_invoice(invoice=invoice)[:20]),
        "unit": line.service_type.unit,
        "staff": staff,
    }


class InvoiceView(InvoiceMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = selectors.invoice_for_provider(provider=self.provider, pk=pk)
        if invoice is None:
            raise Http404("No such invoice")
        return render(
            request, "remittances/invoices/invoice_detail.html", invoice_context(invoice, staff=False)
        )


# The wizard ---------------------------------------------------------------------------------------


class InvoiceNewView(DraftMixin, View):
    """Step one without a draft yet: which child and placement. Answering it starts the draft."""

    template_name = "remittances/invoices/step_placement.html"

    def placements(self) -> list[CarePackageLine]:
        return list(services.invoice_placements(provider=self.provider))

    def get(self, request: HttpRequest) -> HttpResponse:
        placements = self.placements()
        form = PlacementForm(placements=placements)
        wanted = request.GET.get("line", "")
        if wanted:  # from a child's page: that placement chosen already (and only one of the provider's)
            if wanted not in {line.ref for line in placements}:
                raise Http404("No such placement")
            form.initial["line"] = wanted
        return self.page(None, form, placements=placements, back_url=reverse("invoices"))

    def post(self, request: HttpRequest) -> HttpResponse:
        placements = self.placements()
        form = PlacementForm(request.POST, placements=placements)
        if form.is_valid():
            try:
                draft = services.invoice_draft_start(
                    provider=self.provider, by=self.user, line_ref=form.cleaned_data["line"]
                )
            except SubmissionError as error:
                add_error(form, error)
            else:
                return HttpResponseRedirect(next_url(draft))
        return self.page(None, form, placements=placements, back_url=reverse("invoices"))


class InvoicePlacementView(DraftMixin, View):
    template_name = "remittances/invoices/step_placement.html"

    def get(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        placements = list(services.invoice_placements(provider=self.provider))
        line = found.care_package_line
        form = PlacementForm(initial={"line": line.ref if line else ""}, placements=placements)
        error = self.refusal(found, "line")
        if error is not None:
            show_refusal(form, error)
        return self.page(found, form, placements=placements, back_url=reverse("invoices"))

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        placements = list(services.invoice_placements(provider=self.provider))
        form = PlacementForm(request.POST, placements=placements)
        if form.is_valid():
            try:
                found = services.invoice_draft_placement_set(
                    provider=self.provider,
                    by=self.user,
                    draft_id=found.pk,
                    line_ref=form.cleaned_data["line"],
                )
            except SubmissionError as error:
                add_error(form, error)
            else:
                return HttpResponseRedirect(next_url(found))
        return self.page(found, form, placements=placements, back_url=reverse("invoices"))


class InvoicePeriodView(DraftMixin, View):
    template_name = "remittances/invoices/step_period.html"

    def context(self, draft: InvoiceDraft) -> dict[str, Any]:
        line = draft.care_package_line
        dates = ""
        if line is not None:
            dates = f"The placement started on {long_date(line.start_date)}"
            if line.end_date:
                ended = "ended" if line.end_date < clock.today() else "ends"
                dates += f" and {ended} on {long_date(line.end_date)}"
            dates += "."
        return {"back_url": step_url("line", draft), "placement_dates": dates}

    def get(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        form = PeriodForm(initial={"period_start": found.period_start, "period_end": found.period_end})
        error = self.refusal(found, "period")
        if error is not None:
            show_refusal(form, error)
        return self.page(found, form, **self.context(found))

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        form = PeriodForm(request.POST)
        if form.is_valid():
            try:
                found = services.invoice_draft_period_set(
                    provider=self.provider,
                    by=self.user,
                    draft_id=found.pk,
                    start=form.cleaned_data["period_start"],
                    end=form.cleaned_data["period_end"],
                )
            except SubmissionError as error:
                add_error(form, error)
            else:
                return HttpResponseRedirect(next_url(found))
        return self.page(found, form, **self.context(found))


class InvoiceNumberView(DraftMixin, View):
    template_name = "remittances/invoices/step_number.html"

    def get(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        form = NumberForm(initial={"number": found.provider_invoice_number})
        error = self.refusal(found, "number")
        if error is not None:
            show_refusal(form, error)
        return self.page(found, form, back_url=step_url("period", found))

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        form = NumberForm(request.POST)
        if form.is_valid():
            try:
                found = services.invoice_draft_number_set(
                    provider=self.provider,
                    by=self.user,
                    draft_id=found.pk,
                    number=form.cleaned_data["number"],
                )
            except SubmissionError as error:
                add_error(form, error)
            else:
                return HttpResponseRedirect(next_url(found))
        return self.page(found, form, back_url=step_url("period", found))


def suggested_line(draft: InvoiceDraft) -> dict[str, str]:
    """A first line to accept or change: the placement for the whole period, in its unit."""
    line = draft.care_package_line
    if line is None or draft.period_start is None or draft.period_end is None:
        return {}
    days = (draft.period_end - draft.period_start).days + 1
    amounts: dict[str, Decimal] = {
        ServiceType.Unit.WEEKS: (Decimal(days) / 7).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        ServiceType.Unit.DAYS: Decimal(days),
        ServiceType.Unit.NIGHTS: Decimal(days),
    }
    suggested = amounts.get(line.service_type.unit)
    return {
        "description": f"{line.service_type.name}, {period_text(draft.period_start, draft.period_end)}",
        "quantity": quantity(suggested) if suggested is not None else "",
    }


def lines_refused(error: SubmissionError) -> str:
    """The rules' refusal of the lines already added, with what to do about it."""
    return f"{error}. Remove a line and add it again with a quantity that fits, or change the period"


class InvoiceLinesView(DraftMixin, View):
    """The lines so far, each with a Remove button, and a line to add: "Add another line" stays here,
    "Continue" adds what was typed (if anything) and goes on."""

    template_name = "remittances/invoices/step_lines.html"

    def render_lines(self, draft: InvoiceDraft, form: LineForm) -> HttpResponse:
        check = services.invoice_draft_check(draft)
        line = draft.care_package_line
        unit = line.service_type.unit if line else ""
        if unit:  # the quantity is in the placement's unit: say which
            form.fields["quantity"].label = f"Quantity, in {unit}"
            form.fields["quantity"].help_text = "For example, 4 or 4.5"
        return self.page(
            draft,
            form,
            back_url=step_url("number", draft),
            lines=check.lines,
            total=check.total,
            unit=unit,
            rate_text=f"{money(line.rate)} a {services.unit_label(unit, Decimal(1))}" if line else "",
            period=period_text(draft.period_start, draft.period_end),
        )

    def get(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        form = LineForm(initial=suggested_line(found) if not found.lines else {})
        error = self.refusal(found, "lines")
        if error is not None:  # about the lines so far (they no longer fit the period), not the new one
            show_refusal(form, SubmissionError(lines_refused(error)), on_form=True)
        return self.render_lines(found, form)

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        remove = request.POST.get("remove", "")
        if remove.isdigit():
            services.invoice_draft_line_remove(
                provider=self.provider, by=self.user, draft_id=found.pk, index=int(remove)
            )
            messages.success(request, "Line removed.")
            return HttpResponseRedirect(step_url("lines", found))
        going_on = request.POST.get("action") == "continue"
        form = LineForm(request.POST)
        if form.is_valid():
            if form.is_empty and going_on and found.lines:
                error = self.refusal(found, "lines")
                if error is None:
                    return HttpResponseRedirect(next_url(found))
                form.add_error(None, lines_refused(error))  # going on would only come back here: say why
            elif form.is_empty and going_on:
                form.add_error("description", "Add at least one line to the invoice")
            else:
                try:
                    found = services.invoice_draft_line_add(
                        provider=self.provider,
                        by=self.user,
                        draft_id=found.pk,
                        description=form.cleaned_data["description"],
                        quantity=form.cleaned_data["quantity"],
                    )
                except SubmissionError as error:
                    add_error(form, error)
                else:
                    if going_on:
                        return HttpResponseRedirect(next_url(found))
                    messages.success(request, "Line added.")
                    return HttpResponseRedirect(step_url("lines", found))
        return self.render_lines(found, form)


class InvoiceCheckView(DraftMixin, View):
    """Check your answers, with a Change link for each; submitting sends the invoice."""

    template_name = "remittances/invoices/step_check.html"

    def render_check(self, draft: InvoiceDraft, error: str = "") -> HttpResponse:
        check = services.invoice_draft_check(draft)
        line = draft.care_package_line
        rows = [
            ("Child and placement", placement_label(line) if line else "Not chosen", step_url("line", draft)),
            (
                "Period",
                period_text(draft.period_start, draft.period_end) or "Not given",
                step_url("period", draft),
            ),
            ("Your invoice number", draft.provider_invoice_number or "Not given", step_url("number", draft)),
            ("Portal reference", services.invoice_portal_ref(draft), None),
        ]
        problems = [(message, step_url(step, draft)) for step, message in check.problems]
        if error and error not in {message for message, _ in problems}:
            problems.insert(0, (error, "#main-content"))
        return self.page(
            draft,
            None,
            back_url=step_url("lines", draft),
            rows=rows,
            lines=check.lines,
            total=check.total,
            unit=line.service_type.unit if line else "",
            lines_url=step_url("lines", draft),
            problems=problems,
            discard_url=reverse("invoice_draft_discard", kwargs={"draft": draft.pk}),
            draft_days=settings.INVOICE_DRAFT_STALE_DAYS,
        )

    def get(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        return self.render_check(self.get_draft(draft))

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        try:
            invoice = services.invoice_submit(provider=self.provider, by=self.user, draft_id=found.pk)
        except SubmissionError as error:
            return self.render_check(self.get_draft(draft), error=str(error))
        messages.success(
            request,
            f"Invoice {invoice.provider_invoice_number} for {invoice.service_user.name} sent to the council "
            f"({money(invoice.total)}). Its status will show here when the council's finance system has it.",
        )
        return HttpResponseRedirect(reverse("invoice", kwargs={"pk": invoice.pk}))


class InvoiceDiscardView(DraftMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, draft: uuid.UUID) -> HttpResponse:
        found = self.get_draft(draft)
        services.invoice_draft_discard(provider=self.provider, by=self.user, draft_id=found.pk)
        messages.success(request, "Draft invoice deleted.")
        return HttpResponseRedirect(reverse("invoices"))


# The council's side ---------------------------------------------------------------------------------


class CouncilInvoicesView(PermissionRequiredMixin, View):
    permission_required = permissions.VIEW_ALL_INVOICES_AND_EXPENSES

    def get(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status", "")
        status = status if status in SubmissionStatus.values else ""
        provider, reference = request.GET.get("provider", "")[:200], request.GET.get("reference", "")[:64]
        invoices = selectors.invoices_for_staff(
            user=self.user, status=status, provider=provider, reference=reference
        )
        return render(
            request,
            "remittances/invoices/invoice_list.html",
            {
                **paginate(request, invoices, per_page=INVOICES_PER_PAGE),
                "drafts": [],
                "staff": True,
                "statuses": SubmissionStatus.choices,
                "status": status,
                "provider_q": provider,
                "reference": reference,
            },
        )


class CouncilInvoiceView(PermissionRequiredMixin, View):
    permission_required = permissions.VIEW_ALL_INVOICES_AND_EXPENSES

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = selectors.invoice_for_staff(user=self.user, pk=pk)
        if invoice is None:
            raise Http404("No such invoice")
        return render(
            request, "remittances/invoices/invoice_detail.html", invoice_context(invoice, staff=True)
        )
