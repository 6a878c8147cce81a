"""What providers (and council staff) read: the guidance pages, and the notices of change for the provider
in use, with the "Dismiss" that takes one off the user's home page. Views only call selectors and
services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from portal import permissions
from portal.access import PermissionRequiredMixin
from portal.content import selectors, services


class GuidanceListView(PermissionRequiredMixin, View):
    """The published guidance pages: general guidance first, then each service type's."""

    permission_required = permissions.VIEW_GUIDANCE

    def get(self, request: HttpRequest) -> HttpResponse:
        pages = list(selectors.guidance_pages_published())
        return render(
            request,
            "content/guidance_list.html",
            {"sections": selectors.guidance_sections(pages), "pages": pages},
        )


class GuidancePageView(PermissionRequiredMixin, View):
    """One published guidance page; a draft is not there (404)."""

    permission_required = permissions.VIEW_GUIDANCE

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        page = get_object_or_404(selectors.guidance_pages_published(), slug=slug)
        return render(request, "content/guidance_page.html", {"page": page})


class NoticesView(PermissionRequiredMixin, View):
    """Every notice shown to the provider in use today, the dismissed ones too (to read them again)."""

    permission_required = permissions.READ_NOTICES

    def get(self, request: HttpRequest) -> HttpResponse:
        notices = list(selectors.notices_with_read_state(provider=self.provider, user=self.user))
        return render(request, "content/notices.html", {"notices": notices})


class NoticeDismissView(PermissionRequiredMixin, View):
    """POST only (a form with a "Dismiss" button: no JavaScript needed): mark the notice read by this user
    and go back where the button was. A notice not shown to the provider in use is a 404."""

    permission_required = permissions.READ_NOTICES
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notice = services.notice_dismiss(notice_id=pk, provider=self.provider, user=self.user)
        if notice is None:
            raise Http404("No such notice for this provider")
        messages.success(request, f"Notice dismissed: “{notice.title}”. You can read it again in Notices.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = reverse("home")
        return HttpResponseRedirect(back)
