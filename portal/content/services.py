"""Writing notices and guidance pages: every change in a transaction, the row locked, the Markdown
rendered and sanitised once (portal.content.markdown), and an audit event with what changed.

A form carries the `revision` it was opened at; a save from an older revision is refused (`StaleEdit`)
so that two administrators editing one page never silently overwrite each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from portal import cached, clock
from portal.audit.services import audit_record
from portal.content.markdown import markdown_render
from portal.content.models import GuidancePage, Notice, NoticeRead
from portal.content.selectors import NOTICES, notices_for_provider, notices_read_by

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.providers.models import Provider, ServiceType

# A notice's body sits in a banner under its "Important" title (h2): its headings start at h3. A guidance
# page's start at h2, under the page's title.
NOTICE_TOP_HEADING = 3
GUIDANCE_TOP_HEADING = 2


def notice_html(body: str) -> SafeString:
    """A notice's body as its banner shows it (the preview uses it too)."""
    return mark_safe(markdown_render(_clean_text(body), top_heading=NOTICE_TOP_HEADING))  # noqa: S308


def guidance_html(body: str) -> SafeString:
    """A guidance page's body as its page shows it (the preview uses it too)."""
    return mark_safe(markdown_render(_clean_text(body), top_heading=GUIDANCE_TOP_HEADING))  # noqa: S308


class ContentError(Exception):
    """A change the rules refuse; `field` names the form field the message belongs to (None: the form)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StaleEdit(ContentError):
    """Someone else saved the notice or page after this form was opened."""


@dataclass(frozen=True)
class NoticeFields:
    title: str
    body: str
    provider_kind: str
    service_type: ServiceType | None
    shown_from: dt.date
    shown_until: dt.date | None


@dataclass(frozen=True)
class GuidanceFields:
    title: str
    slug: str
    body: str
    service_type: ServiceType | None
    published: bool
    order: int


def _clean_text(value: str) -> str:
    return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip()


def _guard_text(*, title: str, body: str) -> None:
    if not title:
        raise ContentError("Enter a title", field="title")
    if not body:
        raise ContentError("Enter the text", field="body")


def _guard_dates(fields: NoticeFields, *, new: bool) -> None:
    if fields.shown_until is not None and fields.shown_until < fields.shown_from:
        raise ContentError(
            "The last day shown must be the same as or after the first day", field="shown_until"
        )
    if new and fields.shown_until is not None and fields.shown_until < clock.today():
        raise ContentError("The last day shown must be today or in the future", field="shown_until")


def _changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for each field `values` changes (a foreign key by its primary key)."""
    changed = {}
    for name, after in values.items():
        before = getattr(obj, name)
        if before != after:
            changed[name] = [_plain(before), _plain(after)]
    return changed


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _guard_revision(obj: Notice | GuidancePage, revision: int, what: str) -> None:
    if obj.revision != revision:
        by = obj.updated_by.email if obj.updated_by is not None else "someone else"
        raise StaleEdit(
            f"{by} changed this {what} while you were editing it. Your changes are still in the form: "
            "check the saved version below, then save again to replace it"
        )


# Notices ------------------------------------------------------------------------------------------


def _notice_values(fields: NoticeFields) -> dict[str, Any]:
    title, body = " ".join(fields.title.split()), _clean_text(fields.body)
    _guard_text(title=title, body=body)
    return {
        "title": title,
        "body": body,
        "provider_kind": fields.provider_kind,
        "service_type": fields.service_type,
        "shown_from": fields.shown_from,
        "shown_until": fields.shown_until,
    }


def notice_create(*, fields: NoticeFields, by: User) -> Notice:
    """Write a notice; it shows from its first day on the home pages of the providers it is for."""
    values = _notice_values(fields)
    _guard_dates(fields, new=True)
    now = clock.now()
    with transaction.atomic():
        notice = Notice.objects.create(
            **values,
            body_html=markdown_render(values["body"], top_heading=NOTICE_TOP_HEADING),
            created_at=now,
            created_by=by,
            updated_at=now,
            updated_by=by,
        )
        audit_record(
            action="content.notice.created",
            actor=by,
            obj=notice,
            data={key: _plain(value) for key, value in values.items()},
        )
        cached.changed(NOTICES)
    return notice


def notice_change(*, notice_id: int, fields: NoticeFields, revision: int, by: User) -> Notice:
    """Change a notice. Users who dismissed it do not see it again: a change that matters to them
    deserves a new notice."""
    values = _notice_values(fields)
    _guard_dates(fields, new=False)
    with transaction.atomic():
        notice = Notice.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=notice_id)
        _guard_revision(notice, revision, "notice")
        if notice.withdrawn_at is not None:
            raise ContentError("This notice has been withdrawn: it can no longer be changed")
        changed = _changes(notice, values)
        if not changed:
            return notice
        for name, value in values.items():
            setattr(notice, name, value)
        notice.body_html = markdown_render(notice.body, top_heading=NOTICE_TOP_HEADING)
        notice.revision += 1
        notice.updated_at, notice.updated_by = clock.now(), by
        notice.save()
        audit_record(action="content.notice.changed", actor=by, obj=notice, data={"changed": changed})
        cached.changed(NOTICES)
    return notice


def notice_withdraw(*, notice_id: int, by: User) -> Notice:
    """Stop showing a notice at once, to everyone. It stays in the council's list."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        if notice.withdrawn_at is not None:
            raise ContentError("This notice has already been withdrawn")
        notice.withdrawn_at = notice.updated_at = clock.now()
        notice.updated_by = by
        notice.revision += 1
        notice.save(update_fields=["withdrawn_at", "updated_at", "updated_by", "revision"])
        audit_record(action="content.notice.withdrawn", actor=by, obj=notice, data={"title": notice.title})
        cached.changed(NOTICES)
    return notice


def notice_dismiss(*, notice_id: int, provider: Provider, user: User) -> Notice | None:
    """Mark a notice read by this user, so it leaves the user's home page. Only a notice shown to the
    provider in use today can be dismissed (None otherwise: the view's 404). Dismissing twice is a no-op.

    Not audited: the read row itself records who and when, and it changes nothing anyone else sees.
    """
    notice = notices_for_provider(provider=provider).filter(pk=notice_id).first()
    if notice is None:
        return None
    NoticeRead.objects.get_or_create(notice=notice, user=user, defaults={"read_at": clock.now()})
    cached.changed(notices_read_by(user))
    return notice


# Guidance pages -----------------------------------------------------------------------------------


def _guidance_values(fields: GuidanceFields) -> dict[str, Any]:
    title, body = " ".join(fields.title.split()), _clean_text(fields.body)
    _guard_text(title=title, body=body)
    slug = slugify(fields.slug or title)[:80].strip("-")
    if not slug:
        raise ContentError("Enter a web address made of letters, numbers and hyphens", field="slug")
    return {
        "title": title,
        "slug": slug,
        "body": body,
        "service_type": fields.service_type,
        "published": fields.published,
        "order": fields.order,
    }


def _guard_slug_free(slug: str, *, page_id: int | None = None) -> None:
    others = GuidancePage.objects.filter(slug=slug)
    if page_id is not None:
        others = others.exclude(pk=page_id)
    if others.exists():
        raise ContentError(f"Another guidance page already has the web address “{slug}”", field="slug")


def guidance_page_create(*, fields: GuidanceFields, by: User | None) -> GuidancePage:
    values = _guidance_values(fields)
    now = clock.now()
    with transaction.atomic():
        _guard_slug_free(values["slug"])
        try:
            with transaction.atomic():
                page = GuidancePage.objects.create(
                    **values,
                    body_html=markdown_render(values["body"], top_heading=GUIDANCE_TOP_HEADING),
                    created_at=now,
                    created_by=by,
                    updated_at=now,
                    updated_by=by,
                )
        except IntegrityError as error:  # the same address taken a moment ago
            raise ContentError("Another guidance page already has that web address", field="slug") from error
        audit_record(
            action="content.guidance_page.created",
            actor=by,
            obj=page,
            data={key: _plain(value) for key, value in values.items()},
        )
    return page


def guidance_page_change(*, page_id: int, fields: GuidanceFields, revision: int, by: User) -> GuidancePage:
    values = _guidance_values(fields)
    with transaction.atomic():
        page = (
            GuidancePage.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=page_id)
        )
        _guard_revision(page, revision, "page")
        _guard_slug_free(values["slug"], page_id=page.pk)
        changed = _changes(page, values)
        if not changed:
            return page
        for name, value in values.items():
            setattr(page, name, value)
        page.body_html = markdown_render(page.body, top_heading=GUIDANCE_TOP_HEADING)
        page.revision += 1
        page.updated_at, page.updated_by = clock.now(), by
        try:
            with transaction.atomic():
                page.save()
        except IntegrityError as error:
            raise ContentError("Another guidance page already has that web address", field="slug") from error
        audit_record(action="content.guidance_page.changed", actor=by, obj=page, data={"changed": changed})
    return page


def content_rerender() -> int:
    """Render every notice's and page's stored HTML again from its Markdown (after the allow-list or the
    renderer changes: `manage.py content_rerender`). Returns how many rows changed. Not audited as an edit:
    nobody's text changes."""
    changed = 0
    with transaction.atomic():
        for notice in Notice.objects.select_for_update():
            html = markdown_render(notice.body, top_heading=NOTICE_TOP_HEADING)
            if html != notice.body_html:
                Notice.objects.filter(pk=notice.pk).update(body_html=html)
                changed += 1
        for page in GuidancePage.objects.select_for_update():
            html = markdown_render(page.body, top_heading=GUIDANCE_TOP_HEADING)
            if html != page.body_html:
                GuidancePage.objects.filter(pk=page.pk).update(body_html=html)
                changed += 1
        if changed:
            audit_record(action="content.rerendered", actor=None, data={"rows": changed})
            cached.changed(NOTICES)
    return changed
