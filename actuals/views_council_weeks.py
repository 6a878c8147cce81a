"""The council's pages about one provider's actuals, reached from the provider's page: its weeks, and a
week's lines (read only: status, quantities, amounts, exceptions, the threads each line is in) with the
finance officer's dispute on the lines ticked or on the whole confirmed week. Views only call services
and selectors; a provider's login gets a 404 (`CouncilPageMixin`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from actuals import selectors
from actuals.models import ActualLine, ProviderWeek
from actuals.selectors_council import (
    week_for_staff,
    week_lines_for_staff,
    week_versions_for_staff,
    weeks_for_staff,
)
from actuals.views_council import rule_rows
from disputes.forms import LinesDisputeForm
from disputes.selectors import threads_by_line
from disputes.services import DisputeError
from disputes.services_council import (
    DISPUTABLE,
    WHOLE_WEEK,
    dispute_raise_on_lines,
    dispute_raise_on_week,
    week_fingerprint,
)
from portal import permissions
from portal.access import CouncilPageMixin
from portal.pagination import paginate
from portal.providers.models import Provider
from portal.providers.selectors import providers_for_staff

WEEKS_PER_PAGE = 50
LINES_PER_PAGE = 50


class ProviderActualsMixin(CouncilPageMixin):
    """A page about the provider of the URL's `ref`, for finance officers (who review providers' lines)."""

    permission_required = permissions.REVIEW_EXCEPTIONS
    kwargs: dict[str, Any]

    def get_provider(self) -> Provider:
        return get_object_or_404(providers_for_staff(user=self.user), ref=self.kwargs["ref"])


class CouncilProviderWeeksView(ProviderActualsMixin, View):
    """The provider's weeks, newest first: state, lines, held and disputed counts, total."""

    def get(self, request: HttpRequest, ref: str) -> HttpResponse:
        provider = self.get_provider()
        page = paginate(request, weeks_for_staff(user=self.user, provider=provider), per_page=WEEKS_PER_PAGE)
        return render(request, "actuals/council_provider_weeks.html", {"provider": provider, **page})


class CouncilProviderWeekView(ProviderActualsMixin, View):
    """One week of the provider's: its lines, and (once confirmed) a dispute on lines or the whole week."""

    def get_week(self, provider: Provider, week_start: dt.date) -> ProviderWeek:
        week = week_for_staff(user=self.user, provider=provider, week_start=week_start)
        if week is None:
            raise Http404("No such week")
        return week

    def disputable(self, week: ProviderWeek) -> list[tuple[int, int]]:
        return week_versions_for_staff(user=self.user, week=week, statuses=WHOLE_WEEK)

    def get(self, request: HttpRequest, ref: str, week: dt.date) -> HttpResponse:
        found = self.get_week(self.get_provider(), week)
        disputable = self.disputable(found)
        form = LinesDisputeForm(
            initial={"fingerprint": week_fingerprint(disputable)}, whole_week=len(disputable)
        )
        return self._render(found, form, disputable)

    def post(self, request: HttpRequest, ref: str, week: dt.date) -> HttpResponse:
        provider = self.get_provider()
        found = self.get_week(provider, week)
        form = LinesDisputeForm(request.POST, whole_week=len(self.disputable(found)))
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["about"] == LinesDisputeForm.WEEK:
                    thread = dispute_raise_on_week(
                        user=self.user,
                        provider=provider,
                        week_start=week,
                        fingerprint=data["fingerprint"],
                        reason=data["reason"],
                    )
                else:
                    thread = dispute_raise_on_lines(
                        user=self.user,
                        provider=provider,
                        week_start=week,
                        versions=data["lines"],
                        reason=data["reason"],
                    )
            except DisputeError as error:
                # The page is shown again as the week is now (its lines' versions and fingerprint), with
                # what was typed and ticked: submitting again disputes what is shown.
                disputable = self.disputable(found)
                again = request.POST.copy()
                again["fingerprint"] = week_fingerprint(disputable)
                form = LinesDisputeForm(again, whole_week=len(disputable))
                form.is_valid()
                form.add_error(None, str(error))
                return self._render(found, form, disputable)
            count = thread.lines.count()
            messages.success(
                request,
                f"Dispute {thread.ref} raised on {count} line{'' if count == 1 else 's'}: "
                f"{provider.name} has been told.",
            )
            return HttpResponseRedirect(reverse("council_thread", kwargs={"pk": thread.pk}))
        return self._render(found, form, self.disputable(found))

    def _render(
        self, week: ProviderWeek, form: LinesDisputeForm, disputable: list[tuple[int, int]]
    ) -> HttpResponse:
        search = self.request.GET.get("q", "").strip()
        page = paginate(
            self.request, week_lines_for_staff(user=self.user, week=week, q=search), per_page=LINES_PER_PAGE
        )
        lines: list[ActualLine] = list(page["page_obj"].object_list)
        exceptions = selectors.exceptions_by_line(lines)
        threads = threads_by_line([line.pk for line in lines])
        posted = form.data.getlist("lines") if isinstance(form.data, QueryDict) else []
        ticked = {value.split(":")[0] for value in posted}
        rows = [
            {
                "line": line,
                "exceptions": rule_rows(exceptions.get(line.pk, [])),
                "threads": threads.get(line.pk, []),
                "disputable": line.status in DISPUTABLE
                and not any(t.is_going_dispute for t in threads.get(line.pk, [])),
                "selected": str(line.pk) in ticked,
            }
            for line in lines
        ]
        boxes = [row for row in rows if row["disputable"]]
        for row in rows:
            row["first_box"] = bool(boxes) and row is boxes[0]  # its id is the field's, for the error summary
        return render(
            self.request,
            "actuals/council_provider_week.html",
            {
                "week": week,
                "provider": week.provider,
                "form": form,
                "rows": rows,
                "search": search,
                "can_dispute": week.is_confirmed and bool(disputable),
                "week_threads": list(week.threads.select_related("team").order_by("-last_message_at")[:20]),
                "action_query": self.request.GET.urlencode(),
                **page,
            },
        )
