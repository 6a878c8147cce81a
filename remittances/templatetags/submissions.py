"""Template tags of invoices and expense claims."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

STATUS_COLOURS = {
    "sent": "grey",
    "received": "blue",
    "accepted": "green",
    "rejected": "red",
    "paid": "purple",
}


@register.simple_tag
def submission_status_tag(status: str, label: str) -> SafeString:
    """An invoice's or an expense claim's status as a GOV.UK tag (the markup of components/tag.html,
    rendered here because it is on every row of a list)."""
    return format_html(
        '<strong class="govuk-tag govuk-tag--{}">{}</strong>', STATUS_COLOURS.get(status, "grey"), label
    )
