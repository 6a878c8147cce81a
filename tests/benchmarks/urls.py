"""The URL configuration the page benchmarks run under: every portal URL, plus the bare page that is
their floor. Only the benchmarks use it (`override_settings(ROOT_URLCONF=...)`); the portal never does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path

from portal import urls as portal_urls

BARE_PAGE_PATH = "/bench/bare-page/"
BARE_PAGE_HEADING = "Bare page"

# The portal's layout with nothing in it: what every page costs before it shows anything of its own.
_BARE_PAGE = engines["django"].from_string(
    '{% extends "layouts/base.html" %}{% block title %}' + BARE_PAGE_HEADING + "{% endblock %}"
    '{% block content %}<h1 class="govuk-heading-l">' + BARE_PAGE_HEADING + "</h1>{% endblock %}"
)


def bare_page(request: HttpRequest) -> HttpResponse:
    """The floor of every page benchmark: reached through the same middleware, with the same session."""
    return TemplateResponse(request, _BARE_PAGE)


handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500

urlpatterns = [
    path(BARE_PAGE_PATH.strip("/") + "/", bare_page, name="bench_bare_page"),
    *portal_urls.urlpatterns,
]
