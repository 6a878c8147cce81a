"""The provider's side of disputes and queries: the inbox, raising a query, a thread with its replies,
disputing a payment, attachments. Views only call services and selectors."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from actuals.models import ActualLine
from disputes import selectors, services
from disputes.filters import ThreadFilter
from disputes.forms import (
    PaymentDisputeForm,
    QueryForm,
    QueryTypeForm,
    ReasonForm,
    ReplyForm,
    ServiceEndedForm,
)
from disputes.models import Attachment, Thread
from portal import clock, files, permissions
from portal.access import PermissionRequiredMixin
from portal.pagination import paginate
from portal.uploads import UploadLimitMixin
from remittances.models import RemittanceLine

THREADS_PER_PAGE = 25


class AttachmentUploadMixin(UploadLimitMixin):
    """Attachments are refused while they arrive: one over the limit, or all of them over what they may
    come to together. First among a view's bases: its `dispatch` (CSRF-exempt, to check CSRF itself once
    the limit is in place) must be the one `as_view` sees."""

    upload_max_bytes = services.ATTACHMENT_MAX_BYTES
    upload_max_request_bytes = services.ATTACHMENT_MAX_BYTES * services.ATTACHMENTS_MAX + 64 * 1024


class ProviderThreadMixin(PermissionRequiredMixin):
    permission_required = permissions.USE_MESSAGES

    def get_thread(self, pk: int) -> Thread:
        thread = selectors.thread_for_provider(provider=self.provider, pk=pk)
        if thread is None:
            raise Http404("No such thread")
        return thread


class ThreadsView(ProviderThreadMixin, View):
    """Everything of the provider's: disputes, queries and the council's messages, newest first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        threads = selectors.threads_for_provider(provider=self.provider, user=self.user)
        filterset = ThreadFilter(request.GET or None, queryset=threads)
        page = paginate(request, filterset.qs.order_by("-last_message_at", "-pk"), per_page=THREADS_PER_PAGE)
        return render(
            request,
            "disputes/threads.html",
            {"filter_form": filterset.form, "today": clock.today(), **page},
        )


class QueryNewView(ProviderThreadMixin, View):
    """Step one of a query: what it is about (the team it goes to follows from it)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "disputes/query_type.html", {"form": QueryTypeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = QueryTypeForm(request.POST)
        if form.is_valid():
            return HttpResponseRedirect(
                reverse("query_write", kwargs={"query_type": form.cleaned_data["query_type"]})
            )
        return render(request, "disputes/query_type.html", {"form": form})


class QueryWriteView(AttachmentUploadMixin, ProviderThreadMixin, View):
    """Step two: the query itself. "Service ended or person died" asks who and when."""

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        if kwargs["query_type"] not in Thread.QueryType.values:
            raise Http404("No such query type")
        self.query_type = kwargs["query_type"]

    @property
    def ended(self) -> bool:
        return self.query_type == Thread.QueryType.SERVICE_ENDED

    def form(self, data: Any = None, files_: Any = None) -> QueryForm | ServiceEndedForm:
        form_class = ServiceEndedForm if self.ended else QueryForm
        return form_class(
            data, files_, provider=self.provider, too_big=self.upload_limit.exceeded if data else False
        )

    def invoice(self) -> Any:
        """The provider's own invoice the query is about (`?invoice=` its portal reference), if any."""
        from remittances.models import Invoice

        ref = self.request.GET.get("invoice", "")
        found = Invoice.objects.for_provider(self.provider).filter(portal_ref=ref).first() if ref else None
        if ref and found is None:
            raise Http404("No such invoice")
        return found

    def get(self, request: HttpRequest, query_type: str) -> HttpResponse:
        initial_person = request.GET.get("person", "")
        form = self.form()
        if initial_person.isdigit():
            form.initial["person"] = int(initial_person)
        invoice = self.invoice()
        if invoice is not None:
            form.initial["subject"] = f"Invoice {invoice.provider_invoice_number}"
        return self._render(form)

    def post(self, request: HttpRequest, query_type: str) -> HttpResponse:
        form = self.form(request.POST, request.FILES)
        if form.is_valid():
            try:
                thread = self._raise(form)
            except services.DisputeError as error:
                form.add_error(None, str(error))
            except Thread.DoesNotExist as error:
                raise Http404("No such person") from error
            else:
                messages.success(request, f"Query {thread.ref} sent to the {thread.team.name} team.")
                return HttpResponseRedirect(reverse("thread", kwargs={"pk": thread.pk}))
        return self._render(form)

    def _raise(self, form: QueryForm | ServiceEndedForm) -> Thread:
        data = form.cleaned_data
        if isinstance(form, ServiceEndedForm):
            return services.query_raise_service_ended(
                provider=self.provider,
                by=self.user,
                person=data["person"],
                report=services.EndReport(died=data["what"] == "died", on=data["on"]),
                body=data["body"],
                uploads=form.uploads(),
            )
        invoice = self.invoice()
        return services.query_raise(
            provider=self.provider,
            by=self.user,
            query_type=self.query_type,
            subject=data["subject"],
            body=data["body"],
            person=data["person"],
            invoice_ref=invoice.portal_ref if invoice is not None else "",
            uploads=form.uploads(),
        )

    def _render(self, form: Any) -> HttpResponse:
        return render(
            self.request,
            "disputes/query_write.html",
            {
                "form": form,
                "query_type_label": Thread.QueryType(self.query_type).label,
                "query_type": self.query_type,
            },
        )


def _thread_context(thread: Thread) -> dict[str, Any]:
    return {
        "thread": thread,
        "rows": selectors.messages_with_receipts(thread),
        "lines": list(
            thread.lines.select_related(
                "care_package_line__service_user", "care_package_line__service_type", "week"
            )
        ),
        "invoice": selectors.thread_invoice(thread),
        "today": clock.today(),
        "can_reopen": thread.state == Thread.State.RESOLVED and services.reopen_until(thread) >= clock.now(),
        "reopen_days": settings.DISPUTE_REOPEN_DAYS,
    }


class ThreadView(AttachmentUploadMixin, ProviderThreadMixin, View):
    """One thread: what it is about, its messages with read receipts, the reply form."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        services.thread_read(thread=thread, user=self.user)
        return self._render(thread, ReplyForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = ReplyForm(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        if form.is_valid():
            try:
                services.message_send(
                    thread=thread,
                    by=self.user,
                    body=form.cleaned_data["body"],
                    provider=self.provider,
                    uploads=form.uploads(),
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Your reply has been sent.")
                return HttpResponseRedirect(reverse("thread", kwargs={"pk": thread.pk}))
        return self._render(self.get_thread(pk), form)

    def _render(self, thread: Thread, form: ReplyForm) -> HttpResponse:
        return render(
            self.request,
            "disputes/thread.html",
            {**_thread_context(thread), "form": form, "reopen_form": ReasonForm()},
        )


class ThreadWithdrawView(ProviderThreadMixin, View):
    """A provider withdraws a payment dispute it raised."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.dispute_withdraw_by_provider(
                    thread=thread, by=self.user, provider=self.provider, reason=form.cleaned_data["reason"]
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{thread.ref} withdrawn.")
                return HttpResponseRedirect(reverse("thread", kwargs={"pk": thread.pk}))
        return render(
            request,
            "disputes/thread.html",
            {
                **_thread_context(thread),
                "form": ReplyForm(),
                "reopen_form": ReasonForm(),
                "withdraw_form": form,
            },
        )


class ThreadReopenView(ProviderThreadMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.thread_reopen(
                    thread=thread, by=self.user, provider=self.provider, reason=form.cleaned_data["reason"]
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{thread.ref} is open again.")
                return HttpResponseRedirect(reverse("thread", kwargs={"pk": thread.pk}))
        return render(
            request,
            "disputes/thread.html",
            {
                **_thread_context(thread),
                "form": ReplyForm(),
                "reopen_form": form,
                "withdraw_form": ReasonForm(),
            },
        )


def thread_attachment(thread: Thread, pk: int) -> Attachment:
    """A file of the thread's messages (a 404 for any other: the thread was found for this user)."""
    found = Attachment.objects.filter(message__thread=thread, pk=pk).first()
    if found is None:
        raise Http404("No such file")
    return found


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file as an attachment (never shown inline), its type as its content said, not sniffed again."""
    try:
        handle = files.stored_path("attachments", attachment.stored_as).open("rb")
    except FileNotFoundError as error:
        raise Http404("The file is no longer there") from error
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class AttachmentView(ProviderThreadMixin, View):
    def get(self, request: HttpRequest, pk: int, attachment: int) -> FileResponse:
        return attachment_response(thread_attachment(self.get_thread(pk), attachment))


class PaymentDisputeMixin(AttachmentUploadMixin, ProviderThreadMixin, View):
    """A provider disputes a payment: what it is about comes from the URL (scoped to the provider)."""

    template_name = "disputes/payment_dispute.html"

    def about(self, pk: int) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        return self._render(pk, PaymentDisputeForm())

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        form = PaymentDisputeForm(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        if form.is_valid():
            try:
                thread = services.dispute_raise_on_payment(
                    provider=self.provider,
                    by=self.user,
                    body=form.cleaned_data["body"],
                    claimed_amount=form.cleaned_data["claimed_amount"],
                    uploads=form.uploads(),
                    **self.about(pk),
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Dispute {thread.ref} sent to the {thread.team.name} team.")
                return HttpResponseRedirect(reverse("thread", kwargs={"pk": thread.pk}))
        return self._render(pk, form)

    def _render(self, pk: int, form: PaymentDisputeForm) -> HttpResponse:
        return render(self.request, self.template_name, {"form": form, **self.about(pk)})


class LineDisputeView(PaymentDisputeMixin):
    """Dispute a paid actual line."""

    def about(self, pk: int) -> dict[str, Any]:
        line = (
            ActualLine.objects.for_provider(self.provider)
            .select_related("week", "care_package_line__service_user", "care_package_line__service_type")
            .filter(pk=pk, status=ActualLine.Status.PAID)
            .first()
        )
        if line is None:
            raise Http404("No such paid line")
        return {"line": line}


class RemittanceLineDisputeView(PaymentDisputeMixin):
    """Dispute a line of a remittance ("this payment is short")."""

    def about(self, pk: int) -> dict[str, Any]:
        remittance_line = (
            RemittanceLine.objects.filter(remittance__provider=self.provider, pk=pk)
            .select_related("remittance")
            .first()
        )
        if remittance_line is None:
            raise Http404("No such remittance line")
        return {"remittance_line": remittance_line}
