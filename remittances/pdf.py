"""PDFs with WeasyPrint: the remittance advice (and, through the same pieces, the annual statement).

A PDF's HTML is a Django template (templates/remittances/pdf/); its stylesheet and the council's logo are
static files. WeasyPrint fetches them through `StaticFilesFetcher`, which reads only the portal's own
static files and refuses every other URL (a file path, another host, `data:`, a path that climbs out of
the static folders), so nothing in a document can make the worker read a file or call out to the network.
Fonts are the system's (fontconfig: Liberation Sans, from Debian's fonts-liberation2), never fetched.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils._os import safe_join
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.providers.models import Provider
from remittances import advice
from remittances.models import Remittance

logger = logging.getLogger(__name__)

# The base URL documents are rendered against: `{% static %}` paths resolve under it. The host is in the
# reserved `.invalid` domain, so it could never be reached even if a fetcher tried.
STATIC_HOST = "static.portal.invalid"
BASE_URL = f"https://{STATIC_HOST}/"
MAX_STATIC_BYTES = 2 * 1024 * 1024

Progress = Callable[[int, str], None]


class ResourceRefused(ValueError):
    """A document asked for something other than one of the portal's static files."""


class StaticFilesFetcher(URLFetcher):
    """WeasyPrint's URL fetcher for the portal's documents: only `{% static %}` files, read from disk.

    `refused` keeps the URLs it turned down (WeasyPrint logs them and carries on without them)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("https",), allow_redirects=False, timeout=1)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        try:
            path = static_file_for(url)
        except ResourceRefused:
            self.refused.append(url)
            logger.warning("document resource refused: %s", url[:200])
            raise
        mime, _ = mimetypes.guess_type(path.name)
        data = path.read_bytes()
        return URLFetcherResponse(
            url, body=data, headers={"Content-Type": mime or "application/octet-stream"}
        )


def static_file_for(url: str) -> Path:
    """The file a document's static URL names, or ResourceRefused."""
    parts = urlsplit(url)
    static_url = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}"
    if parts.scheme != "https" or parts.netloc != STATIC_HOST or parts.query or parts.username:
        raise ResourceRefused(f"not one of the portal's static files: {url[:200]}")
    if not parts.path.startswith(static_url):
        raise ResourceRefused(f"not under {static_url}: {url[:200]}")
    name = unquote(parts.path[len(static_url) :])
    if not name or "\\" in name or "\x00" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise ResourceRefused(f"not a plain static path: {url[:200]}")
    try:
        found = finders.find(name)
        if not found and settings.STATIC_ROOT:  # production: collected (and hashed) files
            found = safe_join(str(settings.STATIC_ROOT), name)
    except SuspiciousFileOperation as error:
        raise ResourceRefused(str(error)) from error
    path = Path(found) if isinstance(found, str) else None
    if path is None or not path.is_file():
        raise ResourceRefused(f"no such static file: {name[:200]}")
    if path.stat().st_size > MAX_STATIC_BYTES:
        raise ResourceRefused(f"too big for a document: {name[:200]}")
    return path


def render_pdf(html: str, *, progress: Progress | None = None) -> tuple[bytes, int]:
    """The PDF of `html` and its number of pages. Laying out is most of the time; `progress` hears when it
    is done and when the file is written."""
    fetcher = StaticFilesFetcher()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render()
    pages = len(document.pages)
    if progress:
        progress(80, f"Laid out {pages} page{'s' if pages != 1 else ''}; writing the file")
    return document.write_pdf(), pages


# The remittance advice --------------------------------------------------------------------------


def remittance_pdf_context(*, remittance: Remittance, provider: Provider) -> dict[str, Any]:
    lines = list(advice.remittance_lines(remittance))
    return {
        "remittance": remittance,
        "provider": provider,
        "rows": advice.advice_rows(provider=provider, lines=lines, links=False),
        "totals": advice.advice_totals(remittance),
        "council_name": settings.COUNCIL_NAME,
        "service_name": settings.SERVICE_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }


def remittance_pdf(*, remittance: Remittance, progress: Progress | None = None) -> tuple[bytes, int]:
    """The remittance advice as a PDF (bytes, pages): the council's letterhead, the provider's details,
    the lines in a table whose header repeats on every page, the totals, page numbers."""
    provider = remittance.provider
    context = remittance_pdf_context(remittance=remittance, provider=provider)
    if progress:
        progress(20, f"Read {len(context['rows']):,} lines; laying out the pages")
    html = render_to_string("remittances/pdf/remittance.html", context)
    return render_pdf(html, progress=progress)


def remittance_pdf_name(remittance: Remittance) -> str:
    return f"remittance-{remittance.ref}.pdf"
