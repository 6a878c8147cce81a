"""The portal administrators' pages: notices of change (with how many have read each) and guidance pages,
each written with a preview, in GOV.UK forms that keep what was typed. Views only call selectors and
services; every change is audited by the service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from portal import clock, permissions
from portal.access import PermissionRequiredMixin
from portal.audit.models import AuditEvent
from portal.content import selectors, services
from portal.content.forms import ALL_PROVIDERS, GuidancePageForm, NoticeForm
from portal.content.models import GuidancePage, Notice
from portal.pagination import paginate

PER_PAGE = 50
PREVIEW = "preview"

NOTICE_STATES = {
    "scheduled": ("Scheduled", "blue"),
    "showing": ("Showing", "green"),
    "ended": ("Ended", "grey"),
    "withdrawn": ("Withdrawn", "red"),
}
HISTORY_LABELS = {
    "content.notice.created": "Written",
    "content.notice.changed": "Changed",
    "content.notice.withdrawn": "Withdrawn",
    "content.guidance_page.created": "Written",
    "content.guidance_page.changed": "Changed",
}
FIELD_LABELS = {
    "title": "title",
    "body": "text",
    "provider_kind": "who it is for",
    "service_type": "service type",
    "shown_from": "first day shown",
    "shown_until": "last day shown",
    "slug": "web address",
    "published": "published",
    "order": "order",
}


def _history(obj: Notice | GuidancePage) -> list[dict[str, Any]]:
    rows = []
    for event in AuditEvent.objects.for_object(obj).order_by("-at", "-pk")[:50]:
        changed = event.data.get("changed", {})
        what = HISTORY_LABELS.get(event.action, event.action)
        if changed:
            what += ": " + ", ".join(FIELD_LABELS.get(name, name) for name in changed)
        rows.append({"event": event, "what": what})
    return rows


class _EditView(PermissionRequiredMixin, View):
    """A notice or guidance page form with "Preview" (renders the text as it will be shown, saves
    nothing) and "Save". A refused save keeps everything typed; a stale one also shows what is saved now."""

    permission_required = permissions.MANAGE_CONTENT
    template_name = ""
    form_class: Any = None

    def get_object(self, pk: int | None) -> Any:
        raise NotImplementedError

    def initial(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, form: Any, obj: Any) -> Any:
        raise NotImplementedError

    def preview(self, body: str) -> Any:
        raise NotImplementedError

    def saved_text(self, obj: Any, created: bool) -> str:
        raise NotImplementedError

    def success_url(self, obj: Any) -> str:
        raise NotImplementedError

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        obj = self.get_object(pk)
        if getattr(obj, "withdrawn_at", None) is not None:
            return self._render(obj, None)
        return self._render(obj, self.form_class(initial=self.initial(obj)))

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        obj = self.get_object(pk)
        if getattr(obj, "withdrawn_at", None) is not None:
            return self._render(obj, None)
        form = self.form_class(request.POST)
        if request.POST.get("action") == PREVIEW:
            form.is_valid()  # the preview shows what is still missing too
            return self._render(obj, form, preview=self.preview(request.POST.get("body", "")))
        if form.is_valid():
            try:
                saved = self.save(form, obj)
            except services.StaleEdit as error:
                current = self.get_object(pk)
                data = request.POST.copy()
                data["revision"] = str(current.revision)  # saving again replaces what is saved now
                form = self.form_class(data)
                form.is_valid()
                form.add_error(None, str(error))
                return self._render(current, form, stale=current)
            except services.ContentError as error:
                form.add_error(error.field, str(error))
            else:
                messages.success(request, self.saved_text(saved, created=obj is None))
                return HttpResponseRedirect(self.success_url(saved))
        return self._render(obj, form)

    def _render(self, obj: Any, form: Any, *, preview: Any = None, stale: Any = None) -> HttpResponse:
        context = {
            "object": obj,
            "form": form,
            "preview": preview,
            "previewed": preview is not None,
            "stale": stale,
            "history": _history(obj) if obj is not None else [],
            **self.extra_context(obj),
        }
        return render(self.request, self.template_name, context)


# Notices ------------------------------------------------------------------------------------------


class NoticeListView(PermissionRequiredMixin, View):
    """Every notice, newest first, with its state and how many users have read it."""

    permission_required = permissions.MANAGE_CONTENT

    def get(self, request: HttpRequest) -> HttpResponse:
        notices = selectors.notices_for_staff(user=self.user)
        page = paginate(request, notices, per_page=PER_PAGE)
        today = clock.today()
        rows = [
            {"notice": notice, "state": NOTICE_STATES[notice.state(today)]}
            for notice in page["page_obj"].object_list
        ]
        return render(request, "content/council_notices.html", {"rows": rows, **page})


class NoticeEditView(_EditView):
    """Write a notice (no pk) or change one."""

    template_name = "content/council_notice_edit.html"
    form_class = NoticeForm

    def get_object(self, pk: int | None) -> Notice | None:
        if pk is None:
            return None
        notice = selectors.notices_for_staff(user=self.user).filter(pk=pk).first()
        if notice is None:
            raise Http404("No such notice")
        return notice

    def initial(self, obj: Notice | None) -> dict[str, Any]:
        if obj is None:
            return {"shown_from": clock.today(), "provider_kind": ALL_PROVIDERS}
        return {
            "title": obj.title,
            "body": obj.body,
            "provider_kind": obj.provider_kind or ALL_PROVIDERS,
            "service_type": obj.service_type_id,
            "shown_from": obj.shown_from,
            "shown_until": obj.shown_until,
            "revision": obj.revision,
        }

    def save(self, form: NoticeForm, obj: Notice | None) -> Notice:
        if obj is None:
            return services.notice_create(fields=form.notice_fields(), by=self.user)
        return services.notice_change(
            notice_id=obj.pk,
            fields=form.notice_fields(),
            revision=form.cleaned_data["revision"] or 0,
            by=self.user,
        )

    def preview(self, body: str) -> Any:
        return services.notice_html(body)

    def saved_text(self, obj: Notice, created: bool) -> str:
        return f"Notice “{obj.title}” {'written' if created else 'saved'}."

    def success_url(self, obj: Notice) -> str:
        return reverse("council_notices")

    def extra_context(self, obj: Notice | None) -> dict[str, Any]:
        if obj is None:
            return {}
        return {
            "state": NOTICE_STATES[obj.state(clock.today())],
            "audience_users": selectors.notice_audience_users(notice=obj),
        }


class NoticeWithdrawView(PermissionRequiredMixin, View):
    """Confirm, then stop showing a notice to everyone at once."""

    permission_required = permissions.MANAGE_CONTENT

    def get_notice(self, pk: int) -> Notice:
        notice = selectors.notices_for_staff(user=self.user).filter(pk=pk, withdrawn_at__isnull=True).first()
        if notice is None:
            raise Http404("No such notice that is not withdrawn")
        return notice

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "content/council_notice_withdraw.html", {"notice": self.get_notice(pk)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notice = self.get_notice(pk)
        try:
            services.notice_withdraw(notice_id=notice.pk, by=self.user)
        except services.ContentError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Notice “{notice.title}” withdrawn: providers no longer see it.")
        return HttpResponseRedirect(reverse("council_notices"))


# Guidance pages -----------------------------------------------------------------------------------


class GuidanceManageView(PermissionRequiredMixin, View):
    """Every guidance page, published or draft, in the order providers see them."""

    permission_required = permissions.MANAGE_CONTENT

    def get(self, request: HttpRequest) -> HttpResponse:
        pages = selectors.guidance_pages_for_staff(user=self.user).order_by(
            "service_type__name", "order", "title"
        )
        page = paginate(request, pages, per_page=PER_PAGE)
        return render(request, "content/council_guidance.html", page)


class GuidanceEditView(_EditView):
    """Write a guidance page (no pk) or change one."""

    template_name = "content/council_guidance_edit.html"
    form_class = GuidancePageForm

    def get_object(self, pk: int | None) -> GuidancePage | None:
        if pk is None:
            return None
        page = selectors.guidance_pages_for_staff(user=self.user).filter(pk=pk).first()
        if page is None:
            raise Http404("No such guidance page")
        return page

    def initial(self, obj: GuidancePage | None) -> dict[str, Any]:
        if obj is None:
            return {"order": 0}
        return {
            "title": obj.title,
            "slug": obj.slug,
            "body": obj.body,
            "service_type": obj.service_type_id,
            "order": obj.order,
            "published": obj.published,
            "revision": obj.revision,
        }

    def save(self, form: GuidancePageForm, obj: GuidancePage | None) -> GuidancePage:
        if obj is None:
            return services.guidance_page_create(fields=form.guidance_fields(), by=self.user)
        return services.guidance_page_change(
            page_id=obj.pk,
            fields=form.guidance_fields(),
            revision=form.cleaned_data["revision"] or 0,
            by=self.user,
        )

    def preview(self, body: str) -> Any:
        return services.guidance_html(body)

    def saved_text(self, obj: GuidancePage, created: bool) -> str:
        state = "published" if obj.published else "saved as a draft"
        return f"Guidance page “{obj.title}” {state}."

    def success_url(self, obj: GuidancePage) -> str:
        return reverse("council_guidance")
