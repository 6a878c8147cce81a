"""Guidance pages: what providers and council staff read (published only, grouped by service type), the
portal administrators' pages (preview, slugs, errors, stale edits, audit), the starter pages seeded from
the Bradford seed's "Helpful content", and rendering stored HTML again."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.content import selectors, services
from portal.content.models import GuidancePage
from portal.content.seeding import demo_content_seed, guidance_seed, service_type_body
from portal.content.services import ContentError, GuidanceFields, StaleEdit
from portal.providers.models import ServiceType
from tests.conftest import Council
from tests.factories import ServiceTypeFactory

pytestmark = pytest.mark.django_db


def fields(**overrides: object) -> GuidanceFields:
    values: dict[str, object] = {
        "title": "Do's and don'ts",
        "slug": "",
        "body": "## Do\n\n- submit by **Tuesday**",
        "service_type": None,
        "published": True,
        "order": 10,
    }
    values.update(overrides)
    return GuidanceFields(**values)  # type: ignore[arg-type]


def a_page(council: Council, **overrides: object) -> GuidancePage:
    return services.guidance_page_create(fields=fields(**overrides), by=council.users["portal_admin"])


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "title": "Who to contact and when",
        "slug": "",
        "body": "| What | Who |\n| --- | --- |\n| Payments | Payments team |",
        "service_type": "",
        "order": "20",
        "published": "on",
        "action": "save",
    }
    data.update(overrides)
    return data


# Reading -------------------------------------------------------------------------------------------


def test_providers_and_staff_read_published_pages_grouped_by_service_type(
    council: Council, provider_a_client: Client, finance_client: Client
) -> None:
    day_care = ServiceTypeFactory(code="DAYCARE", name="Day care")
    a_page(council, title="Contacts", order=20)
    a_page(council, title="About the portal", order=5)
    a_page(council, title="Recording day care", service_type=day_care)
    a_page(council, title="A draft", published=False)
    for client in (provider_a_client, finance_client):
        page = client.get(reverse("guidance")).content.decode()
        titles = re.findall(r'href="/guidance/[^"]+/">([^<]+)</a>', page)
        assert titles == ["About the portal", "Contacts", "Recording day care"]
        assert '<h2 class="govuk-heading-m">Day care</h2>' in page
        assert "A draft" not in page


def test_a_published_page_shows_its_sanitised_body(council: Council, provider_a_client: Client) -> None:
    page = a_page(council, body="## Do\n\n- submit by **Tuesday**\n\n<script>alert(1)</script>")
    html = provider_a_client.get(reverse("guidance_page", args=[page.slug])).content.decode()
    assert '<h2 class="govuk-heading-m">Do</h2>' in html
    assert '<ul class="govuk-list govuk-list--bullet">' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Edit this page" not in html


def test_a_draft_is_not_there_for_readers(council: Council, provider_a_client: Client) -> None:
    page = a_page(council, published=False)
    assert provider_a_client.get(reverse("guidance_page", args=[page.slug])).status_code == 404
    assert provider_a_client.get(reverse("guidance_page", args=["no-such-page"])).status_code == 404


def test_the_sections_put_general_guidance_first() -> None:
    types = {
        code: ServiceTypeFactory(code=code, name=name) for code, name in [("M", "Meals"), ("D", "Day care")]
    }
    pages = [
        GuidancePage(title="Meals", slug="m", service_type=types["M"]),
        GuidancePage(title="General", slug="g"),
        GuidancePage(title="Day care", slug="d", service_type=types["D"]),
    ]
    sections = selectors.guidance_sections(pages)
    assert [heading for heading, _ in sections] == ["Using the portal", "Day care", "Meals"]


# Writing -------------------------------------------------------------------------------------------


def test_an_administrator_writes_a_page_with_a_web_address_made_from_its_title(
    council: Council, portal_admin_client: Client
) -> None:
    response = portal_admin_client.post(reverse("council_guidance_add"), form_data())
    assert response.status_code == 302 and response["Location"] == reverse("council_guidance")
    page = GuidancePage.objects.get()
    assert (page.slug, page.published, page.order) == ("who-to-contact-and-when", True, 20)
    assert '<table class="govuk-table">' in page.body_html
    event = AuditEvent.objects.for_object(page).get()
    assert event.action == "content.guidance_page.created" and event.actor == council.users["portal_admin"]


def test_preview_renders_the_page_and_saves_nothing(portal_admin_client: Client) -> None:
    response = portal_admin_client.post(
        reverse("council_guidance_add"),
        form_data(action="preview", body="# Contacts\n\n[x](javascript:alert(1))"),
    )
    page = response.content.decode()
    assert response.status_code == 200 and not GuidancePage.objects.exists()
    assert '<h2 class="govuk-heading-m">Contacts</h2>' in page
    assert 'href="javascript' not in page


def test_errors_keep_what_was_typed(council: Council, portal_admin_client: Client) -> None:
    a_page(council, slug="contacts")
    response = portal_admin_client.post(
        reverse("council_guidance_add"), form_data(slug="contacts", order="ten", body="Typed **text**")
    )
    page = response.content.decode()
    assert response.status_code == 200 and GuidancePage.objects.count() == 1
    assert "<title>Error: " in page
    assert "The order must be a whole number" in page
    assert "Typed **text**" in page and 'value="ten"' in page

    response = portal_admin_client.post(reverse("council_guidance_add"), form_data(slug="contacts"))
    assert "Another guidance page already has the web address “contacts”" in response.content.decode()


def test_a_web_address_is_cleaned_to_letters_numbers_and_hyphens(council: Council) -> None:
    assert a_page(council, slug="Do's & Don'ts!").slug == "dos-donts"
    with pytest.raises(ContentError, match="web address"):
        a_page(council, title="!!!", slug="")


def test_changing_a_page_is_audited_and_a_stale_save_is_refused(
    council: Council, portal_admin_client: Client
) -> None:
    page = a_page(council)
    url = reverse("council_guidance_page", args=[page.pk])
    data = form_data(title="Do's and don'ts", slug=page.slug, body="Changed", order="10", revision="1")
    assert portal_admin_client.post(url, data).status_code == 302
    page.refresh_from_db()
    assert (page.body, page.revision) == ("Changed", 2)
    event = AuditEvent.objects.for_object(page).filter(action="content.guidance_page.changed").get()
    assert event.data["changed"] == {"body": ["## Do\n\n- submit by **Tuesday**", "Changed"]}

    response = portal_admin_client.post(url, {**data, "body": "Mine", "revision": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and "changed this page while you were editing it" in html
    assert "Mine" in html and 'data-testid="stale"' in html
    page.refresh_from_db()
    assert page.body == "Changed"
    with pytest.raises(StaleEdit):
        services.guidance_page_change(
            page_id=page.pk, fields=fields(), revision=1, by=council.users["portal_admin"]
        )


def test_unpublishing_takes_a_page_away_from_readers(council: Council, provider_a_client: Client) -> None:
    page = a_page(council)
    services.guidance_page_change(
        page_id=page.pk,
        fields=fields(slug=page.slug, published=False),
        revision=1,
        by=council.users["portal_admin"],
    )
    assert provider_a_client.get(reverse("guidance_page", args=[page.slug])).status_code == 404


def test_staff_see_drafts_in_their_list(council: Council, portal_admin_client: Client) -> None:
    a_page(council, title="A draft", published=False)
    page = portal_admin_client.get(reverse("council_guidance")).content.decode()
    assert "A draft" in page and "Draft" in page
    assert selectors.guidance_pages_for_staff(user=council.users["provider_a"]).count() == 0


# Starter pages and rendering again ------------------------------------------------------------------


def test_the_starter_guidance_has_the_helpful_content_and_a_page_for_each_service_type(
    council: Council, settings
) -> None:
    ServiceTypeFactory(code="SUPLIV", name="Supported living", paid_on="plan", allows_extras=False)
    written = guidance_seed(by=None, publish=True)
    slugs = set(GuidancePage.objects.values_list("slug", flat=True))
    assert {"dos-and-donts", "who-to-contact", "signing-in", "the-weekly-checklist"} <= slugs
    assert {"recording-home-support", "recording-supliv"} <= slugs
    assert written == GuidancePage.objects.count() == 5 + ServiceType.objects.count()
    contacts = GuidancePage.objects.get(slug="who-to-contact")
    assert f'href="mailto:{settings.PORTAL_SUPPORT_EMAIL}"' in contacts.body_html
    assert "Service line incorrect" in contacts.body_html
    dos = GuidancePage.objects.get(slug="dos-and-donts")
    assert "close of business (5pm) each Tuesday" in dos.body_html
    assert "Extras cannot be claimed" in GuidancePage.objects.get(slug="recording-supliv").body_html
    assert guidance_seed(by=None, publish=True) == 0  # pages that exist are left alone


def test_service_type_guidance_follows_the_service_types_rules() -> None:
    home = ServiceTypeFactory()
    invoice = ServiceTypeFactory(code="AGENCY", name="Agency placement", paid_on="invoice")
    assert "in steps of 0.25" in service_type_body(home) and "Missed care is never paid" in service_type_body(
        home
    )
    assert "paid on invoice" in service_type_body(invoice)


def test_the_demo_seeds_its_content_once(council: Council) -> None:
    admin = council.users["portal_admin"]
    assert demo_content_seed(by=admin) > 0
    page = GuidancePage.objects.get(slug="dos-and-donts")
    GuidancePage.objects.filter(pk=page.pk).update(slug="renamed")
    assert demo_content_seed(by=admin) == 0
    assert not GuidancePage.objects.filter(slug="dos-and-donts").exists()
    assert GuidancePage.objects.filter(published=True).count() == GuidancePage.objects.count()


def test_the_seed_command_loads_unpublished_pages(council: Council) -> None:
    call_command("content_seed_guidance")
    assert GuidancePage.objects.exists() and not GuidancePage.objects.filter(published=True).exists()


def test_rendering_again_rewrites_stored_html_from_the_markdown(council: Council) -> None:
    page = a_page(council)
    GuidancePage.objects.filter(pk=page.pk).update(body_html="<p>stale</p>")
    assert services.content_rerender() == 1
    page.refresh_from_db()
    assert page.body_html.startswith('<h2 class="govuk-heading-m">Do</h2>')
    assert services.content_rerender() == 0
