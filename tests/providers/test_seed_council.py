"""`manage.py seed_council`: deterministic, realistic care data and the demo logins.

The demo scale is seeded once for the module (class-scoped, rolled back afterwards); the other tests use
a tiny scale registered for the test, so they stay fast. The large scale is only planned here (no
database): seeding it is timed by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from pytest_django import DjangoDbBlocker

from contrOCC_sync.simulator.backoffice import plan
from contrOCC_sync.simulator.backoffice.plan import apportion, council_plan
from portal.accounts.models import Membership, User
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.providers import seeding
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from portal.providers.seeding import SeedResult, seed_council

TODAY = dt.date(2026, 3, 2)
PASSWORD = "correct-horse-battery-demo"
TINY = plan.Scale("tiny", 6, 2, 3, service_users=120, lines=180, flagship_lines=40)


@pytest.fixture
def tiny_scale(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(seeding.SCALES, "tiny", TINY)
    return "tiny"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_council", *args, "--today", TODAY.isoformat(), stdout=out)
    return out.getvalue()


def digest() -> str:
    """A stable fingerprint of every seeded row that matters (not primary keys or timestamps)."""
    rows = [
        *Provider.objects.order_by("ref").values_list(
            "ref", "name", "kind", "email", "active", "portal_enabled", "portal_enabled_at"
        ),
        *ServiceUser.objects.order_by("ref").values_list("ref", "name", "date_of_birth", "deceased_on"),
        *CarePackageLine.objects.order_by("ref").values_list(
            "ref",
            "provider__ref",
            "service_user__ref",
            "service_type__code",
            "planned_per_week",
            "rate",
            "start_date",
            "end_date",
            "status",
        ),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


# Determinism, refusing and replacing (tiny scale) ------------------------------------------------


@pytest.mark.django_db
def test_the_same_seed_gives_identical_rows_and_another_seed_does_not(tiny_scale: str) -> None:
    seed("--scale", tiny_scale, "--seed", "42")
    first = digest()
    seed("--scale", tiny_scale, "--seed", "42", "--replace")
    assert digest() == first
    seed("--scale", tiny_scale, "--seed", "43", "--replace")
    assert digest() != first


@pytest.mark.django_db
def test_a_database_with_care_data_is_refused_without_replace(tiny_scale: str) -> None:
    seed("--scale", tiny_scale, "--seed", "1")
    before = digest()

    with pytest.raises(CommandError, match=r"already holds .*--replace"):
        seed("--scale", tiny_scale, "--seed", "2")

    assert digest() == before


@pytest.mark.django_db
def test_replace_deletes_the_care_data_and_demo_logins_before_seeding_again(tiny_scale: str) -> None:
    seed("--scale", tiny_scale, "--seed", "1")
    colleague = User.objects.create_user("colleague@example.org", PASSWORD, full_name="Not A Demo Login")
    Membership.objects.create(user=colleague, provider=Provider.objects.get(ref="PRV00003"))

    seed("--scale", tiny_scale, "--seed", "2", "--replace")

    assert Provider.objects.count() == TINY.providers
    assert ServiceUser.objects.count() == TINY.service_users
    assert CarePackageLine.objects.count() == TINY.lines
    assert ServiceType.objects.count() == len(seeding.SERVICE_TYPES)
    assert User.objects.filter(email__in=seeding.DEMO_EMAILS).count() == len(seeding.DEMO_EMAILS)
    # The other provider's membership went with its provider; the login itself is not the seeder's.
    assert not Membership.objects.filter(user=colleague).exists()
    assert User.objects.filter(email="colleague@example.org").exists()
    assert list(
        AuditEvent.objects.filter(action="providers.council.seeded").values_list("data__seed", flat=True)
    ) == [
        2,
        1,
    ]


@pytest.mark.django_db
def test_the_command_prints_the_counts_and_the_demo_logins(tiny_scale: str) -> None:
    out = seed("--scale", tiny_scale, "--seed", "1", "--password", "another-long-demo-password")

    assert f"care package lines: {TINY.lines}" in out
    for email in seeding.DEMO_EMAILS:
        assert email in out
    assert "Password for all of them: another-long-demo-password" in out
    assert User.objects.get(email="finance@demo.example.org").check_password("another-long-demo-password")


@pytest.mark.django_db
def test_if_empty_seeds_a_new_database_and_leaves_a_seeded_one_alone(tiny_scale: str) -> None:
    first = seed("--scale", tiny_scale, "--seed", "1", "--if-empty")
    assert f"care package lines: {TINY.lines}" in first
    digest = Provider.objects.order_by("ref").values_list("ref", "name")[::1]

    again = seed("--scale", tiny_scale, "--seed", "2", "--if-empty")
    assert "already seeded; nothing changed" in again
    assert Provider.objects.order_by("ref").values_list("ref", "name")[::1] == digest
    assert AuditEvent.objects.filter(action="providers.council.seeded").count() == 1
    for email in seeding.DEMO_EMAILS:
        assert email in again
    assert "Finance officer" in again and "Provider administrator" in again


@pytest.mark.django_db
def test_a_weak_password_is_refused_before_anything_is_written(tiny_scale: str) -> None:
    with pytest.raises(CommandError, match="too weak"):
        seed("--scale", tiny_scale, "--password", "short")
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_a_malformed_reference_date_is_refused(tiny_scale: str) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_council", "--scale", tiny_scale, "--today", "2/3/2026", stdout=StringIO())


# Planning alone (no database) ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["council", "large", "load"])
def test_the_bigger_scales_plan_their_exact_sizes(name: str) -> None:
    scale = seeding.SCALES[name]
    plan = council_plan(scale=scale, seed=1, today=TODAY)

    assert (len(plan.providers), len(plan.people), len(plan.lines)) == (
        scale.providers,
        scale.service_users,
        scale.lines,
    )
    lines_per_provider: dict[int, int] = {}
    for line in plan.lines:
        lines_per_provider[line.provider] = lines_per_provider.get(line.provider, 0) + 1
    # The demo logins' provider (PRV00001) is the biggest: 2,000+ lines at the large scale.
    assert lines_per_provider[0] == max(lines_per_provider.values()) == scale.flagship_lines
    if name == "large":
        assert lines_per_provider[0] >= 2_000


def test_apportion_splits_exactly_within_bounds() -> None:
    parts = apportion(total=1_000, weights=[1, 1, 50, 3, 7], low=3, high=400)

    assert sum(parts) == 1_000
    assert all(3 <= part <= 400 for part in parts)
    assert parts[2] == 400


# The demo scale, seeded once for the class ----------------------------------------------------


@pytest.fixture(scope="class")
def demo_council(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[SeedResult]:
    """The demo council, inside a transaction rolled back when the class is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed_council(scale="demo", seed=2026, today=TODAY, password=PASSWORD)
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_council")
class TestDemoScale:
    def test_it_meets_the_minimum_sizes_with_every_kind_of_provider(self, demo_council: SeedResult) -> None:
        assert Provider.objects.count() >= 50
        assert ServiceUser.objects.count() >= 2_000
        assert CarePackageLine.objects.count() >= 3_000
        assert set(Provider.objects.values_list("kind", flat=True)) == set(Provider.Kind.values)
        assert demo_council.providers == Provider.objects.count()
        assert demo_council.lines == CarePackageLine.objects.count()

    def test_every_service_type_is_used_and_realistic(self) -> None:
        types = {t.code: t for t in ServiceType.objects.all()}
        assert set(types) == {spec.code for spec in seeding.SERVICE_TYPES}
        used = set(CarePackageLine.objects.values_list("service_type__code", flat=True))
        assert used == set(types)

        home = types["HOMESUP"]
        assert (home.unit, home.step, home.allows_extras, home.paid_on, home.tolerance_percent) == (
            "hours",
            Decimal("0.25"),
            True,
            "actuals",
            Decimal(10),
        )
        living = types["SUPLIV"]
        assert (living.unit, living.paid_on, living.allows_extras) == ("hours", "plan", False)
        assert (types["DAYCARE"].unit, types["DAYCARE"].paid_on) == ("sessions", "plan")
        assert types["AGENCY"].paid_on == "invoice"
        assert (types["FOSTER"].unit, types["FOSTER"].paid_on) == ("weeks", "plan")

        for line in CarePackageLine.objects.filter(
            service_type__code__in=["HOMESUP", "DAYCARE"]
        ).select_related("service_type"):
            low, high = (Decimal("21"), Decimal("26")) if line.service_type.code == "HOMESUP" else (45, 70)
            assert low <= line.rate <= high, line.ref

    def test_lines_are_valid_and_their_statuses_mixed(self) -> None:
        statuses = {status: 0 for status in CarePackageLine.Status.values}
        for line in CarePackageLine.objects.select_related("service_type", "service_user", "provider"):
            statuses[line.status] += 1
            assert line.rate > 0
            assert line.planned_per_week > 0
            assert line.planned_per_week % line.service_type.step == 0, line.ref
            assert line.end_date is None or line.end_date >= line.start_date
            assert line.start_date <= TODAY
            assert line.start_date >= line.service_user.date_of_birth
            if line.status == CarePackageLine.Status.ENDED:
                assert line.end_date is not None and line.end_date < TODAY
            if line.service_user.deceased_on:
                assert line.start_date <= line.service_user.deceased_on
            # Adults' services for adults, placements for children in care.
            expected = {
                "adult": set(plan.ADULT_TYPE_CODES),
                "children": {"AGENCY"},
                "foster_carer": {"FOSTER"},
            }
            assert line.service_type.code in expected[line.provider.kind]
            age = (TODAY - line.service_user.date_of_birth).days / 365.25
            assert (age < 18) if line.provider.kind != "adult" else (age > 18), line.ref
        assert statuses["active"] > statuses["ended"] > 0
        assert statuses["suspended"] > 0
        assert CarePackageLine.objects.filter(status="active", end_date__gt=TODAY).exists()

        deceased = ServiceUser.objects.filter(deceased_on__isnull=False)
        assert 0 < deceased.count() < ServiceUser.objects.count() // 20
        assert all(p.deceased_on > p.date_of_birth for p in deceased)

    def test_foster_carers_look_after_one_to_three_children(self) -> None:
        for carer in Provider.objects.filter(kind="foster_carer"):
            assert 1 <= CarePackageLine.objects.for_provider(carer).count() <= 3

    def test_providers_have_references_example_emails_and_mostly_portal_access(self) -> None:
        providers = list(Provider.objects.order_by("ref"))
        assert [p.ref for p in providers] == [f"PRV{n:05d}" for n in range(1, len(providers) + 1)]
        assert all(p.email.endswith("@example.org") for p in providers)
        assert len({p.email for p in providers}) == len(providers)
        enabled = [p for p in providers if p.portal_enabled]
        assert 0.7 <= len(enabled) / len(providers) <= 0.9
        assert all(p.portal_enabled_at is not None for p in enabled)
        assert all(p.portal_enabled_at is None for p in providers if not p.portal_enabled)
        assert any(not p.active for p in providers)
        assert not any(p.portal_enabled and not p.active for p in providers)
        assert ServiceUser.objects.order_by("ref").values_list("ref", flat=True)[0] == "CL000001"
        assert CarePackageLine.objects.order_by("ref").values_list("ref", flat=True)[0] == "CPL0000001"

    def test_the_demo_logins_have_their_roles_and_providers(self, demo_council: SeedResult) -> None:
        users = {u.email: u for u in User.objects.filter(email__in=seeding.DEMO_EMAILS)}
        assert set(users) == set(seeding.DEMO_EMAILS)
        assert all(u.check_password(PASSWORD) and u.is_active and u.full_name for u in users.values())

        def memberships(email: str) -> list[tuple[str, str, str]]:
            return list(
                Membership.objects.usable()
                .filter(user=users[email])
                .order_by("provider__ref")
                .values_list("provider__ref", "provider__kind", "role")
            )

        flagship = Provider.objects.get(ref="PRV00001")
        assert flagship.kind == "adult" and flagship.portal_enabled
        assert CarePackageLine.objects.for_provider(flagship).count() >= 60
        assert memberships("provider.user@demo.example.org") == [("PRV00001", "adult", "provider_user")]
        assert memberships("provider.admin@demo.example.org") == [
            ("PRV00001", "adult", "provider_administrator")
        ]
        manager = memberships("manager@demo.example.org")
        assert len(manager) == 2 and manager[0] == ("PRV00001", "adult", "provider_user")
        assert manager[1][1:] == ("adult", "provider_user")
        assert [m[1:] for m in memberships("carer@demo.example.org")] == [("foster_carer", "provider_user")]
        assert [m[1:] for m in memberships("agency@demo.example.org")] == [("children", "provider_user")]

        finance, admin = users["finance@demo.example.org"], users["admin@demo.example.org"]
        assert finance.council_role == "finance_officer" and not finance.is_staff
        assert not finance.memberships.exists()
        assert admin.council_role == "portal_administrator" and admin.is_staff and admin.is_superuser
        assert [login.email for login in demo_council.logins] == list(seeding.DEMO_EMAILS)


@pytest.mark.django_db
def test_replace_explains_when_the_audit_trail_still_refers_to_a_seeded_provider(tiny_scale: str) -> None:
    seed("--scale", tiny_scale, "--seed", "1")
    provider = Provider.objects.get(ref="PRV00001")
    audit_record(action="providers.provider.portal_access_off", actor=None, obj=provider, provider=provider)
    before = digest()

    with pytest.raises(CommandError, match=r"other records still refer to it \(audit events\)"):
        seed("--scale", tiny_scale, "--seed", "2", "--replace")

    assert digest() == before  # nothing half-deleted
