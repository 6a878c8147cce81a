"""Notices of change: who sees them (kind, service type, dates, withdrawal), the banner on the home page
until the user dismisses it (a plain POST) or it ends, the read counts staff see, and the portal
administrators' pages: preview, GOV.UK errors that keep what was typed, stale edits, the audit trail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from portal import clock
from portal.audit.models import AuditEvent
from portal.content import selectors, services
from portal.content.models import Notice, NoticeRead
from portal.content.services import ContentError, NoticeFields, StaleEdit
from portal.providers.models import CarePackageLine, Provider
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ServiceTypeFactory

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # Monday 23 November 2026


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def fields(**overrides: object) -> NoticeFields:
    values: dict[str, object] = {
        "title": "Rates change in April",
        "body": "New rates apply from **6 April**.",
        "provider_kind": "",
        "service_type": None,
        "shown_from": clock.today(),
        "shown_until": None,
    }
    values.update(overrides)
    return NoticeFields(**values)  # type: ignore[arg-type]


def a_notice(council: Council, **overrides: object) -> Notice:
    return services.notice_create(fields=fields(**overrides), by=council.users["portal_admin"])


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "title": "Rates change in April",
        "body": "New rates apply from **6 April**.",
        "provider_kind": "all",
        "service_type": "",
        "shown_from_day": "23",
        "shown_from_month": "11",
        "shown_from_year": "2026",
        "shown_until_day": "",
        "shown_until_month": "",
        "shown_until_year": "",
        "action": "save",
    }
    data.update(overrides)
    return data


# Who sees a notice --------------------------------------------------------------------------------


def shown_to(provider: Provider) -> list[str]:
    return [notice.title for notice in selectors.notices_for_provider(provider=provider)]


def test_a_notice_for_every_provider_is_shown_to_each(council: Council) -> None:
    a_notice(council)
    assert shown_to(council.provider_a) == shown_to(council.provider_b) == ["Rates change in April"]


def test_a_notice_for_a_kind_of_provider_is_shown_only_to_that_kind(council: Council) -> None:
    a_notice(council, title="For foster carers", provider_kind=Provider.Kind.FOSTER_CARER)
    a_notice(council, title="For adult care", provider_kind=Provider.Kind.ADULT)
    Provider.objects.filter(pk=council.provider_b.pk).update(kind=Provider.Kind.FOSTER_CARER)
    council.provider_b.refresh_from_db()
    assert shown_to(council.provider_a) == ["For adult care"]
    assert shown_to(council.provider_b) == ["For foster carers"]


def test_a_notice_for_a_service_type_is_shown_to_providers_with_such_care_that_has_not_ended(
    council: Council,
) -> None:
    day_care = ServiceTypeFactory(code="DAYCARE", name="Day care")
    a_notice(council, title="Day care sessions", service_type=day_care)
    assert shown_to(council.provider_a) == shown_to(council.provider_b) == []

    line = CarePackageLineFactory(provider=council.provider_b, service_type=day_care)
    assert shown_to(council.provider_b) == ["Day care sessions"]
    assert shown_to(council.provider_a) == []
    CarePackageLine.objects.filter(pk=line.pk).update(status=CarePackageLine.Status.ENDED)
    assert shown_to(council.provider_b) == []


def test_a_notice_shows_from_its_first_day_to_its_last_and_not_once_withdrawn(council: Council) -> None:
    notice = a_notice(council, shown_from=dt.date(2026, 11, 24), shown_until=dt.date(2026, 11, 30))
    assert shown_to(council.provider_a) == []
    with time_machine.travel(dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC), tick=False):
        assert shown_to(council.provider_a) == [notice.title]
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), tick=False):
        assert shown_to(council.provider_a) == [notice.title]  # its last day, in London
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC), tick=False):
        assert shown_to(council.provider_a) == []
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), tick=False):
        assert shown_to(council.provider_a) == [notice.title]
        services.notice_withdraw(notice_id=notice.pk, by=council.users["portal_admin"])
        assert shown_to(council.provider_a) == []


# The home page and dismissing ---------------------------------------------------------------------


def banners(client: Client) -> list[str]:
    page = client.get(reverse("home")).content.decode()
    return re.findall(
        r'<p class="govuk-notification-banner__heading" id="notice-\d+-heading">([^<]*)</p>', page
    )


def test_the_home_page_shows_a_banner_for_each_unread_notice_with_a_dismiss_form(
    council: Council, provider_a_client: Client
) -> None:
    first = a_notice(council, title="First")
    a_notice(council, title="Second")
    page = provider_a_client.get(reverse("home")).content.decode()
    assert banners(provider_a_client) == ["Second", "First"]
    assert f'action="{reverse("notice_dismiss", args=[first.pk])}"' in page
    assert 'Dismiss<span class="govuk-visually-hidden"> notice: First</span>' in page
    assert "<strong>6 April</strong>" in page


def test_dismissing_takes_the_notice_off_this_users_home_page_only(
    council: Council, provider_a_client: Client, provider_a_admin_client: Client
) -> None:
    notice = a_notice(council)
    response = provider_a_client.post(reverse("notice_dismiss", args=[notice.pk]), {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert banners(provider_a_client) == []
    assert banners(provider_a_admin_client) == [notice.title]  # a colleague has not read it
    read = NoticeRead.objects.get()
    assert (read.notice, read.user) == (notice, council.users["provider_a"])


def test_the_home_pages_banners_follow_every_change_at_once(
    council: Council, provider_a_client: Client, provider_a_admin_client: Client
) -> None:
    """The banners are cached (portal.cached): a new, changed or withdrawn notice and a dismissal each show
    on the very next page, for everyone they concern."""
    assert banners(provider_a_client) == banners(provider_a_admin_client) == []  # cached: no notices
    notice = a_notice(council, title="First")
    assert banners(provider_a_client) == banners(provider_a_admin_client) == ["First"]
    services.notice_change(
        notice_id=notice.pk, fields=fields(title="First, corrected"), revision=notice.revision,
        by=council.users["portal_admin"],
    )  # fmt: skip
    assert banners(provider_a_client) == ["First, corrected"]
    provider_a_client.post(reverse("notice_dismiss", args=[notice.pk]))
    assert banners(provider_a_client) == []
    assert banners(provider_a_admin_client) == ["First, corrected"]
    services.notice_withdraw(notice_id=notice.pk, by=council.users["portal_admin"])
    assert banners(provider_a_admin_client) == []


def test_dismissing_twice_is_one_read_and_the_message_says_where_to_find_it(
    council: Council, provider_a_client: Client
) -> None:
    notice = a_notice(council)
    url = reverse("notice_dismiss", args=[notice.pk])
    provider_a_client.post(url)
    response = provider_a_client.post(url, follow=True)
    assert NoticeRead.objects.count() == 1
    assert "You can read it again in Notices" in response.content.decode()


def test_a_notice_not_shown_to_the_provider_in_use_cannot_be_dismissed(
    council: Council, provider_a_client: Client
) -> None:
    foster = a_notice(council, provider_kind=Provider.Kind.FOSTER_CARER)
    ended = (
        a_notice(council, shown_from=dt.date(2026, 11, 1), shown_until=dt.date(2026, 11, 1))
        if False
        else None
    )
    assert provider_a_client.post(reverse("notice_dismiss", args=[foster.pk])).status_code == 404
    assert provider_a_client.post(reverse("notice_dismiss", args=[999999])).status_code == 404
    assert ended is None
    assert not NoticeRead.objects.exists()


def test_dismissing_never_sends_the_user_to_another_site(council: Council, provider_a_client: Client) -> None:
    notice = a_notice(council)
    response = provider_a_client.post(
        reverse("notice_dismiss", args=[notice.pk]), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == reverse("home")


def test_dismiss_is_post_only(council: Council, provider_a_client: Client) -> None:
    notice = a_notice(council)
    assert provider_a_client.get(reverse("notice_dismiss", args=[notice.pk])).status_code == 405


def test_an_ended_notice_leaves_the_home_page(council: Council, provider_a_client: Client) -> None:
    a_notice(council, shown_until=dt.date(2026, 11, 24))
    assert len(banners(provider_a_client)) == 1
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC), tick=False):
        assert banners(provider_a_client) == []


def test_council_staff_have_no_banners(council: Council, finance_client: Client) -> None:
    a_notice(council)
    assert 'data-testid="notice"' not in finance_client.get(reverse("home")).content.decode()


def test_the_notices_page_keeps_the_dismissed_ones_to_read_again(
    council: Council, provider_a_client: Client
) -> None:
    read, unread = a_notice(council, title="Read one"), a_notice(council, title="Unread one")
    services.notice_dismiss(notice_id=read.pk, provider=council.provider_a, user=council.users["provider_a"])
    page = provider_a_client.get(reverse("notices")).content.decode()
    assert "Read one" in page and "You dismissed this notice" in page
    assert f'action="{reverse("notice_dismiss", args=[unread.pk])}"' in page
    assert f'action="{reverse("notice_dismiss", args=[read.pk])}"' not in page


def test_script_in_a_notice_is_inert_on_the_home_page(council: Council, provider_a_client: Client) -> None:
    a_notice(
        council,
        title="<script>alert('title')</script>",
        body="<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))",
    )
    page = provider_a_client.get(reverse("home")).content.decode()
    assert "alert(1)" in page  # shown, as text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'href="javascript' not in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in page


# What staff see -------------------------------------------------------------------------------------


def test_staff_see_how_many_have_read_each_notice(council: Council, portal_admin_client: Client) -> None:
    notice = a_notice(council)
    for actor in ("provider_a", "provider_a_admin"):
        services.notice_dismiss(notice_id=notice.pk, provider=council.provider_a, user=council.users[actor])
    page = portal_admin_client.get(reverse("council_notices")).content.decode()
    assert re.search(r'data-testid="read-count">2 users<', page)
    detail = portal_admin_client.get(reverse("council_notice", args=[notice.pk])).content.decode()
    # provider A's four logins (user, administrator, unverified, locked), B's one, and the manager
    assert re.search(r'data-testid="read-by">2 of the 6 logins it is for<', detail)


def test_the_audience_counts_only_providers_the_notice_is_for(council: Council) -> None:
    day_care = ServiceTypeFactory(code="DAYCARE", name="Day care")
    CarePackageLineFactory(provider=council.provider_b, service_type=day_care)
    notice = a_notice(council, service_type=day_care)
    assert selectors.notice_audience_users(notice=notice) == 2  # B's user and the manager
    Provider.objects.filter(pk=council.provider_b.pk).update(portal_enabled=False)
    assert selectors.notice_audience_users(notice=notice) == 0


def test_only_council_staff_list_notices(council: Council) -> None:
    a_notice(council)
    assert selectors.notices_for_staff(user=council.users["provider_a"]).count() == 0
    assert selectors.notices_for_staff(user=council.users["finance"]).count() == 1


# Writing and changing, through the pages --------------------------------------------------------------


def test_an_administrator_writes_a_notice_and_it_is_audited(
    council: Council, portal_admin_client: Client
) -> None:
    response = portal_admin_client.post(reverse("council_notice_add"), form_data(provider_kind="adult"))
    assert response.status_code == 302 and response["Location"] == reverse("council_notices")
    notice = Notice.objects.get()
    assert (notice.title, notice.provider_kind, notice.shown_from) == (
        "Rates change in April",
        "adult",
        dt.date(2026, 11, 23),
    )
    assert notice.body_html == '<p class="govuk-body">New rates apply from <strong>6 April</strong>.</p>'
    event = AuditEvent.objects.for_object(notice).get()
    assert event.action == "content.notice.created" and event.actor == council.users["portal_admin"]
    assert event.data["body"] == "New rates apply from **6 April**."


def test_preview_shows_the_banner_and_saves_nothing(portal_admin_client: Client) -> None:
    response = portal_admin_client.post(
        reverse("council_notice_add"), form_data(action="preview", body="# Heads up\n\n<script>x</script>")
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Notice.objects.exists()
    assert 'data-testid="preview"' in page
    assert '<h3 class="govuk-heading-s">Heads up</h3>' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "# Heads up" in page  # still in the form


def test_errors_are_shown_the_govuk_way_and_nothing_typed_is_lost(portal_admin_client: Client) -> None:
    response = portal_admin_client.post(
        reverse("council_notice_add"),
        form_data(
            title="",
            body="Something **typed**",
            shown_until_day="1",
            shown_until_month="11",
            shown_until_year="2026",
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Notice.objects.exists()
    assert "<title>Error: " in page
    assert "There is a problem" in page and 'href="#id_title">Enter a title' in page
    assert "Something **typed**" in page
    assert 'value="1"' in page and 'value="2026"' in page


def test_a_last_day_before_the_first_is_refused_on_its_field(portal_admin_client: Client) -> None:
    response = portal_admin_client.post(
        reverse("council_notice_add"),
        form_data(shown_from_day="30", shown_until_day="24", shown_until_month="11", shown_until_year="2026"),
    )
    assert "The last day shown must be the same as or after the first day" in response.content.decode()
    assert not Notice.objects.exists()


def test_a_new_notice_cannot_end_in_the_past(council: Council) -> None:
    with pytest.raises(ContentError, match="today or in the future"):
        a_notice(council, shown_from=dt.date(2026, 11, 1), shown_until=dt.date(2026, 11, 20))


def test_changing_a_notice_is_audited_with_what_changed(
    council: Council, portal_admin_client: Client
) -> None:
    notice = a_notice(council)
    response = portal_admin_client.post(
        reverse("council_notice", args=[notice.pk]),
        form_data(title="Rates change on 6 April", revision=str(notice.revision)),
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "Rates change on 6 April" and notice.revision == 2
    event = AuditEvent.objects.for_object(notice).filter(action="content.notice.changed").get()
    assert event.data == {"changed": {"title": ["Rates change in April", "Rates change on 6 April"]}}
    page = portal_admin_client.get(reverse("council_notice", args=[notice.pk])).content.decode()
    assert "Changed: title" in page


def test_a_save_from_an_older_revision_is_refused_and_keeps_what_was_typed(
    council: Council, portal_admin_client: Client
) -> None:
    notice = a_notice(council)
    services.notice_change(
        notice_id=notice.pk,
        fields=fields(body="Someone else's text"),
        revision=1,
        by=council.users["finance"],
    )
    response = portal_admin_client.post(
        reverse("council_notice", args=[notice.pk]), form_data(body="My own text", revision="1")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "finance@example.org changed this notice while you were editing it" in page
    assert "My own text" in page and "Someone else's text" in page
    assert 'name="revision" value="2"' in page  # saving again replaces it, knowingly
    notice.refresh_from_db()
    assert notice.body == "Someone else's text"


def test_the_service_refuses_a_stale_revision(council: Council) -> None:
    notice = a_notice(council)
    with pytest.raises(StaleEdit):
        services.notice_change(
            notice_id=notice.pk, fields=fields(title="New"), revision=5, by=council.users["portal_admin"]
        )


def test_withdrawing_a_notice_stops_it_at_once_and_is_audited(
    council: Council, portal_admin_client: Client, provider_a_client: Client
) -> None:
    notice = a_notice(council)
    assert portal_admin_client.get(reverse("council_notice_withdraw", args=[notice.pk])).status_code == 200
    response = portal_admin_client.post(reverse("council_notice_withdraw", args=[notice.pk]))
    assert response.status_code == 302
    assert banners(provider_a_client) == []
    assert AuditEvent.objects.for_object(notice).filter(action="content.notice.withdrawn").exists()
    # withdrawn: shown, not editable, not withdrawn twice
    page = portal_admin_client.get(reverse("council_notice", args=[notice.pk])).content.decode()
    assert "can no longer be changed" in page and "Save notice" not in page
    assert (
        portal_admin_client.post(reverse("council_notice", args=[notice.pk]), form_data()).status_code == 200
    )
    assert portal_admin_client.get(reverse("council_notice_withdraw", args=[notice.pk])).status_code == 404


def test_an_unchanged_save_writes_no_audit_event(council: Council) -> None:
    notice = a_notice(council)
    services.notice_change(notice_id=notice.pk, fields=fields(), revision=1, by=council.users["portal_admin"])
    assert AuditEvent.objects.for_object(notice).count() == 1
