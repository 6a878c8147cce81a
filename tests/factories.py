"""factory-boy factories for the portal's models. Realistic defaults; override what a test is about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from portal.accounts.models import Membership, User
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser

TEST_PASSWORD = "a-long-test-password-42"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    ref = factory.Sequence(lambda n: f"PRV{n:05d}")
    name = factory.Sequence(lambda n: f"Airedale Home Care {n} Ltd")
    kind = Provider.Kind.ADULT
    email = factory.LazyAttribute(lambda o: f"{o.ref.lower()}@example.org")
    active = True
    portal_enabled = True
    portal_enabled_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))


class ServiceUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceUser

    ref = factory.Sequence(lambda n: f"CL{n:06d}")
    name = factory.Sequence(lambda n: f"Person {n} Example")
    date_of_birth = dt.date(1940, 3, 14)


class ServiceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceType
        django_get_or_create = ("code",)

    code = "HOME_SUPPORT"
    name = "Home support"
    unit = ServiceType.Unit.HOURS
    step = Decimal("0.25")
    allows_extras = True
    paid_on = ServiceType.PaidOn.ACTUALS
    tolerance_percent = Decimal("10")


class CarePackageLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarePackageLine

    ref = factory.Sequence(lambda n: f"CPL{n:07d}")
    provider = factory.SubFactory(ProviderFactory)
    service_user = factory.SubFactory(ServiceUserFactory)
    service_type = factory.SubFactory(ServiceTypeFactory)
    planned_per_week = Decimal("10.50")
    rate = Decimal("23.40")
    start_date = dt.date(2025, 4, 7)
    end_date = None
    status = CarePackageLine.Status.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"User {n} Example")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def saved(obj, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    provider = factory.SubFactory(ProviderFactory)
    role = Membership.Role.PROVIDER_USER
