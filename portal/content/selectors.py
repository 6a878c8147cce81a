"""Reading notices and guidance. Notices are read for the provider in use (its kind and its care), guidance
by everyone who may read it; the council's lists only for staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from portal import cached, clock
from portal.content.models import GuidancePage, Notice, NoticeRead
from portal.providers.models import CarePackageLine, Provider

if TYPE_CHECKING:
    from portal.accounts.models import User


def _shown_today() -> Q:
    today = clock.today()
    return Q(withdrawn_at__isnull=True, shown_from__lte=today) & (
        Q(shown_until__isnull=True) | Q(shown_until__gte=today)
    )


def notices_for_provider(*, provider: Provider) -> QuerySet[Notice]:
    """The notices shown today to the provider's users: for every provider, or for its kind, or for
    providers with care of a service type it has a line of that has not ended."""
    its_types = (
        CarePackageLine.objects.for_provider(provider)
        .exclude(status=CarePackageLine.Status.ENDED)
        .values("service_type_id")
    )
    return (
        Notice.objects.filter(_shown_today())
        .filter(Q(provider_kind="") | Q(provider_kind=provider.kind))
        .filter(Q(service_type__isnull=True) | Q(service_type__in=its_types))
        .order_by("-shown_from", "-pk")
    )


# What the home page's banners depend on (portal.cached): every notice, and what this user dismissed.
NOTICES = "notices"


def notices_read_by(user: User) -> str:
    return f"notices:read:{user.pk}"


def notices_unread(*, provider: Provider, user: User) -> list[Notice]:
    """The home page's banners: the provider's notices this user has not dismissed (one query, then
    cached until a notice changes or the user dismisses one; a notice for a service type shows up to
    portal.cached's timeout after the provider's first line of that type arrives)."""
    read = NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)
    return cached.figure(
        f"notices-unread:{clock.today()}:{provider.pk}:{user.pk}",
        depends_on=[NOTICES, notices_read_by(user)],
        compute=lambda: list(notices_for_provider(provider=provider).exclude(Exists(read))),
    )


def notices_with_read_state(*, provider: Provider, user: User) -> QuerySet[Notice]:
    """The provider's notices, each with `read` (whether this user dismissed it)."""
    read = NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)
    return notices_for_provider(provider=provider).annotate(read=Exists(read))


def notices_for_staff(*, user: User) -> QuerySet[Notice]:
    """Every notice with how many users have read it (`read_count`), newest first; nothing for
    non-staff."""
    if not user.is_council_staff:
        return Notice.objects.none()
    return (
        Notice.objects.select_related("service_type")
        .annotate(read_count=Count("reads"))
        .order_by("-shown_from", "-pk")  # a GROUP BY query drops Meta.ordering
    )


def notice_audience_users(*, notice: Notice) -> int:
    """How many active logins the notice is for: members of providers with portal access on whose kind
    and care match it."""
    from portal.accounts.models import Membership

    providers = Provider.objects.filter(portal_enabled=True)
    if notice.provider_kind:
        providers = providers.filter(kind=notice.provider_kind)
    if notice.service_type_id is not None:
        lines = CarePackageLine.objects.all_providers_for_sync().filter(
            service_type_id=notice.service_type_id
        )
        providers = providers.filter(
            pk__in=lines.exclude(status=CarePackageLine.Status.ENDED).values("provider_id")
        )
    return (
        Membership.objects.filter(provider__in=providers, user__is_active=True)
        .values("user_id")
        .distinct()
        .count()
    )


def guidance_pages_published() -> QuerySet[GuidancePage]:
    return GuidancePage.objects.filter(published=True).select_related("service_type")


def guidance_sections(pages: list[GuidancePage]) -> list[tuple[str, list[GuidancePage]]]:
    """The published pages grouped for the list: general guidance first, then each service type's, by
    the service type's name; within a group in the pages' own order."""
    general = [page for page in pages if page.service_type_id is None]
    by_type: dict[str, list[GuidancePage]] = {}
    for page in pages:
        if page.service_type is not None:
            by_type.setdefault(page.service_type.name, []).append(page)
    sections = [("Using the portal", general)] if general else []
    return sections + sorted(by_type.items())


def guidance_pages_for_staff(*, user: User) -> QuerySet[GuidancePage]:
    """Every guidance page, published or not; nothing for non-staff."""
    if not user.is_council_staff:
        return GuidancePage.objects.none()
    return GuidancePage.objects.select_related("service_type", "updated_by")
