"""Actuals benchmarks (issue 6): generating a week for the whole `large` council against inserting the
same rows with one bulk statement, and the actuals page of the biggest provider against a bare page.

Generation is timed inside a transaction that is then rolled back, so every repetition starts from the
same empty week; the floor is timed the same way. Both time only their own work, not the rollback.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction
from django.urls import reverse

from actuals.models import ActualLine, ProviderWeek
from actuals.services import actuals_generate
from portal.providers.models import Provider
from tests.benchmarks.bench_pages import BARE_PAGE_FLOOR, PAGE_GOAL, PROVIDER_USER, _page_against_bare_page
from tests.benchmarks.harness import Goal, Samples, benchmark, time_runs_against_floor

WEEK = dt.date(2026, 11, 16)  # the week before the seeded council's "today" (2026-11-24): the page's
GENERATED_WEEK = dt.date(2026, 11, 9)  # generated and rolled back, so it stays empty for every run


class _Rollback(Exception):
    pass


def _timed_then_rolled_back(work) -> float:  # type: ignore[no-untyped-def]
    elapsed = 0.0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            work()
            elapsed = (time.perf_counter() - started) * 1000
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


def _vacuum() -> None:
    """What autovacuum does on a live database: clear the rows the rolled-back runs left behind and
    refresh the planner's statistics once a week's lines arrive."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE actuals_actualline, actuals_lineexception, actuals_providerweek")


def _generate_all() -> int:
    return sum(
        actuals_generate(provider=provider, week_start=GENERATED_WEEK, by=None).created
        for provider in Provider.objects.order_by("pk")
    )


@benchmark(
    name="generate a week, large council",
    unit="ms",
    what="actuals_generate for every provider of the large council: about 16,000 lines (its 20,000 care "
    "package lines less those ended before the week or paid on invoice), the lines to "
    "generate read per provider, pro-rated, priced, checked against every exception rule, inserted, audited",
    floor="inserting the same weeks and lines (values computed beforehand) with one bulk statement each",
    goals=[Goal(3, source="issue 6: “≤ 3× the time of inserting the same rows with one bulk statement”")],
    timeout_seconds=600,
)
def generate_week(repetitions: int) -> Samples:
    # The rows the floor inserts: what generation makes, read back once (then rolled back).
    captured: dict[str, list] = {}

    def capture() -> None:
        created = _generate_all()
        captured["weeks"] = list(ProviderWeek.objects.filter(week_start=GENERATED_WEEK).values())
        captured["lines"] = list(ActualLine.objects.filter(week__week_start=GENERATED_WEEK).values())
        captured["created"] = [created]

    _timed_then_rolled_back(capture)
    created = captured["created"][0]
    assert created >= 15_000, f"only {created} lines generated"

    def floor_work() -> None:
        weeks = ProviderWeek.objects.bulk_create(
            [ProviderWeek(**{k: v for k, v in row.items() if k != "id"}) for row in captured["weeks"]]
        )
        new_id = {row["id"]: week.pk for row, week in zip(captured["weeks"], weeks, strict=True)}
        ActualLine.objects.bulk_create(
            [
                ActualLine(
                    **{k: v for k, v in row.items() if k not in ("id", "week_id")},
                    week_id=new_id[row["week_id"]],
                )
                for row in captured["lines"]
            ]
        )

    samples = time_runs_against_floor(
        lambda: _timed_then_rolled_back(_generate_all),
        lambda: _timed_then_rolled_back(floor_work),
        repetitions=min(repetitions, 5),
        budget_seconds=240,
    )
    samples.notes.append(f"{created:,} lines in {len(captured['weeks'])} provider weeks")
    _vacuum()
    return samples


@benchmark(
    name="actuals page, biggest provider",
    unit="ms",
    what="GET /actuals/<week>/ as the biggest provider's user: the first page of 50 of its week's 2,400 "
    "lines with their exceptions, the week's counts and the filters",
    floor=BARE_PAGE_FLOOR,
    goals=[PAGE_GOAL],
)
def actuals_page(repetitions: int) -> Samples:
    provider = Provider.objects.get(ref="PRV00001")
    if not ProviderWeek.objects.filter(provider=provider, week_start=WEEK).exists():
        actuals_generate(provider=provider, week_start=WEEK, by=None)  # kept: later runs reuse it
    _vacuum()
    return _page_against_bare_page(
        email=PROVIDER_USER,
        url=reverse("actuals_week", kwargs={"week": WEEK}),
        repetitions=repetitions,
        row_marker=rb'data-testid="actual-line"',
    )
