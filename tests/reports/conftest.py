"""A small council whose every report figure is computed by hand in the tests (tests/reports/test_*.py).

The clock stands on Wednesday 25 November 2026, noon (London). Four weeks: W1 (2 Nov, deadline 10 Nov),
W2 (9 Nov), W3 (16 Nov, deadline Tuesday 24 Nov 17:00: passed) and W4 (23 Nov, deadline 1 Dec: not due).
Charging periods count from 6 April 2026: period 8 is 19 Oct to 15 Nov (W1, W2), period 9 is 16 Nov to
13 Dec (W3, W4). Care starts on 2 November, so no earlier week is expected of anyone.

Providers (the suite's council fixture's A and B, and three more):
- A, Airedale Home Care Ltd: Alice Ashworth (home support, hours, paid on actuals, 10 h at £20.00) and
  Arthur Appleby (day care, sessions, paid on plan, 3 at £45.50).
  W1 confirmed on time: Alice 8 delivered, 1 frustrated, 1 missed (accepted, £180.00; reviewed, ACT-13
  approved); Arthur 2 delivered, 1 missed (paid, £136.50; ACT-13, a dispute adjusted).
  W2 confirmed late: Alice 9.5 (held for review, £190.00, ACT-13); Arthur 3 (sent, £136.50).
  W3 in progress: Alice 10 (draft, £200.00, ACT-04 blocking); Arthur 3 (draft, £136.50).
- B, Brookside Support Services: Bernard Booth (home support, 7 h at £22.50).
  W1 on time: 7 (accepted, £157.50). W2 on time: 6.25 (disputed, £140.63: 140.625 rounded half up;
  ACT-13, its dispute open). W3 late: 5 delivered, 2 frustrated (rejected, £157.50; ACT-13, no review).
- C, Calder Fostering: a placement paid on invoice only (never expected to confirm actuals).
- D, Dales Home Care: Dora Dent (home support, 5 h at £19.00): never generated a week.
- E, Esk Care: portal access off (not expected).

Threads (open unless said): T1 dispute on Bernard's W2 line (payments, raised 19 Nov, due 24 Nov: overdue);
T2 A's payment query (payments, raised 24 Nov 15:00, due 29 Nov: on time); T3 A's "service ended" query
(brokerage, raised 20 Oct, due 25 Oct: overdue); T4 B's portal access query (portal support, raised
15 Nov, due 27 Nov: due soon; its subject looks like a formula); T5 a dispute on Arthur's W1 line,
resolved adjusted.

Remittances: R1 A paid 16 Oct (£180.00 + £136.50 actuals), R2 B paid 13 Nov (£157.50 actuals), R3 A paid
20 Nov (£25.00 adjustment), R4 C paid 20 Nov (£600.00 invoice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine

from actuals import calendar
from actuals.models import ActualLine, LineException, ProviderWeek
from disputes.models import Team, Thread
from portal.clock import LONDON
from portal.providers.models import CarePackageLine, Provider, ServiceType
from remittances.models import Remittance, RemittanceLine
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ProviderFactory, ServiceTypeFactory, ServiceUserFactory

D = Decimal
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=LONDON)
W1, W2, W3, W4 = (dt.date(2026, 11, 2) + dt.timedelta(weeks=n) for n in range(4))
CARE_FROM = W1
Status = ActualLine.Status


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path) -> None:
    """Report files go under the test's own folder."""
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The report files whose task was queued (on commit), kept here instead of reaching a broker."""
    from reports.tasks import report_make_task

    ids: list[str] = []
    monkeypatch.setattr(report_make_task, "delay", ids.append)
    return ids


@pytest.fixture
def now() -> Iterator[dt.datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@dataclass
class SmallCouncil:
    council: Council
    a: Provider
    b: Provider
    c: Provider
    d: Provider
    e: Provider
    alice: CarePackageLine
    arthur: CarePackageLine
    bernard: CarePackageLine
    lines: dict[str, ActualLine]
    threads: dict[str, Thread]


def _week(provider: Provider, start: dt.date, *, confirmed: dt.datetime | None = None, late: bool = False):
    return ProviderWeek.objects.create(
        provider=provider,
        week_start=start,
        state=ProviderWeek.State.CONFIRMED if confirmed else ProviderWeek.State.IN_PROGRESS,
        deadline=calendar.week_deadline(start, ()),
        generated_at=at(start + dt.timedelta(days=7), 6),
        confirmed_at=confirmed,
        late=late,
    )


def _line(
    week: ProviderWeek,
    cpl: CarePackageLine,
    *,
    delivered: str,
    status: str,
    amount: str,
    frustrated: str = "0",
    missed: str = "0",
    reviewed: bool = False,
) -> ActualLine:
    return ActualLine.objects.create(
        provider=week.provider,
        week=week,
        care_package_line=cpl,
        care_package_line_version=1,
        status=status,
        planned=cpl.planned_per_week,
        delivered=D(delivered),
        frustrated=D(frustrated),
        missed=D(missed),
        comment="" if status == Status.DRAFT else "As delivered",
        rate=cpl.rate,
        amount=D(amount),
        confirmed_at=None if status == Status.DRAFT else week.confirmed_at,
        reviewed_at=at(week.week_start + dt.timedelta(days=10)) if reviewed else None,
    )


def _exception(line: ActualLine, rule: str, *, acknowledged: bool = True) -> None:
    blocking = rule == "ACT-04"
    LineException.objects.create(
        line=line,
        rule=rule,
        severity=LineException.Severity.BLOCKING if blocking else LineException.Severity.ACKNOWLEDGE,
        message=f"{rule} on the line",
        acknowledged_at=None if blocking or not acknowledged else line.week.generated_at,
        reason="" if blocking or not acknowledged else "As it happened",
    )


def _thread(
    provider: Provider, code: str, *, kind: str, raised: dt.datetime, due: dt.date, subject: str, by, **more
):
    resolved = more.pop("resolved", None)
    return Thread.objects.create(
        provider=provider,
        kind=kind,
        subject=subject,
        team=Team.objects.get_or_create(code=code, defaults={"name": Team.Code(code).label})[0],
        due_on=due,
        raised_by=by,
        raised_at=raised,
        raised_by_council=kind == Thread.Kind.DISPUTE,
        last_message_at=raised,
        state=Thread.State.RESOLVED if resolved else more.pop("state", Thread.State.AWAITING_COUNCIL),
        resolved_at=resolved,
        **more,
    )


def _remittance(ref: str, provider: Provider, paid_on: dt.date, lines: list[tuple[str, str]]) -> None:
    total = sum((D(amount) for _, amount in lines), D("0"))
    remittance = Remittance.objects.create(
        ref=ref, provider=provider, payment_run_ref=f"RUN-{paid_on}", paid_on=paid_on, total=total,
        received_at=at(paid_on, 18),
    )  # fmt: skip
    for i, (kind, amount) in enumerate(lines):
        RemittanceLine.objects.create(
            remittance=remittance, source_ref=f"{ref}-{i}", kind=kind, quantity=D("1"), rate=D(amount),
            amount=D(amount),
        )  # fmt: skip


@pytest.fixture
def small(council: Council, now: dt.datetime) -> SmallCouncil:
    home = ServiceTypeFactory()  # home support: hours, 0.25 step, paid on actuals
    day_care = ServiceTypeFactory(
        code="DAY_CARE", name="Day care", unit=ServiceType.Unit.SESSIONS, step=D("1"),
        paid_on=ServiceType.PaidOn.PLAN, tolerance_percent=D("0"),
    )  # fmt: skip
    agency = ServiceTypeFactory(
        code="AGENCY", name="Agency placement", unit=ServiceType.Unit.WEEKS, step=D("1"),
        allows_extras=False, paid_on=ServiceType.PaidOn.INVOICE, tolerance_percent=D("0"),
    )  # fmt: skip
    a, b = council.provider_a, council.provider_b
    CarePackageLine.objects.filter(pk=council.line_a.pk).update(
        service_type=home, planned_per_week=D("10"), rate=D("20.00"), start_date=CARE_FROM
    )
    CarePackageLine.objects.filter(pk=council.line_b.pk).update(
        service_type=home, planned_per_week=D("7"), rate=D("22.50"), start_date=CARE_FROM
    )
    alice = CarePackageLine.objects.get(pk=council.line_a.pk)
    bernard = CarePackageLine.objects.get(pk=council.line_b.pk)
    arthur = CarePackageLineFactory(
        provider=a, service_user__name="Arthur Appleby", service_type=day_care,
        planned_per_week=D("3"), rate=D("45.50"), start_date=CARE_FROM,
    )  # fmt: skip
    c = ProviderFactory(name="Calder Fostering", kind=Provider.Kind.CHILDREN)
    CarePackageLineFactory(
        provider=c, service_type=agency, planned_per_week=D("1"), rate=D("600.00"), start_date=CARE_FROM
    )
    d = ProviderFactory(name="Dales Home Care")
    CarePackageLineFactory(
        provider=d, service_user=ServiceUserFactory(name="Dora Dent"), service_type=home,
        planned_per_week=D("5"), rate=D("19.00"), start_date=CARE_FROM,
    )  # fmt: skip
    e = ProviderFactory(name="Esk Care", portal_enabled=False, portal_enabled_at=None)
    CarePackageLineFactory(provider=e, service_type=home, start_date=CARE_FROM)

    a1 = _week(a, W1, confirmed=at(dt.date(2026, 11, 9)))
    a2 = _week(a, W2, confirmed=at(dt.date(2026, 11, 18), 9), late=True)
    a3 = _week(a, W3)
    b1 = _week(b, W1, confirmed=at(dt.date(2026, 11, 10), 12))
    b2 = _week(b, W2, confirmed=at(dt.date(2026, 11, 16), 16))
    b3 = _week(b, W3, confirmed=at(dt.date(2026, 11, 25), 9), late=True)
    lines = {
        "alice_w1": _line(a1, alice, delivered="8", frustrated="1", missed="1", status=Status.ACCEPTED, amount="180.00", reviewed=True),
        "arthur_w1": _line(a1, arthur, delivered="2", missed="1", status=Status.PAID, amount="136.50", reviewed=True),
        "alice_w2": _line(a2, alice, delivered="9.5", status=Status.HELD, amount="190.00"),
        "arthur_w2": _line(a2, arthur, delivered="3", status=Status.SENT, amount="136.50"),
        "alice_w3": _line(a3, alice, delivered="10", status=Status.DRAFT, amount="200.00"),
        "arthur_w3": _line(a3, arthur, delivered="3", status=Status.DRAFT, amount="136.50"),
        "bernard_w1": _line(b1, bernard, delivered="7", status=Status.ACCEPTED, amount="157.50"),
        "bernard_w2": _line(b2, bernard, delivered="6.25", status=Status.DISPUTED, amount="140.63", reviewed=True),
        "bernard_w3": _line(b3, bernard, delivered="5", frustrated="2", status=Status.REJECTED, amount="157.50"),
    }  # fmt: skip
    for key in ("alice_w1", "arthur_w1", "alice_w2", "bernard_w2", "bernard_w3"):
        _exception(lines[key], "ACT-13")
    _exception(lines["alice_w3"], "ACT-04")

    finance, a_user, b_user = (
        council.users["finance"],
        council.users["provider_a"],
        council.users["provider_b"],
    )
    threads = {
        "t1": _thread(b, "payments", kind=Thread.Kind.DISPUTE, raised=at(dt.date(2026, 11, 19)),
                      due=dt.date(2026, 11, 24), subject="Bernard Booth, week of 9 Nov", by=finance,
                      state=Thread.State.AWAITING_PROVIDER),
        "t2": _thread(a, "payments", kind=Thread.Kind.QUERY, query_type=Thread.QueryType.PAYMENT_QUERY,
                      raised=at(dt.date(2026, 11, 24), 15), due=dt.date(2026, 11, 29), subject="Short paid",
                      by=a_user),
        "t3": _thread(a, "brokerage", kind=Thread.Kind.QUERY, query_type=Thread.QueryType.SERVICE_ENDED,
                      raised=at(dt.date(2026, 10, 20)), due=dt.date(2026, 10, 25), subject="Alice moved",
                      by=a_user),
        "t4": _thread(b, "portal_support", kind=Thread.Kind.QUERY, query_type=Thread.QueryType.PORTAL_ACCESS,
                      raised=at(dt.date(2026, 11, 15)), due=dt.date(2026, 11, 27),
                      subject='=HYPERLINK("http://example.invalid","Click")', by=b_user),
        "t5": _thread(a, "payments", kind=Thread.Kind.DISPUTE, raised=at(dt.date(2026, 11, 10)),
                      due=dt.date(2026, 11, 15), subject="Arthur Appleby, week of 2 Nov", by=finance,
                      resolved=at(dt.date(2026, 11, 12)), outcome=Thread.Outcome.ADJUSTED),
    }  # fmt: skip
    threads["t1"].lines.set([lines["bernard_w2"]])
    threads["t5"].lines.set([lines["arthur_w1"]])

    _remittance("R1", a, dt.date(2026, 10, 16), [("actual_line", "180.00"), ("actual_line", "136.50")])
    _remittance("R2", b, dt.date(2026, 11, 13), [("actual_line", "157.50")])
    _remittance("R3", a, dt.date(2026, 11, 20), [("adjustment", "25.00")])
    _remittance("R4", c, dt.date(2026, 11, 20), [("invoice", "600.00")])
    return SmallCouncil(council, a, b, c, d, e, alice, arthur, bernard, lines, threads)
