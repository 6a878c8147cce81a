"""The council's side of the weekly cycle: the exception review queue (one line or several at once), the
deadline tracker with its reminders, and the closure days. Views only call services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from actuals import calendar, closures, reminders, selectors, services
from actuals.filters import ExceptionReviewFilter
from actuals.forms_council import (
    BulkReviewForm,
    ClosureDayForm,
    DeadlineFilterForm,
    LineReviewForm,
    RemindersForm,
    ReviewDecisionForm,
)
from actuals.models import ActualLine, ClosureDay
from actuals.rules import rule_by_id
from disputes.services import DisputeError, dispute_raise_on_held_lines
from portal import permissions
from portal.access import PermissionRequiredMixin
from portal.audit.models import AuditEvent
from portal.pagination import paginate, query_without

REVIEW_PER_PAGE = 50

HISTORY_LABELS = {
    "actuals.exception.acknowledged": "Reason given by the provider",
    "actuals.line.amended": "Amended by the provider",
    "actuals.line.corrected": "Corrected by the provider",
    "actuals.line.approved": "Approved",
    "actuals.line.disputed": "Dispute raised",
    "actuals.line.accepted": "Accepted by the back office",
    "actuals.line.rejected": "Rejected by the back office",
    "actuals.line.paid": "Paid",
    "actuals.line.settled": "Settled in a dispute (a new version)",
    "actuals.line.not_payable": "Not payable (dispute upheld)",
}


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _decide(*, user: Any, decision: str, versions: dict[int, int], reason: str) -> int:
    if decision == ReviewDecisionForm.APPROVE:
        return services.lines_approve(user=user, versions=versions, reason=reason)
    # A dispute is a thread with the provider (the disputes app), one for each provider's week.
    threads = dispute_raise_on_held_lines(user=user, versions=versions, reason=reason)
    return sum(thread.lines.count() for thread in threads)


def _decided_text(decision: str, count: int, who: str = "") -> str:
    lines = f"the line for {who}" if who else _plural(count, "line")
    if decision == ReviewDecisionForm.APPROVE:
        return f"Approved {lines}: {'it is' if count == 1 else 'they are'} on the way to the back office."
    return f"Dispute raised on {lines}: {'it goes' if count == 1 else 'they go'} back to the provider."


def rule_rows(exceptions: list[Any]) -> list[dict[str, Any]]:
    """Each exception with its rule's text, for the templates."""
    return [{"exception": e, "rule_text": rule_by_id(e.rule).text} for e in exceptions]


# The exception review queue -----------------------------------------------------------------------


class ExceptionReviewView(PermissionRequiredMixin, View):
    """Lines held for review across providers, filtered, sorted and paged; approve or dispute the lines
    ticked, all or nothing."""

    permission_required = permissions.REVIEW_EXCEPTIONS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(BulkReviewForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BulkReviewForm(request.POST)
        if form.is_valid():
            decision, versions = form.cleaned_data["decision"], form.cleaned_data["lines"]
            try:
                count = _decide(
                    user=self.user, decision=decision, versions=versions, reason=form.cleaned_data["reason"]
                )
            except (services.ActualsError, DisputeError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _decided_text(decision, count))
                return HttpResponseRedirect(request.get_full_path())
        return self._render(form)

    def _render(self, form: BulkReviewForm) -> HttpResponse:
        queue = selectors.held_lines_for_staff(user=self.user)
        filterset = ExceptionReviewFilter(self.request.GET or None, queryset=queue)
        page = paginate(self.request, filterset.qs, per_page=REVIEW_PER_PAGE)
        lines = list(page["page_obj"].object_list)
        exceptions = selectors.exceptions_by_line(lines)
        selected = set(getattr(form, "cleaned_data", {}).get("lines", {}))
        rows = [
            {
                "line": line,
                "exceptions": rule_rows(exceptions.get(line.pk, [])),
                "selected": line.pk in selected,
            }
            for line in lines
        ]
        return render(
            self.request,
            "actuals/council_exception_review.html",
            {
                "filterset": filterset,
                "filter_form": filterset.form,
                "form": form if form.errors else filterset.form,
                "decision_form": form,
                "rows": rows,
                "total_held": queue.count(),
                "sort": self.request.GET.get("sort", ""),
                "sort_query": query_without(self.request, "sort", "page"),
                "action_query": self.request.GET.urlencode(),
                **page,
            },
        )


class ExceptionLineView(PermissionRequiredMixin, View):
    """One line in review: what it is, its exceptions with the provider's reasons, its history, and the
    decision while it is held."""

    permission_required = permissions.REVIEW_EXCEPTIONS

    def get_line(self, pk: int) -> ActualLine:
        line = selectors.reviewed_lines_for_staff(user=self.user).filter(pk=pk).first()
        if line is None:
            raise Http404("No such line in review")
        return line

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.get_line(pk)
        return self._render(line, LineReviewForm(initial={"version": line.version}))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.get_line(pk)
        form = LineReviewForm(request.POST)
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                _decide(
                    user=self.user,
                    decision=decision,
                    versions={line.pk: form.cleaned_data["version"]},
                    reason=form.cleaned_data["reason"],
                )
            except (services.ActualsError, DisputeError) as error:
                line = self.get_line(pk)
                form = LineReviewForm({**request.POST.dict(), "version": line.version})  # as shown now
                form.is_valid()
                form.add_error(None, str(error))
            else:
                who = line.care_package_line.service_user.name
                messages.success(request, _decided_text(decision, 1, who))
                return HttpResponseRedirect(reverse("council_exception_review"))
        return self._render(line, form)

    def _render(self, line: ActualLine, form: ReviewDecisionForm) -> HttpResponse:
        exceptions = selectors.exceptions_by_line([line]).get(line.pk, [])
        history = [
            (event, HISTORY_LABELS.get(event.action, event.action))
            for event in AuditEvent.objects.for_object(line)
            .select_related("actor")
            .order_by("at", "pk")[:100]
        ]
        return render(
            self.request,
            "actuals/council_exception.html",
            {
                "line": line,
                "exceptions": rule_rows(exceptions),
                "history": history,
                "form": form,
                "held": line.status == ActualLine.Status.HELD,
                "threads": list(line.threads.select_related("team")),
            },
        )


# The deadline tracker -----------------------------------------------------------------------------


class DeadlinesView(PermissionRequiredMixin, View):
    """For one week (the week due unless another is chosen), every expected provider's state, with the
    counts at the top and the way to remind those who have not confirmed."""

    permission_required = permissions.TRACK_DEADLINES

    def get(self, request: HttpRequest) -> HttpResponse:
        form = DeadlineFilterForm(request.GET or None, due=calendar.week_due())
        week_start, state = form.chosen_week(), form.chosen_state()
        board = reminders.deadline_board_for_staff(user=self.user, week_start=week_start)
        sort = request.GET.get("sort", "")
        week_query = f"week={week_start.isoformat()}"
        return render(
            request,
            "actuals/council_deadlines.html",
            {
                "form": form,
                "board": board,
                "rows": board.sorted_rows(sort, state),
                "state": state,
                "count_links": [
                    {
                        "state": value,
                        "label": label,
                        "count": board.counts[value],
                        "url": f"?{week_query}&state={value}",
                        "current": value == state,
                    }
                    for value, label in reminders.DeadlineState.choices
                ],
                "total": len(board.rows),
                "to_remind": len(board.to_remind),
                "sort": sort,
                "sort_query": query_without(request, "sort"),
                "week_query": week_query,
                "previous_week": week_start - dt.timedelta(weeks=1),
                "next_week": week_start + dt.timedelta(weeks=1),
                "due": form.due,
            },
        )


class DeadlineRemindersView(PermissionRequiredMixin, View):
    """Confirm, then send, a reminder to every expected provider that has not confirmed the week. The
    run's name is fixed on the confirmation page, so submitting it twice reminds nobody twice."""

    permission_required = permissions.TRACK_DEADLINES

    def get(self, request: HttpRequest) -> HttpResponse:
        form = DeadlineFilterForm(request.GET or None, due=calendar.week_due())
        week_start = form.chosen_week()
        confirm = RemindersForm(initial={"week": week_start.isoformat(), "run": reminders.new_run_token()})
        return self._render(week_start, confirm)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RemindersForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This reminder page has expired: open it again.")
            return HttpResponseRedirect(reverse("council_deadlines"))
        week_start = form.cleaned_data["week"]
        try:
            run = reminders.deadline_reminders_send(
                week_start=week_start, by=self.user, run=form.cleaned_data["run"]
            )
        except reminders.ReminderError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _reminded_text(run))
        return HttpResponseRedirect(f"{reverse('council_deadlines')}?week={week_start.isoformat()}")

    def _render(self, week_start: dt.date, confirm: RemindersForm) -> HttpResponse:
        board = reminders.deadline_board_for_staff(user=self.user, week_start=week_start)
        rows = board.to_remind
        addresses = reminders.reminder_recipients([row.provider.pk for row in rows])
        sendable = sum(1 for row in rows if addresses.get(row.provider.pk))
        return render(
            self.request,
            "actuals/council_deadline_reminders.html",
            {
                "board": board,
                "rows": [(row, len(addresses.get(row.provider.pk, []))) for row in rows],
                "sendable": sendable,
                "button_text": f"Send {_plural(sendable, 'reminder')}",
                "confirm": confirm,
                "back_url": f"{reverse('council_deadlines')}?week={week_start.isoformat()}",
            },
        )


def _reminded_text(run: reminders.ReminderRun) -> str:
    if not run.reminded:
        text = "No reminders were sent"
        if run.already:
            text += f": {_plural(run.already, 'provider')} had already been reminded by this page"
        text += "."
    else:
        text = (
            f"Reminders sent to {_plural(len(run.reminded), 'provider')} "
            f"({_plural(run.recipients, 'email address', 'email addresses')})."
        )
    if run.no_address:
        names = ", ".join(provider.name for provider in run.no_address)
        text += f" Not reminded, with no email address: {names}."
    return text


# Closure days -------------------------------------------------------------------------------------


class ClosureDaysView(PermissionRequiredMixin, View):
    """The closure days coming up (each removable), the past year's, and the form to add one."""

    permission_required = permissions.MANAGE_CLOSURE_DAYS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(ClosureDayForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClosureDayForm(request.POST)
        if form.is_valid():
            try:
                closure = closures.closure_day_add(
                    day=form.cleaned_data["date"], name=form.cleaned_data["name"], by=self.user
                )
            except closures.ClosureDayError as error:
                form.add_error("date", str(error))
            else:
                messages.success(
                    request, f"{closures.long_date(closure.day)} ({closure.name}) added as a closure day."
                )
                return HttpResponseRedirect(reverse("council_closure_days"))
        return self._render(form)

    def _render(self, form: ClosureDayForm) -> HttpResponse:
        return render(
            self.request,
            "actuals/council_closure_days.html",
            {
                "form": form,
                "upcoming": list(closures.closure_days_upcoming()),
                "recent": list(closures.closure_days_recent()),
            },
        )


class ClosureDayRemoveView(PermissionRequiredMixin, View):
    """Confirm, then remove, a closure day that has not passed."""

    permission_required = permissions.MANAGE_CLOSURE_DAYS

    def get_closure(self, pk: int) -> ClosureDay:
        closure = closures.closure_days_upcoming().filter(pk=pk).first()
        if closure is None:
            raise Http404("No such closure day to come")
        return closure

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "actuals/council_closure_day_remove.html", {"closure": self.get_closure(pk)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        closure = self.get_closure(pk)
        try:
            closures.closure_day_remove(closure_day_id=closure.pk, by=self.user)
        except closures.ClosureDayError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, f"{closures.long_date(closure.day)} ({closure.name}) is no longer a closure day."
            )
        return HttpResponseRedirect(reverse("council_closure_days"))
