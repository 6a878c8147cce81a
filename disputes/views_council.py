"""The council's side of disputes and queries: the inbox by team, assignee, state and due date; a thread
with its reply, assignment, answer or outcome; starting a thread with a provider; the teams."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from actuals.services import ActualsError
from disputes import selectors, services, services_council
from disputes.exports import threads_workbook
from disputes.filters import CouncilThreadFilter
from disputes.forms import (
    AnswerForm,
    AssignForm,
    CouncilThreadForm,
    DeathDecisionForm,
    InvoiceDisputeForm,
    OutcomeForm,
    ReasonForm,
    ReplyForm,
    TeamForm,
)
from disputes.models import Team, Thread
from disputes.views import (
    THREADS_PER_PAGE,
    AttachmentUploadMixin,
    _thread_context,
    attachment_response,
    thread_attachment,
)
from portal import clock, permissions
from portal.access import CouncilPageMixin, PermissionRequiredMixin
from portal.pagination import paginate, query_without
from remittances.selectors_invoices import invoice_for_staff, threads_about_invoice


class CouncilThreadMixin(PermissionRequiredMixin):
    permission_required = permissions.HANDLE_THREADS

    def get_thread(self, pk: int) -> Thread:
        thread = selectors.thread_for_staff(user=self.user, pk=pk)
        if thread is None:
            raise Http404("No such thread")
        return thread


class CouncilThreadsView(CouncilThreadMixin, View):
    """Every thread, by team, assignee, state, due date and type; soonest due first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        threads = selectors.threads_for_staff(user=self.user)
        data = request.GET.copy()
        if not request.GET:
            data["state"] = "open"  # what needs doing, unless asked otherwise
        filterset = CouncilThreadFilter(data, queryset=threads, user=self.user)
        queryset = filterset.qs
        if not data.get("sort"):
            queryset = queryset.order_by("due_on", "-last_message_at", "pk")
        page = paginate(request, queryset, per_page=THREADS_PER_PAGE)
        return render(
            request,
            "disputes/council_threads.html",
            {
                "filter_form": filterset.form,
                "today": clock.today(),
                "sort": data.get("sort", ""),
                "sort_query": query_without(request, "sort", "page"),
                "export_query": data.urlencode(),
                **page,
            },
        )


class CouncilThreadsExportView(CouncilThreadMixin, View):
    """The inbox as it is filtered, as an Excel workbook (at most 10,000 threads)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        threads = selectors.threads_for_staff(user=self.user)
        filterset = CouncilThreadFilter(request.GET, queryset=threads, user=self.user)
        rows = filterset.qs.order_by("due_on", "pk")[:10_000]
        response = HttpResponse(
            threads_workbook(rows, today=clock.today()),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="messages-{clock.today().isoformat()}.xlsx"'
        return response


class CouncilThreadView(AttachmentUploadMixin, CouncilThreadMixin, View):
    """A thread: its messages, the reply, assignment, and the answer (a query) or outcome (a dispute)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        services.thread_read(thread=thread, user=self.user)
        return self._render(thread)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = ReplyForm(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        if form.is_valid():
            try:
                services.message_send(
                    thread=thread,
                    by=self.user,
                    body=form.cleaned_data["body"],
                    provider=None,
                    uploads=form.uploads(),
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Your reply has been sent to the provider.")
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(self.get_thread(pk), form=form)

    def _render(self, thread: Thread, **forms: Any) -> HttpResponse:
        return council_thread_page(self.request, thread, **forms)


def council_thread_page(request: HttpRequest, thread: Thread, **forms: Any) -> HttpResponse:
    """The council's thread page, with the forms given (bound, with their errors) in place of blank ones."""
    context = _thread_context(thread)
    resolve_form: Any
    if thread.kind == Thread.Kind.DISPUTE:
        resolve_form = OutcomeForm(thread=thread, lines=context["lines"])
    else:
        resolve_form = AnswerForm()
    death = selectors.death_report(thread)
    perms = request.portal_perms  # type: ignore[attr-defined]
    return render(
        request,
        "disputes/council_thread.html",
        {
            **context,
            "form": ReplyForm(),
            "assign_form": AssignForm(team=thread.team, initial={"assignee": thread.assignee_id}),
            "resolve_form": resolve_form,
            "reopen_form": ReasonForm(),
            "can_resolve": permissions.RESOLVE_DISPUTES in perms or thread.kind != Thread.Kind.DISPUTE,
            "exceptions": selectors.thread_exceptions(thread),
            "death": death,
            "death_form": DeathDecisionForm(
                can_confirm=death.can_confirm if death else False,
                can_clear=death.can_clear if death else False,
            ),
            **forms,
        },
    )


class CouncilThreadAssignView(CouncilThreadView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = AssignForm(request.POST, team=thread.team)
        if form.is_valid():
            try:
                services.thread_assign(thread=thread, by=self.user, assignee=form.cleaned_data["assignee"])
            except services.DisputeError as error:
                form.add_error("assignee", str(error))
            else:
                who = form.cleaned_data["assignee"]
                messages.success(
                    request,
                    f"{thread.ref} assigned to {who.get_full_name() or who.email}."
                    if who
                    else f"{thread.ref} is not assigned to anyone.",
                )
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(thread, assign_form=form)


class CouncilThreadAnswerView(CouncilThreadView):
    http_method_names = ["post"]

    """A query or message thread answered: resolved."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                services.query_answer(thread=thread, by=self.user, reason=form.cleaned_data["reason"])
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{thread.ref} answered and resolved.")
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(thread, resolve_form=form)


class CouncilThreadOutcomeView(CouncilThreadView):
    """A dispute's outcome, which can send lines or money to the back office."""

    permission_required = permissions.RESOLVE_DISPUTES
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        lines = _thread_context(thread)["lines"]
        form = OutcomeForm(request.POST, thread=thread, lines=lines)
        if form.is_valid():
            try:
                services.dispute_resolve(
                    thread=thread,
                    by=self.user,
                    outcome=form.cleaned_data["outcome"],
                    reason=form.cleaned_data["reason"],
                    quantities=form.quantities(),
                    versions=form.versions(),
                    amount=form.cleaned_data.get("amount"),
                )
            except (services.DisputeError, ActualsError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    f"{thread.ref} resolved: {Thread.Outcome(form.cleaned_data['outcome']).label.lower()}.",
                )
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(thread, resolve_form=form)


class CouncilThreadReopenView(CouncilThreadView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.thread_reopen(
                    thread=thread, by=self.user, provider=None, reason=form.cleaned_data["reason"]
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{thread.ref} is open again.")
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(thread, reopen_form=form)


class CouncilThreadDeathView(CouncilPageMixin, CouncilThreadMixin, View):
    """A reported death confirmed, or cleared as reported in error, from the provider's query; the query is
    answered with it."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(pk)
        death = selectors.death_report(thread)
        if death is None:
            raise Http404("No reported death here")
        form = DeathDecisionForm(request.POST, can_confirm=death.can_confirm, can_clear=death.can_clear)
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                services_council.death_report_decide(
                    thread=thread, by=self.user, decision=decision, answer=form.cleaned_data["answer"]
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                done = "confirmed" if decision == services_council.CONFIRM else "cleared"
                messages.success(
                    request,
                    f"The death of {death.person.name} is {done}; {thread.ref} answered and resolved.",
                )
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return council_thread_page(request, self.get_thread(pk), death_form=form)


class CouncilInvoiceDisputeView(CouncilPageMixin, View):
    """A finance officer raises a dispute about an invoice (from the council's invoice page)."""

    permission_required = permissions.VIEW_ALL_INVOICES_AND_EXPENSES

    def get_invoice(self, pk: int) -> Any:
        invoice = invoice_for_staff(user=self.user, pk=pk)
        if invoice is None:
            raise Http404("No such invoice")
        return invoice

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(self.get_invoice(pk), InvoiceDisputeForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_invoice(pk)
        form = InvoiceDisputeForm(request.POST)
        if form.is_valid():
            try:
                thread = services_council.dispute_raise_on_invoice(
                    user=self.user, invoice=invoice, reason=form.cleaned_data["reason"]
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, f"Dispute {thread.ref} raised on invoice {invoice.provider_invoice_number}."
                )
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(invoice, form)

    def _render(self, invoice: Any, form: InvoiceDisputeForm) -> HttpResponse:
        return render(
            self.request,
            "disputes/council_invoice_dispute.html",
            {"invoice": invoice, "form": form, "threads": list(threads_about_invoice(invoice=invoice)[:20])},
        )


class CouncilAttachmentView(CouncilThreadMixin, View):
    def get(self, request: HttpRequest, pk: int, attachment: int) -> FileResponse:
        return attachment_response(thread_attachment(self.get_thread(pk), attachment))


class CouncilThreadNewView(AttachmentUploadMixin, CouncilThreadMixin, View):
    """Council staff start a thread with a provider."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"provider": request.GET.get("provider", "")}
        team = self.user.teams.first()
        if team is not None:
            initial["team"] = team.code
        return render(
            request, "disputes/council_thread_new.html", {"form": CouncilThreadForm(initial=initial)}
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CouncilThreadForm(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        if form.is_valid():
            data = form.cleaned_data
            try:
                thread = services.thread_start_by_council(
                    user=self.user,
                    provider=data["provider"],
                    team=data["team"],
                    subject=data["subject"],
                    body=data["body"],
                    uploads=form.uploads(),
                )
            except services.DisputeError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Message {thread.ref} sent to {thread.provider.name}.")
                return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return render(request, "disputes/council_thread_new.html", {"form": form})


class TeamsView(PermissionRequiredMixin, View):
    permission_required = permissions.MANAGE_TEAMS

    def get(self, request: HttpRequest) -> HttpResponse:
        teams = Team.objects.prefetch_related("members").order_by("name")
        return render(request, "disputes/council_teams.html", {"teams": teams})


class TeamView(PermissionRequiredMixin, View):
    permission_required = permissions.MANAGE_TEAMS

    def get_team(self, code: str) -> Team:
        team = Team.objects.filter(code=code).first()
        if team is None:
            raise Http404("No such team")
        return team

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        team = self.get_team(code)
        form = TeamForm(initial={"email": team.email, "members": list(team.members.all())})
        return render(request, "disputes/council_team.html", {"team": team, "form": form})

    def post(self, request: HttpRequest, code: str) -> HttpResponse:
        team = self.get_team(code)
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                services.team_update(
                    team=team,
                    by=self.user,
                    email=form.cleaned_data["email"],
                    members=list(form.cleaned_data["members"]),
                )
            except services.DisputeError as error:
                form.add_error("members", str(error))
            else:
                messages.success(request, f"The {team.name} team has been updated.")
                return HttpResponseRedirect(reverse("council_teams"))
        return render(request, "disputes/council_team.html", {"team": team, "form": form})
