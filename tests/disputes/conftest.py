"""The actuals suite's `week` fixture (WEEK, the clock on the Monday after it), for disputes about lines;
provider A's week confirmed with a line sent and a line held, and an invoice of provider A's, for the
council's own disputes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from actuals.models import ActualLine
from portal import clock
from remittances.models_invoices import Invoice
from tests.actuals.conftest import (
    acknowledge_all,
    actual_of,
    amend,
    confirm,
    generate,
    week,  # noqa: F401
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory


@pytest.fixture
def confirmed(council: Council, week: dt.date) -> dict[str, ActualLine]:  # noqa: F811
    """Provider A's week confirmed: Alice's line sent to the back office, Carol's held for review
    (frustrated above half the plan, with the provider's reason)."""
    user = council.users["provider_a"]
    carol = CarePackageLineFactory(provider=council.provider_a, service_user__name="Carol Cooper")
    generate(council.provider_a)
    held = amend(actual_of(carol), user, delivered="4.50", frustrated="6", comment="In hospital")
    acknowledge_all(held, user, reason="Admitted on Tuesday")
    confirm(council.provider_a, user)
    sent, held = actual_of(council.line_a), actual_of(carol)
    assert (sent.status, held.status) == (ActualLine.Status.SENT, ActualLine.Status.HELD)
    return {"sent": sent, "held": held}


@pytest.fixture
def invoice(council: Council, week: dt.date) -> Invoice:  # noqa: F811
    """Provider A (a children's agency)'s invoice A-17 of £1,000 for Alice's October, sent."""
    council.provider_a.kind = "children"
    council.provider_a.save()
    return Invoice.objects.create(
        portal_ref="INV-0000000000AA", provider=council.provider_a, service_user=council.line_a.service_user,
        care_package_line=council.line_a, period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31),
        provider_invoice_number="A-17", total=Decimal("1000.00"), submitted_by=council.users["provider_a"],
        submitted_at=clock.now(),
    )  # fmt: skip
