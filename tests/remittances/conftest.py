"""Shared pieces of the invoice, expense claim and child tests: a children's agency and a foster carer, each
with a child placed with it and a login, another agency with a child of its own, the clock stopped on a
day in April 2026, and files stored in the test's own folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import pytest
import time_machine
from django.test import Client

from portal.accounts.models import User
from portal.clock import LONDON
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from tests.conftest import client_for
from tests.factories import (
    CarePackageLineFactory,
    MembershipFactory,
    ProviderFactory,
    ServiceTypeFactory,
    ServiceUserFactory,
    UserFactory,
)

D = Decimal
NOW = dt.datetime(2026, 4, 15, 10, 0, tzinfo=LONDON)  # a Wednesday; "today" is 15 April 2026
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64  # a Windows executable

AGENCY_TYPE: dict[str, Any] = {
    "code": "AGENCY",
    "name": "Agency placement",
    "unit": ServiceType.Unit.WEEKS,
    "step": D("1"),
    "allows_extras": False,
    "paid_on": ServiceType.PaidOn.INVOICE,
    "tolerance_percent": D("0"),
}
FOSTER_TYPE: dict[str, Any] = {
    "code": "FOSTER",
    "name": "Fostering placement",
    "unit": ServiceType.Unit.WEEKS,
    "step": D("1"),
    "allows_extras": False,
    "paid_on": ServiceType.PaidOn.PLAN,
    "tolerance_percent": D("0"),
}


@dataclass
class Children:
    agency: Provider
    agency_user: User
    child: ServiceUser
    placement: CarePackageLine  # the child's placement with the agency, paid on invoice
    other_agency: Provider
    other_user: User
    other_child: ServiceUser
    other_placement: CarePackageLine
    carer: Provider
    carer_user: User
    foster_child: ServiceUser
    foster_placement: CarePackageLine
    finance: User

    def client(self, who: str) -> Client:
        return client_for(getattr(self, who))


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def clock_stopped() -> Iterator[dt.datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def line(provider: Provider, child: ServiceUser, kind: dict[str, Any], **fields: Any) -> CarePackageLine:
    defaults = {
        "planned_per_week": D("1"),
        "rate": D("964.78"),
        "start_date": dt.date(2025, 11, 10),
        "end_date": None,
    }
    return cast(
        CarePackageLine,
        CarePackageLineFactory(
            provider=provider,
            service_user=child,
            service_type=ServiceTypeFactory(**kind),
            **{**defaults, **fields},
        ),
    )


@pytest.fixture
def kids(db, clock_stopped) -> Children:
    agency = ProviderFactory(name="Beechwood Fostering Ltd", kind=Provider.Kind.CHILDREN)
    other_agency = ProviderFactory(name="Compass Children's Services Ltd", kind=Provider.Kind.CHILDREN)
    carer = ProviderFactory(name="Mr & Mrs Edwards", kind=Provider.Kind.FOSTER_CARER)
    child = ServiceUserFactory(name="Amira Khan", date_of_birth=dt.date(2014, 6, 2))
    other_child = ServiceUserFactory(name="Tyrone Campbell", date_of_birth=dt.date(2012, 1, 9))
    foster_child = ServiceUserFactory(name="Poppy Walker", date_of_birth=dt.date(2018, 9, 30))
    return Children(
        agency=agency,
        agency_user=MembershipFactory(provider=agency, user__email="gemma@beechwood.example.org").user,
        child=child,
        placement=line(agency, child, AGENCY_TYPE),
        other_agency=other_agency,
        other_user=MembershipFactory(provider=other_agency, user__email="sam@compass.example.org").user,
        other_child=other_child,
        other_placement=line(other_agency, other_child, AGENCY_TYPE, rate=D("4200.00")),
        carer=carer,
        carer_user=MembershipFactory(provider=carer, user__email="edwards@example.org").user,
        foster_child=foster_child,
        foster_placement=line(carer, foster_child, FOSTER_TYPE, rate=D("430.96")),
        finance=UserFactory(
            email="childrens.finance@example.org", council_role=User.CouncilRole.FINANCE_OFFICER
        ),
    )
