"""An actual line as a row of the week's table, rendered in Python.

The week's page shows 50 of these; as a template they cost about 5 ms a page (some thirty variables and
filters a row), most of what the page adds to a bare one, so the row is built here. The markup is written
once: the week's page and the htmx answer after an inline save both use `{% actual_line_row %}`
(portal/templatetags/portal.py).

What must stay true: every value that comes from the database or a person goes through `_e` (the
standard library's `html.escape`, which Django's `escape` also calls, without its lazy-string wrapper:
`format_html` cost about a millisecond a page in wrappers alone); numbers, pks and amounts are written by
`money` and `quantity`, digits and punctuation only. A line comes with its row's text annotated
(`selectors.with_row_text`): the row reads no related object, so it costs no query.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as _e

from django.utils.html import format_html
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
STATUS_LABELS = dict(ActualLine.Status.choices)  # get_status_display() builds this dict at every call
NUMERIC = "govuk-table__cell govuk-table__cell--numeric council-numeric"


MUST_FIX = '<strong class="govuk-tag govuk-tag--red">Must fix</strong>'
REASON_GIVEN = '<strong class="govuk-tag govuk-tag--grey">Reason given</strong>'
NEEDS_REASON = '<strong class="govuk-tag govuk-tag--yellow">Needs a reason</strong>'
PLAN_CHANGED = (
    '<p class="govuk-body-s govuk-!-margin-bottom-1"><strong class="govuk-tag govuk-tag--purple">'
    "Plan changed</strong> The care package line changed after this line was generated.</p>"
)


def status_tag(status: str, label: str) -> SafeString:
    return format_html(
        '<strong class="govuk-tag govuk-tag--{}">{}</strong>', STATUS_COLOURS.get(status, "grey"), label
    )


def _row_text(line: ActualLine) -> tuple[str, str, str, str, bool]:
    """The person's name and reference, the service type's name, the care package line's reference and
    whether it changed since: the annotations of `selectors.with_row_text`, which every line given to
    `actual_line_row` comes with (its related objects are not read)."""
    return (
        line.row_person,  # type: ignore[attr-defined]
        line.row_person_ref,  # type: ignore[attr-defined]
        line.row_service,  # type: ignore[attr-defined]
        line.row_ref,  # type: ignore[attr-defined]
        line.row_plan_changed,  # type: ignore[attr-defined]
    )


def _exception(
    line: ActualLine, exception: LineException, *, can_record: bool, week_url: str, name: str
) -> str:
    if exception.is_blocking:
        tag = MUST_FIX
    elif exception.is_acknowledged:
        tag = REASON_GIVEN
    else:
        tag = NEEDS_REASON
    link = ""
    rule = _e(exception.rule)
    if not exception.is_blocking and not exception.is_acknowledged and line.is_draft and can_record:
        link = (
            f' <a class="govuk-link" href="{_e(week_url)}lines/{line.pk}/acknowledge/{rule}/">Give a reason'
            f'<span class="govuk-visually-hidden"> for {name}, {rule}</span></a>'
        )
    return (
        '<p class="govuk-body-s govuk-!-margin-bottom-1" data-testid="exception">'
        f"{tag} {_e(exception.message)}{link}</p>"
    )


def actual_line_row(
    line: ActualLine,
    exceptions: Sequence[LineException],
    *,
    can_record: bool,
    can_correct: bool,
    week_url: str,
    focus: bool = False,
) -> SafeString:
    person, person_ref, service, ref, plan_changed = _row_text(line)
    name, service_name, url = _e(person), _e(service), _e(week_url)
    notes: list[str] = []
    if not line.is_draft:
        colour, label = STATUS_COLOURS.get(line.status, "grey"), STATUS_LABELS.get(line.status, line.status)
        tag = f'<strong class="govuk-tag govuk-tag--{colour}">{_e(label)}</strong>'
        version = f' <span class="govuk-body-s">version {line.version}</span>' if line.version > 1 else ""
        notes.append(tag + version)
    if plan_changed:
        notes.append(PLAN_CHANGED)
    notes.extend(
        _exception(line, exception, can_record=can_record, week_url=week_url, name=name)
        for exception in exceptions
    )
    if line.status == ActualLine.Status.REJECTED:
        notes.append(f'<p class="govuk-body-s govuk-!-margin-bottom-1">{_e(line.backoffice_reason)}</p>')
    if line.comment:
        comment = _e(Truncator(line.comment).chars(120))
        notes.append(f'<p class="govuk-body-s govuk-!-margin-bottom-0 council-comment">“{comment}”</p>')
    action = ""
    if can_record and line.is_draft:
        link = f"{url}lines/{line.pk}/"
        action = (
            f'<a class="govuk-link" href="{link}" hx-get="{link}" hx-target="#line-{line.pk}" '
            f'hx-swap="outerHTML"{" autofocus" if focus else ""}>'
            f'Change<span class="govuk-visually-hidden"> {name}, {service_name}</span></a>'
        )
    elif can_correct and line.can_be_corrected:
        action = (
            f'<a class="govuk-link" href="{url}lines/{line.pk}/correct/">Correct'
            f'<span class="govuk-visually-hidden"> {name}, {service_name}</span></a>'
        )
    notes_html = "\n".join(notes)
    return SafeString(
        f'<tr class="govuk-table__row" id="line-{line.pk}" data-testid="actual-line">'
        f'<th scope="row" class="govuk-table__header">{name}<br>'
        '<span class="govuk-hint govuk-!-font-size-14 govuk-!-margin-bottom-0">'
        f"{_e(person_ref)} · {service_name} · {_e(ref)}</span></th>"
        f'<td class="{NUMERIC}">{quantity(line.planned)}</td>'
        f'<td class="{NUMERIC}" data-testid="delivered">{quantity(line.delivered)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.frustrated)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.missed)}</td>'
        f'<td class="{NUMERIC}">{quantity(line.extra)}</td>'
        f'<td class="{NUMERIC}" data-testid="amount">{_e(money(line.amount))}</td>'
        f'<td class="govuk-table__cell govuk-!-font-size-16">{notes_html}</td>'
        f'<td class="govuk-table__cell">{action}</td></tr>\n'
    )
