"""A new remittance pulled from the back office emails the provider (its address and its users who read
remittances) with a link back; the same remittance pulled again emails nobody."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from contrOCC_sync.inbound import apply_remittance
from portal.accounts.models import Membership
from portal.mail.models import QueuedEmail
from tests.conftest import Council, email_body
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def row(council: Council, ref: str = "REM-90001") -> dict:
    return {
        "ref": ref,
        "provider_ref": council.provider_a.ref,
        "payment_run_ref": "RUN-2026-49",
        "paid_on": "2026-12-03",
        "total": "256.20",
        "lines": [
            {"source_ref": "AL-1", "kind": "actual_line", "portal_line_id": "17", "version": 1,
             "service_user_ref": council.line_a.service_user.ref, "description": "Home support, week of 23 Nov 2026",
             "period_start": "2026-11-23", "period_end": "2026-11-29", "quantity": "10.50", "rate": "23.40",
             "amount": "245.70"},
            {"source_ref": "ADJ-1", "kind": "adjustment", "portal_ref": "ADJ-0001", "description": "Adjustment",
             "quantity": "1", "rate": "10.50", "amount": "10.50"},
        ],
    }  # fmt: skip


def test_a_new_remittance_emails_the_provider_and_its_users_with_a_link(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    gone = MembershipFactory(provider=council.provider_a, user__email="a.gone@example.org").user
    gone.is_active = False
    gone.save()
    UserFactory(email="nobody@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        assert apply_remittance(row(council)) == "applied"

    messages = mailbox()
    assert len(messages) == 1
    message = messages[0]
    recipients = {address.strip() for address in message["To"].split(",")}
    expected = {
        council.provider_a.email,
        *Membership.objects.filter(provider=council.provider_a, user__is_active=True).values_list(
            "user__email", flat=True
        ),
    }
    assert recipients == expected
    assert "a.gone@example.org" not in recipients and council.users["provider_b"].email not in recipients
    assert (
        " ".join(message["Subject"].split()) == "Remittance advice REM-90001: £256.20 paid on 3 December 2026"
    )
    body = email_body(message)
    assert f"{settings.PORTAL_BASE_URL}{reverse('remittance', args=['REM-90001'])}" in body
    assert "Total paid: £256.20" in body and "Lines: 2" in body
    assert council.line_a.service_user.name not in body  # no personal details by email


def test_the_same_remittance_again_emails_nobody(
    council: Council, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        apply_remittance(row(council))
        assert apply_remittance(row(council)) == "unchanged"
    assert QueuedEmail.objects.count() == 1


def test_a_provider_not_using_the_portal_is_not_emailed(council: Council) -> None:
    council.provider_a.portal_enabled = False
    council.provider_a.save()
    apply_remittance(row(council))
    assert QueuedEmail.objects.count() == 0


def test_a_new_remittance_shows_at_once_in_the_home_pages_paid_panel(
    council: Council, provider_a_client
) -> None:
    """The panel is cached (portal.cached) until a remittance of the provider arrives."""
    with time_machine.travel("2026-12-03 12:00Z", tick=False):
        panel = provider_a_client.get(reverse("home")).context["paid_panel"]
        assert ("December 2026", "£0.00") in panel.rows
        apply_remittance(row(council))
        panel = provider_a_client.get(reverse("home")).context["paid_panel"]
        assert ("December 2026", "£256.20") in panel.rows
