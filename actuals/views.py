"""The provider's weekly cycle: weeks, a week's lines, amending (inline with htmx, or a plain form),
acknowledging, confirming, nil returns, corrections and the scheduled payments page.

Views only call services and selectors; another provider's week or line is a 404 because every read
starts from the provider in use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from actuals import calendar, selectors, services
from actuals.forms import AcknowledgeForm, DeclarationForm, LineAmendForm, LineCorrectForm, NilReturnForm
from actuals.models import ActualLine, LineException, ProviderWeek
from portal import permissions
from portal.access import PermissionRequiredMixin
from portal.pagination import paginate

LINES_PER_PAGE = 50

SHOW_CHOICES = [
    ("", "All lines"),
    ("blocking", "Must be fixed"),
    ("reason", "Need a reason"),
    ("variance", "Differ from plan"),
    ("changed", "Changed in the back office"),
    ("rejected", "Rejected by the back office"),
]


def week_url(week_start: dt.date, name: str = "actuals_week", **kwargs: Any) -> str:
    return reverse(name, kwargs={"week": week_start, **kwargs})


class WeekMixin(PermissionRequiredMixin):
    """A view of one of the provider's weeks: `self.week_start` from the URL, `self.week` if generated."""

    kwargs: dict[str, Any]

    @property
    def week_start(self) -> dt.date:
        return self.kwargs["week"]

    def get_week(self) -> ProviderWeek | None:
        return selectors.week_for_provider(provider=self.provider, week_start=self.week_start)

    def get_line(self) -> ActualLine:
        line = (
            selectors.lines_for_week_start(provider=self.provider, week_start=self.week_start)
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if line is None:
            raise Http404("No such line")
        return line


class WeeksView(PermissionRequiredMixin, TemplateView):
    """Every week: the one due, earlier ones still open, and the recent history."""

    permission_required = permissions.VIEW_OWN_ACTUALS
    template_name = "actuals/weeks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        due = calendar.week_due()
        context.update(
            due=selectors.week_summary(provider=self.provider, week_start=due),
            open_weeks=selectors.open_earlier_weeks(provider=self.provider, before=due),
            recent=selectors.recent_weeks(provider=self.provider),
        )
        return context


class WeekView(WeekMixin, TemplateView):
    """A week's actual lines, filtered and paged, with what can be done next."""

    permission_required = permissions.VIEW_OWN_ACTUALS
    template_name = "actuals/week.html"

    def filtered_lines(self, week: ProviderWeek) -> QuerySet[ActualLine]:
        lines = selectors.lines_for_week(provider=self.provider, week=week)
        search = self.request.GET.get("q", "").strip()
        if search:
            lines = lines.filter(
                Q(care_package_line__service_user__name__icontains=search)
                | Q(care_package_line__service_user__ref__iexact=search)
                | Q(care_package_line__ref__iexact=search)
            )
        show = self.request.GET.get("show", "")
        if show == "blocking":
            lines = selectors.with_blocking(lines)
        elif show == "reason":
            lines = selectors.needing_reason(lines)
        elif show == "variance":
            lines = selectors.differing_from_plan(lines)
        elif show == "changed":
            lines = selectors.changed_in_backoffice(lines)
        elif show == "rejected":
            lines = lines.filter(status=ActualLine.Status.REJECTED)
        return lines

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        summary = selectors.week_summary(provider=self.provider, week_start=self.week_start)
        context.update(
            summary=summary,
            week_start=self.week_start,
            week_url=week_url(self.week_start),
            show_choices=SHOW_CHOICES,
        )
        context["search"] = self.request.GET.get("q", "")
        context["show"] = self.request.GET.get("show", "")
        if summary.week is not None:
            unfiltered = not (context["search"] or context["show"])
            page = paginate(
                self.request,
                self.filtered_lines(summary.week),
                per_page=LINES_PER_PAGE,
                count=summary.lines if unfiltered else None,
            )
            lines = list(page["page_obj"].object_list)
            # A week with no exceptions (one as generated from the plan) has none to look up.
            exceptions = selectors.exceptions_by_line(lines) if summary.exceptions else {}
            context.update(page, rows=[(line, exceptions.get(line.pk, [])) for line in lines])
        context["can_record"] = permissions.RECORD_ACTUALS in self.request.portal_perms  # type: ignore[attr-defined]
        context["time_left"] = selectors.time_left(summary.deadline)
        return context


class GenerateView(WeekMixin, View):
    permission_required = permissions.RECORD_ACTUALS

    def post(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        try:
            result = services.actuals_generate(provider=self.provider, week_start=week, by=self.user)
        except services.ActualsError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(week_url(week))
        if result.week.is_confirmed and result.created:
            messages.success(
                request,
                f"{result.created} line{'s' if result.created != 1 else ''} added for care package lines the "
                "council published after you confirmed: check and confirm them.",
            )
        elif result.created or result.refreshed or result.removed:
            text = f"{result.created} line{'s' if result.created != 1 else ''} generated from your care package lines"
            if result.refreshed:
                text += f"; {result.refreshed} updated to a changed plan"
            if result.removed:
                text += f"; {result.removed} removed (the care package line no longer runs this week)"
            if result.kept:
                text += f"; {result.kept} already there left as they were"
            messages.success(request, text + ".")
        else:
            messages.info(request, "Nothing to add: every line is already there.")
        return HttpResponseRedirect(week_url(week))


class LineView(WeekMixin, View):
    """One line: its details and exceptions, and the amend form. With htmx (HX-Request), GET answers the
    table row in edit mode and POST the row as saved (or in edit mode with its errors); without
    JavaScript it is an ordinary page."""

    permission_required = permissions.RECORD_ACTUALS

    def _render(
        self, request: HttpRequest, line: ActualLine, form: LineAmendForm, **extra: Any
    ) -> HttpResponse:
        if request.headers.get("HX-Request"):
            return render(request, "actuals/_line_edit_row.html", {"line": line, "form": form, **extra})
        context = {
            "line": line,
            "form": form,
            "exceptions": list(line.exceptions.all()),
            "week_start": self.week_start,
            "threads": list(line.threads.select_related("team")),
            **extra,
        }
        return render(request, "actuals/line.html", context)

    def get(self, request: HttpRequest, week: dt.date, pk: int) -> HttpResponse:
        line = self.get_line()
        if request.headers.get("HX-Request") and request.GET.get("display"):
            return _display_row(request, line)
        form = LineAmendForm(
            initial={**services.LineValues.of(line).__dict__, "revision": line.revision},
            service_type=line.care_package_line.service_type,
        )
        return self._render(request, line, form)

    def post(self, request: HttpRequest, week: dt.date, pk: int) -> HttpResponse:
        line = self.get_line()
        form = LineAmendForm(request.POST, service_type=line.care_package_line.service_type)
        if not form.is_valid():
            return self._render(request, line, form)
        try:
            saved = services.actual_amend(
                provider=self.provider,
                line_id=line.pk,
                by=self.user,
                values=form.values(services.LineValues.of(line)),
                revision=form.cleaned_data["revision"],
            )
        except services.StaleEdit as stale:
            theirs = stale.line
            data = request.POST.copy()
            data["revision"] = str(theirs.revision)
            form = LineAmendForm(data, service_type=theirs.care_package_line.service_type)
            form.is_valid()
            form.add_error(None, str(stale))
            return self._render(request, theirs, form, theirs=theirs)
        except services.ActualsError as error:
            form.add_error(None, str(error))
            return self._render(request, line, form)
        if request.headers.get("HX-Request"):
            line = selectors.line_with_related(provider=self.provider, pk=saved.pk)
            return _display_row(request, line, saved=True)
        messages.success(request, f"Line for {line.care_package_line.service_user.name} saved.")
        return HttpResponseRedirect(f"{week_url(week)}#line-{line.pk}")


def _display_row(request: HttpRequest, line: ActualLine, *, saved: bool = False) -> HttpResponse:
    exceptions = list(line.exceptions.all())
    summary = (
        selectors.week_summary(provider=line.provider, week_start=line.week.week_start) if saved else None
    )
    return render(
        request,
        "actuals/_line_row.html",
        {
            "line": line,
            "exceptions": exceptions,
            "can_record": True,
            "week_start": line.week.week_start,
            "week_url": week_url(line.week.week_start),
            "focus": True,  # back on the row's Change link, for keyboard users
            "summary": summary,
        },
    )


class AcknowledgeView(WeekMixin, View):
    permission_required = permissions.RECORD_ACTUALS

    def _exception(self, line: ActualLine) -> LineException:
        exception = line.exceptions.filter(rule=self.kwargs["rule"]).first()
        if exception is None:
            raise Http404("No such exception on this line")
        return exception

    def get(self, request: HttpRequest, week: dt.date, pk: int, rule: str) -> HttpResponse:
        line = self.get_line()
        exception = self._exception(line)
        form = AcknowledgeForm(initial={"reason": exception.reason})
        return self._render(line, exception, form)

    def post(self, request: HttpRequest, week: dt.date, pk: int, rule: str) -> HttpResponse:
        line = self.get_line()
        exception = self._exception(line)
        form = AcknowledgeForm(request.POST)
        if form.is_valid():
            try:
                services.exception_acknowledge(
                    provider=self.provider,
                    line_id=line.pk,
                    rule=rule,
                    by=self.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.ActualsError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Reason recorded for {line.care_package_line.service_user.name}.")
                return HttpResponseRedirect(f"{week_url(week)}#line-{line.pk}")
        return self._render(line, exception, form)

    def _render(self, line: ActualLine, exception: LineException, form: AcknowledgeForm) -> HttpResponse:
        return render(
            self.request,
            "actuals/acknowledge.html",
            {"line": line, "exception": exception, "form": form, "week_start": self.week_start},
        )


class CorrectView(WeekMixin, View):
    """Correct a confirmed, unpaid line once, with a reason (a new version). Correcting is confirming
    again, so it needs CONFIRM_ACTUALS (the week's rows show the Correct link only with it)."""

    permission_required = permissions.CONFIRM_ACTUALS

    def get(self, request: HttpRequest, week: dt.date, pk: int) -> HttpResponse:
        line = self.get_line()
        if not line.can_be_corrected:
            messages.info(request, "This line cannot be corrected: " + _why_not_correctable(line))
            return HttpResponseRedirect(reverse("actual_line", kwargs={"week": week, "pk": pk}))
        form = LineCorrectForm(
            initial={**services.LineValues.of(line).__dict__, "revision": line.revision},
            service_type=line.care_package_line.service_type,
        )
        return self._render(line, form)

    def post(self, request: HttpRequest, week: dt.date, pk: int) -> HttpResponse:
        line = self.get_line()
        form = LineCorrectForm(request.POST, service_type=line.care_package_line.service_type)
        if form.is_valid():
            try:
                saved = services.actual_line_correct(
                    provider=self.provider,
                    line_id=line.pk,
                    by=self.user,
                    values=form.values(services.LineValues.of(line)),
                    reason=form.cleaned_data["reason"],
                    revision=form.cleaned_data["revision"],
                )
            except services.StaleEdit as stale:
                # As LineView: their version beside what this user typed, which a second send saves.
                theirs = stale.line
                data = request.POST.copy()
                data["revision"] = str(theirs.revision)
                form = LineCorrectForm(data, service_type=theirs.care_package_line.service_type)
                form.is_valid()
                form.add_error(None, str(stale))
                return self._render(theirs, form, theirs=theirs)
            except services.ActualsError as error:
                form.add_error(None, str(error))
            else:
                if saved.status == ActualLine.Status.HELD:
                    text = "Correction saved. It is held for the council's review before it is sent."
                else:
                    text = "Correction saved and sent to the council."
                messages.success(request, text)
                return HttpResponseRedirect(f"{week_url(week)}#line-{line.pk}")
        return self._render(line, form)

    def _render(
        self, line: ActualLine, form: LineCorrectForm, *, theirs: ActualLine | None = None
    ) -> HttpResponse:
        return render(
            self.request,
            "actuals/correct.html",
            {"line": line, "form": form, "week_start": self.week_start, "theirs": theirs},
        )


def _why_not_correctable(line: ActualLine) -> str:
    if line.is_draft:
        return "it has not been confirmed yet, so change it instead."
    if line.correction_reason:
        return "it has already been corrected once."
    if line.status == ActualLine.Status.PAID:
        return "it has been paid. Raise a payment query to put it right."
    return "it is in dispute. Answer the dispute instead."


class ConfirmView(WeekMixin, View):
    """The declaration: the week's total and lines by state, then confirm."""

    permission_required = permissions.CONFIRM_ACTUALS

    def get(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        return self._render(DeclarationForm())

    def post(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        form = DeclarationForm(request.POST)
        if form.is_valid():
            try:
                result = services.week_confirm(
                    provider=self.provider,
                    week_start=week,
                    by=self.user,
                    declaration=True,
                    fingerprint=request.POST.get("seen", ""),
                )
            except services.ActualsError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _confirmed_text(result))
                return HttpResponseRedirect(reverse("scheduled_payments"))
        return self._render(form)

    def _render(self, form: DeclarationForm) -> HttpResponse:
        summary = selectors.week_summary(provider=self.provider, week_start=self.week_start)
        to_confirm, seen = services.week_drafts_fingerprint(summary.week) if summary.week else (0, "")
        return render(
            self.request,
            "actuals/confirm.html",
            {
                "summary": summary,
                "form": form,
                "week_start": self.week_start,
                "supplementary": to_confirm if summary.confirmed else 0,
                "seen": seen,  # the lines this page shows, which the declaration covers
            },
        )


def _confirmed_text(result: services.ConfirmResult) -> str:
    text = f"{calendar.week_label(result.week.week_start)} confirmed"
    if result.week.late:
        text += " after the deadline: its payment waits for the next payment run"
    text += f". {result.sent} line{'s' if result.sent != 1 else ''} sent to the council"
    if result.held:
        text += f", {result.held} held for the council's review"
    return text + ". We have emailed you a receipt."


class NilReturnView(WeekMixin, View):
    permission_required = permissions.CONFIRM_ACTUALS

    def get(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        return self._render(NilReturnForm())

    def post(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        form = NilReturnForm(request.POST)
        if form.is_valid():
            try:
                result = services.week_nil_return(
                    provider=self.provider, week_start=week, by=self.user, declaration=True
                )
            except services.ActualsError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, _confirmed_text(result).replace("confirmed", "confirmed as no service", 1)
                )
                return HttpResponseRedirect(reverse("scheduled_payments"))
        return self._render(form)

    def _render(self, form: NilReturnForm) -> HttpResponse:
        summary = selectors.week_summary(provider=self.provider, week_start=self.week_start)
        return render(
            self.request,
            "actuals/nil_return.html",
            {"summary": summary, "form": form, "week_start": self.week_start},
        )


class ScheduledPaymentsView(PermissionRequiredMixin, TemplateView):
    """Per week: the total to be paid and the lines by state, with the way to confirm what is open."""

    permission_required = permissions.VIEW_OWN_ACTUALS
    template_name = "actuals/scheduled_payments.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        closed = calendar.closure_days()
        due = calendar.week_due(closed=closed)
        open_weeks = selectors.open_earlier_weeks(provider=self.provider, before=due, closed=closed)
        starts = {s.week_start for s in open_weeks if s.week is not None}
        starts.update(week.week_start for week in selectors.recent_weeks(provider=self.provider, count=8))
        # The week due, unless there is nothing to confirm in it (care all paid on invoice)
        if due in starts or selectors.weeks_with_care_on_actuals(provider=self.provider, week_starts=[due]):
            starts.add(due)
        weeks = selectors.week_summaries(
            provider=self.provider, week_starts=sorted(starts, reverse=True), closed=closed
        )
        context.update(weeks=weeks, due=due, next_payment=selectors.next_payment(provider=self.provider))
        return context
