"""One way to page a list: GOV.UK pagination that keeps the list's filters and sort in its links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def paginate(
    request: HttpRequest,
    queryset: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int = 50,
    count: int | None = None,
) -> dict[str, Any]:
    """Context for a paged list: page_obj, page_numbers (with "…" gaps) and the query to keep. `count`,
    when the caller already knows how many rows there are, saves counting them again."""
    paginator = Paginator(queryset, per_page)
    if count is not None:
        paginator.count = count  # a cached_property: set, it is not computed
    page_obj = paginator.get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return {
        "page_obj": page_obj,
        "page_numbers": list(paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1)),
        "query": keep.urlencode(),
    }


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string less `names` (for sort links, which reset the page too)."""
    keep = request.GET.copy()
    for name in names:
        keep.pop(name, None)
    return keep.urlencode()
