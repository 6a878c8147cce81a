"""The due status of a thread (red, amber, green) as a GOV.UK tag with words, never colour alone."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from disputes.models import Thread

register = template.Library()

RAG = {
    "red": ("red", "Overdue"),
    "amber": ("yellow", "Due soon"),
    "green": ("green", "On time"),
}


@register.simple_tag
def due_tag(thread: Thread, today: dt.date) -> SafeString:
    status = thread.rag(today)
    if not status:
        return format_html(
            '<strong class="govuk-tag govuk-tag--grey">{}</strong>', thread.get_state_display()
        )
    colour, words = RAG[status]
    return format_html(
        '<strong class="govuk-tag govuk-tag--{}" data-rag="{}">{}</strong>', colour, status, words
    )
