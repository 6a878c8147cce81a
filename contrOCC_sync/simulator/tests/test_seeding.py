"""seed_backoffice: the council seeded into the back office, deterministic, and the same plan as the
portal's stand-in seeder (until the two are unified)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contrOCC_sync.simulator.backoffice import plan
from contrOCC_sync.simulator.backoffice.models import (
    CarePackageLine,
    FeedEntry,
    Provider,
    ServiceType,
    ServiceUser,
)
from contrOCC_sync.simulator.backoffice.seeding import backoffice_seed

TODAY = dt.date(2026, 3, 2)
TINY = plan.Scale("tiny", 6, 2, 3, service_users=120, lines=180, flagship_lines=40)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(plan.SCALES, "tiny", TINY)
    return "tiny"


def snapshot() -> list[tuple]:
    return [
        *Provider.objects.order_by("ref").values_list("ref", "name", "kind", "email", "active"),
        *ServiceUser.objects.order_by("ref").values_list("ref", "name", "date_of_birth", "deceased_on", "weekly_contribution"),
        *CarePackageLine.objects.order_by("ref").values_list(
            "ref", "provider__ref", "service_user__ref", "service_type__code", "planned_per_week", "rate",
            "start_date", "end_date", "status",
        ),
    ]  # fmt: skip


def test_the_same_seed_and_date_give_the_same_council(db, tiny):
    summary = backoffice_seed(scale=tiny, seed=7, today=TODAY)
    assert (summary.providers, summary.service_users, summary.lines) == (11, 120, 180)
    first = snapshot()
    backoffice_seed(scale=tiny, seed=7, today=TODAY, replace=True)
    assert snapshot() == first
    backoffice_seed(scale=tiny, seed=8, today=TODAY, replace=True)
    assert snapshot() != first


def test_everything_seeded_is_published_in_the_feed(db, tiny):
    backoffice_seed(scale=tiny, seed=7, today=TODAY)
    counts = {stream: FeedEntry.objects.filter(stream=stream).count() for stream in FeedEntry.Stream}
    assert counts == {
        "service-types": ServiceType.objects.count(),
        "providers": 11,
        "service-users": 120,
        "care-package-lines": 180,
        "submission-events": 0,
        "remittances": 0,
    }


def test_contributions_are_mostly_up_to_sixty_pounds_some_nil_children_nil(db, tiny):
    backoffice_seed(scale=tiny, seed=7, today=TODAY)
    children = set(
        CarePackageLine.objects.filter(service_type__code__in=["FOSTER", "AGENCY"]).values_list(
            "service_user__ref", flat=True
        )
    )
    weekly = dict(ServiceUser.objects.values_list("ref", "weekly_contribution"))
    assert children and all(weekly[ref] == 0 for ref in children)
    adults = [amount for ref, amount in weekly.items() if ref not in children]
    nil = sum(1 for amount in adults if amount == 0)
    up_to_sixty = sum(1 for amount in adults if Decimal(0) < amount <= Decimal(60))
    assert 0.1 < nil / len(adults) < 0.35 and up_to_sixty / len(adults) > 0.6
    assert max(adults) <= Decimal(150)


def test_the_command_seeds_once_and_refuses_to_seed_twice(db):
    out = StringIO()
    call_command("seed_backoffice", "--scale", "demo", "--seed", "2026", "--today", "2026-03-02", stdout=out)
    assert "3,000 care package lines" in out.getvalue()
    assert CarePackageLine.objects.count() == 3000 and Provider.objects.count() == 60
    again = StringIO()
    call_command("seed_backoffice", "--scale", "demo", "--seed", "2026", "--if-empty", stdout=again)
    assert "already seeded" in again.getvalue()
    with pytest.raises(CommandError, match="--replace"):
        call_command("seed_backoffice", "--scale", "demo", "--seed", "2026", stdout=StringIO())
