"""Correcting a confirmed line through its page (actuals/views.py CorrectView): only with
CONFIRM_ACTUALS, which also decides whether the week's row and the line's page offer it; and a
correction sent from an old revision shows the other version and keeps what this user typed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from actuals.models import ActualLine
from actuals.services import actuals_generate, week_confirm
from portal import permissions
from tests.conftest import Council

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 16)
AFTER_THE_WEEK = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # Monday, before the deadline


@pytest.fixture(autouse=True)
def _monday_after_the_week() -> Iterator[None]:
    with time_machine.travel(AFTER_THE_WEEK, tick=False):
        yield


def week_url(name: str = "actuals_week", **kwargs: object) -> str:
    return reverse(name, kwargs={"week": WEEK, **kwargs})


@pytest.fixture
def confirmed(council: Council) -> ActualLine:
    """Provider A's week generated and confirmed as planned: its one line sent, and correctable."""
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    week_confirm(
        provider=council.provider_a, week_start=WEEK, by=council.users["provider_a_admin"], declaration=True
    )
    line = ActualLine.objects.get(provider=council.provider_a, week__week_start=WEEK)
    assert line.can_be_corrected
    return line


def correct_data(line: ActualLine, **values: str) -> dict[str, str]:
    data = {
        "delivered": str(line.delivered),
        "frustrated": "0",
        "missed": "0",
        "extra": "0",
        "adjustment_form_ref": "",
        "comment": "",
        "reason": "",
        "revision": str(line.revision),
    }
    return data | values


def provider_users_may(monkeypatch: pytest.MonkeyPatch, *granted: str) -> None:
    """Provider users (provider_a's role) get only `granted`; administrators keep every permission."""
    monkeypatch.setitem(permissions.PROVIDER_ROLE_PERMISSIONS, "provider_user", frozenset(granted))


def test_recording_without_confirming_cannot_correct(
    provider_a_client: Client, council: Council, confirmed: ActualLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider_users_may(
        monkeypatch,
        permissions.VIEW_OWN_ACTUALS,
        permissions.RECORD_ACTUALS,
        permissions.VIEW_OWN_CARE_PACKAGE_LINES,
    )
    week_page = provider_a_client.get(week_url()).content.decode()
    assert 'data-testid="actual-line"' in week_page and "Correct<span" not in week_page
    line_page = provider_a_client.get(week_url("actual_line", pk=confirmed.pk)).content.decode()
    assert "can no longer be changed" in line_page and "Correct it" not in line_page
    url = week_url("actual_line_correct", pk=confirmed.pk)
    assert provider_a_client.get(url).status_code == 403
    posted = provider_a_client.post(url, correct_data(confirmed, delivered="9", comment="x", reason="r"))
    assert posted.status_code == 403
    confirmed.refresh_from_db()
    assert confirmed.version == 1


def test_confirming_is_what_offers_the_correction(
    provider_a_client: Client,
    provider_a_admin_client: Client,
    council: Council,
    confirmed: ActualLine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider_users_may(monkeypatch, permissions.VIEW_OWN_ACTUALS, permissions.CONFIRM_ACTUALS)
    correct_url = week_url("actual_line_correct", pk=confirmed.pk)
    for client in (provider_a_client, provider_a_admin_client):
        week_page = client.get(week_url()).content.decode()
        assert f'href="{correct_url}"' in week_page and "Correct<span" in week_page
        assert client.get(correct_url).status_code == 200


def test_a_correction_from_an_old_revision_shows_theirs_and_keeps_yours(
    provider_a_client: Client, council: Council, confirmed: ActualLine
) -> None:
    url = week_url("actual_line_correct", pk=confirmed.pk)
    assert provider_a_client.get(url).status_code == 200
    # Meanwhile the line changes under another hand (its revision moves on), still correctable.
    admin = council.users["provider_a_admin"]
    ActualLine.objects.filter(pk=confirmed.pk).update(
        revision=confirmed.revision + 1, delivered=Decimal("8"), comment="Their note", amended_by=admin
    )

    mine = correct_data(confirmed, delivered="9.5", comment="My comment", reason="Entered the wrong total")
    response = provider_a_client.post(url, mine)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{admin.get_full_name()} changed this line while you were editing it" in page
    assert "<title>Error: " in page
    their_version = re.search(r'data-testid="their-version">(.*?)</div>', page, re.S)
    assert their_version is not None
    assert "delivered 8," in their_version[1] and "Their note" in their_version[1]
    assert 'value="9.5"' in page and "My comment" in page and "Entered the wrong total" in page
    assert f'name="revision" value="{confirmed.revision + 1}"' in page
    confirmed.refresh_from_db()
    assert (confirmed.version, confirmed.delivered) == (1, Decimal("8.00"))  # nothing saved

    again = provider_a_client.post(url, mine | {"revision": str(confirmed.revision)})
    assert again.status_code == 302
    confirmed.refresh_from_db()
    assert (confirmed.version, confirmed.delivered, confirmed.comment) == (2, Decimal("9.50"), "My comment")
