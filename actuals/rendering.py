"""An actual line as a row of the week's table, rendered in Python.

The week's page shows 50 of these; as a template they cost about 5 ms a page (some thirty variables and
filters a row), most of what the page adds to a bare one, so the row is built here with `format_html`
(every value escaped) like the lists' `line_status_tag`. The markup is written once: the week's page and
the htmx answer after an inline save both use `{% actual_line_row %}` (portal/templatetags/portal.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from actuals.models import ActualLine, LineException
from portal.formatting import money, quantity

STATUS_COLOURS = {
    "draft": "grey",
    "held": "yellow",
    "disputed": "orange",
    "sent": "blue",
    "accepted": "turquoise",
    "rejected": "red",
    "paid": "green",
}
NUMERIC = "govuk-table__cell govuk-table__cell--numeric council-numeric"


MUST_FIX = SafeString('<strong class="govuk-tag govuk-tag--red">Must fix</strong>')
REASON_GIVEN = SafeString('<strong class="govuk-tag govuk-tag--grey">Reason given</strong>')
NEEDS_REASON = SafeString('<strong class="govuk-tag govuk-tag--yellow">Needs a reason</strong>')
PLAN_CHANGED = SafeString(
    '<p class="govuk-body-s govuk-!-margin-bottom-1"><strong class="govuk-tag govuk-tag--purple">'
    "Plan changed</strong> The care package line changed after this line was generated.</p>"
)
AUTOFOCUS = SafeString(" autofocus")


def status_tag(status: str, label: str) -> SafeString:
    return format_html(
        '<strong class="govuk-tag govuk-tag--{}">{}</strong>', STATUS_COLOURS.get(status, "grey"), label
    )


def _exception(
    line: ActualLine, exception: LineException, *, can_record: bool, week_url: str, name: str
) -> SafeString:
    if exception.is_blocking:
        tag = MUST_FIX
    elif exception.is_acknowledged:
        tag = REASON_GIVEN
    else:
        tag = NEEDS_REASON
    link = SafeString("")
    if not exception.is_blocking and not exception.is_acknowledged and line.is_draft and can_record:
        link = format_html(
            ' <a class="govuk-link" href="{}lines/{}/acknowledge/{}/">Give a reason'
            '<span class="govuk-visually-hidden"> for {}, {}</span></a>',
            week_url,
            line.pk,
            exception.rule,
            name,
            exception.rule,
        )
    return format_html(
        '<p class="govuk-body-s govuk-!-margin-bottom-1" data-testid="exception">{} {}{}</p>',
        tag,
        exception.message,
        link,
    )


def actual_line_row(
    line: ActualLine,
    exceptions: Sequence[LineException],
    *,
    can_record: bool,
    week_url: str,
    focus: bool = False,
) -> SafeString:
    cpl = line.care_package_line
    person, service = cpl.service_user, cpl.service_type
    notes: list[SafeString] = []
    if not line.is_draft:
        version = (
            format_html(' <span class="govuk-body-s">version {}</span>', line.version)
            if line.version > 1
            else ""
        )
        notes.append(format_html("{}{}", status_tag(line.status, line.get_status_display()), version))
    if line.care_package_line_changed:
        notes.append(PLAN_CHANGED)
    notes.extend(
        _exception(line, exception, can_record=can_record, week_url=week_url, name=person.name)
        for exception in exceptions
    )
    if line.status == ActualLine.Status.REJECTED:
        notes.append(
            format_html('<p class="govuk-body-s govuk-!-margin-bottom-1">{}</p>', line.backoffice_reason)
        )
    if line.comment:
        notes.append(
            format_html(
                '<p class="govuk-body-s govuk-!-margin-bottom-0 council-comment">“{}”</p>',
                Truncator(line.comment).chars(120),
            )
        )
    action = SafeString("")
    if can_record and line.is_draft:
        action = format_html(
            '<a class="govuk-link" href="{url}" hx-get="{url}" hx-target="#line-{pk}" hx-swap="outerHTML"{focus}>'
            'Change<span class="govuk-visually-hidden"> {person}, {service}</span></a>',
            url=f"{week_url}lines/{line.pk}/",
            pk=line.pk,
            focus=AUTOFOCUS if focus else "",
            person=person.name,
            service=service.name,
        )
    elif can_record and line.can_be_corrected:
        action = format_html(
            '<a class="govuk-link" href="{}lines/{}/correct/">Correct'
            '<span class="govuk-visually-hidden"> {}, {}</span></a>',
            week_url,
            line.pk,
            person.name,
            service.name,
        )
    # Quantities are digits and a point only (a Decimal written by `quantity`): nothing to escape.
    quantities = SafeString(
        f'<td class="{NUMERIC}">{quantity(line.planned)}</td>'
        f'<td class="{NUMERIC}" data-testid="delivered">{quantity(line.delivered)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.frustrated)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.missed)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.extra)}</td>'
    )
    return format_html(
        '<tr class="govuk-table__row" id="line-{pk}" data-testid="actual-line">'
        '<th scope="row" class="govuk-table__header">{person}<br>'
        '<span class="govuk-hint govuk-!-font-size-14 govuk-!-margin-bottom-0">{person_ref} · {service} · {ref}</span></th>'
        "{quantities}"
        '<td class="' + NUMERIC + '" data-testid="amount">{amount}</td>'
        '<td class="govuk-table__cell govuk-!-font-size-16">{notes}</td>'
        '<td class="govuk-table__cell">{action}</td></tr>\n',
        pk=line.pk,
        person=person.name,
        person_ref=person.ref,
        service=service.name,
        ref=cpl.ref,
        quantities=quantities,
        amount=money(line.amount),
        notes=format_html_join("\n", "{}", ((note,) for note in notes)),
        action=action,
    )
