"""Council communication: notices of change shown on providers' home pages, and guidance pages.

Both are written in Markdown by portal administrators. The sanitised HTML is rendered once, when the
text is saved (`body_html`, written only by the services through `portal.content.markdown`), so a home
page that every provider opens never parses Markdown and no page shows HTML that was not sanitised.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.safestring import SafeString, mark_safe

from portal.providers.models import Provider, ServiceType


class Notice(models.Model):
    """A notice of change: shown on the home page of the providers it is for, from `shown_from` to
    `shown_until` (London dates, both included), until each user dismisses it or it is withdrawn."""

    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Markdown, as the portal administrator wrote it.")
    body_html = models.TextField(editable=False, help_text="The body rendered and sanitised when saved.")
    provider_kind = models.CharField(
        max_length=20, choices=Provider.Kind.choices, blank=True, help_text="Empty: every kind."
    )
    service_type = models.ForeignKey(
        ServiceType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only providers with a care package line of this type that has not ended. Empty: any.",
    )
    shown_from = models.DateField()
    shown_until = models.DateField(null=True, blank=True, help_text="The last day shown. Empty: no end.")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-shown_from", "-pk"]
        indexes = [models.Index(fields=["shown_from", "shown_until"], name="notice_shown")]
        constraints = [
            models.CheckConstraint(
                condition=Q(shown_until__isnull=True) | Q(shown_until__gte=F("shown_from")),
                name="notice_until_not_before_from",
            ),
            models.CheckConstraint(
                condition=Q(provider_kind__in=["", "adult", "children", "foster_carer"]),
                name="notice_provider_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def body_safe(self) -> SafeString:
        return mark_safe(self.body_html)  # noqa: S308 (sanitised by nh3 when saved: portal.content.markdown)

    def state(self, today: dt.date) -> str:
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.shown_from > today:
            return "scheduled"
        if self.shown_until is not None and self.shown_until < today:
            return "ended"
        return "showing"

    @property
    def audience_label(self) -> str:
        kind = {
            "": "All providers",
            Provider.Kind.ADULT: "Adult care providers",
            Provider.Kind.CHILDREN: "Children's agencies",
            Provider.Kind.FOSTER_CARER: "Foster carers",
        }[self.provider_kind]
        if self.service_type is None:
            return kind
        return f"{kind} with {self.service_type.name.lower()} care"


class NoticeRead(models.Model):
    """One user's dismissal of one notice: the notice no longer shows on that user's home page."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        # Its index serves both the home page's "not read by this user" and the read counts.
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read notice {self.notice_id}"


class GuidancePage(models.Model):
    """A guidance page: general, or for one service type (how to record it, do's and don'ts, who to
    contact and when). Providers see the published ones, in `order` then title."""

    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    body = models.TextField(help_text="Markdown, as the portal administrator wrote it.")
    body_html = models.TextField(editable=False, help_text="The body rendered and sanitised when saved.")
    service_type = models.ForeignKey(
        ServiceType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower first.")
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["order", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def body_safe(self) -> SafeString:
        return mark_safe(self.body_html)  # noqa: S308 (sanitised by nh3 when saved: portal.content.markdown)
