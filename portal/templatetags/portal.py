"""Template tags every template has (loaded as a builtin): GOV.UK widgets, navigation, money."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms, template
from django.forms import BoundField
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal import permissions
from portal.clock import LONDON
from portal.formatting import money, quantity
from portal.forms import GovukDateWidget
from portal.navigation import NavItem, navigation_for

register = template.Library()

_WIDGET_CLASSES = {
    "input": "govuk-input",
    "select": "govuk-select",
    "textarea": "govuk-textarea",
    "checkbox": "govuk-checkboxes__input",
    "file": "govuk-file-upload",
}


@register.filter
def widget_kind(field: BoundField) -> str:
    widget = field.field.widget
    if isinstance(widget, GovukDateWidget):
        return "date"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.FileInput):
        return "file"
    return "input"


@register.simple_tag
def govuk_widget(field: BoundField) -> SafeString:
    """The field's control with GOV.UK classes, its error state and aria-describedby for hint and error."""
    kind = widget_kind(field)
    css = [_WIDGET_CLASSES.get(kind, "govuk-input")]
    if field.errors and kind != "checkbox":
        css.append(f"{css[0]}--error")
    extra = field.field.widget.attrs.get("class")
    if extra:
        css.append(extra)
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}-hint")
    if field.errors:
        described_by.append(f"{field.auto_id}-error")
    if getattr(field.field.widget, "input_type", "") == "password":
        css.append("govuk-password-input__input govuk-js-password-input-input")
    attrs: dict[str, Any] = {"class": " ".join(css)}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


@register.simple_tag
def date_parts(field: BoundField) -> list[dict[str, Any]]:
    """The day, month and year boxes of a GOV.UK date input: label, id, name and what was typed."""
    widget = field.field.widget
    assert isinstance(widget, GovukDateWidget)
    values = field.value()
    if not isinstance(values, list | tuple):
        values = widget.decompress(values)
    parts = []
    for (suffix, label), value in zip(
        (("day", "Day"), ("month", "Month"), ("year", "Year")), values, strict=True
    ):
        parts.append(
            {
                "label": label,
                "id": f"{field.auto_id}_{suffix}",
                "name": f"{field.html_name}_{suffix}",
                "value": value or "",
            }
        )
    return parts


@register.simple_tag(takes_context=True)
def navigation_items(context: template.Context) -> list[NavItem]:
    request = context.get("request")
    return navigation_for(request) if request is not None else []


AUDIT_LABELS = {
    "accounts.user.invited": "Invited",
    "accounts.user.invitation_resent": "New invitation sent",
    "accounts.user.invitation_accepted": "Set their password",
    "accounts.user.code_enrolled": "Set up their security code",
    "accounts.user.backup_codes_generated": "Got new backup codes",
    "accounts.user.code_verified": "Gave their security code",
    "accounts.user.code_failed": "Gave a wrong security code",
    "accounts.user.email_code_sent": "Was emailed a security code",
    "accounts.user.code_reset": "Security code reset",
    "accounts.user.code_reset_requested": "Asked to reset their security code",
    "accounts.user.signed_in": "Signed in",
    "accounts.user.sign_in_failed": "Gave a wrong password",
    "accounts.user.sign_in_refused": "Was refused sign-in (locked)",
    "accounts.user.locked": "Locked",
    "accounts.user.unlocked": "Unlocked",
    "accounts.user.deactivated": "Deactivated",
    "accounts.user.inactivity_warned": "Warned: 10 days before the inactivity lock",
    "accounts.membership.removed": "Removed from a provider",
    "actuals.claim_form.applied": "Applied a claim form",
    "actuals.visits.applied": "Imported call monitoring visits",
}


@register.filter
def audit_label(action: str) -> str:
    """An audit action in words for the history tables; unknown actions show as recorded."""
    return AUDIT_LABELS.get(action, action)


LINE_STATUS_COLOURS = {"active": "green", "suspended": "yellow", "ended": "grey"}


@register.simple_tag
def line_status_tag(status: str, label: str) -> SafeString:
    """A care package line's status as a GOV.UK tag (rendered here, not by an include: it is on every row
    of long lists). The same markup as components/tag.html."""
    return format_html(
        '<strong class="govuk-tag govuk-tag--{}">{}</strong>', LINE_STATUS_COLOURS.get(status, "grey"), label
    )


@register.filter
def short_date(value: dt.date | None) -> str:
    """24 Nov 2026: the GOV.UK short date, without Django's general date formatter (it runs on every row
    of long lists)."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


register.filter("money", money)
register.filter("quantity", quantity)


@register.filter
def split(value: str) -> list[str]:
    """'a b c'|split: a list of words, for loops over a fixed set of names in a template."""
    return value.split()


@register.filter
def field_named(form: forms.Form, name: str) -> BoundField | None:
    """The form's bound field `name`, or None when the form has no such field."""
    return form[name] if name in form.fields else None


@register.simple_tag
def actual_status_tag(status: str, label: str) -> SafeString:
    """An actual line's status as a GOV.UK tag."""
    from actuals.rendering import status_tag

    return status_tag(status, label)


@register.filter
def add_days(value: dt.date, days: int) -> dt.date:
    return value + dt.timedelta(days=int(days))


@register.filter
def deadline_format(value: dt.datetime) -> str:
    """'5pm on Tuesday 1 December 2026', in London time, as GOV.UK writes times."""
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'} on {local:%A} {local.day} {local:%B %Y}"


@register.filter
def week_label(value: dt.date) -> str:
    from actuals.calendar import week_label as label

    return label(value)


@register.simple_tag(takes_context=True)
def actual_line_row(
    context: template.Context,
    line: Any,
    exceptions: Any,
    *,
    can_record: bool,
    week_url: str,
    focus: bool = False,
) -> SafeString:
    """One row of a week's actual lines (actuals/rendering.py says why it is built in Python). A draft's
    Change and Give a reason links need `can_record`; a confirmed line's Correct link needs
    CONFIRM_ACTUALS, as CorrectView does, asked of the page's `portal_perms`."""
    from actuals.rendering import actual_line_row as row

    can_correct = permissions.CONFIRM_ACTUALS in (context.get("portal_perms") or frozenset())
    return row(
        line, exceptions, can_record=can_record, can_correct=can_correct, week_url=week_url, focus=focus
    )
