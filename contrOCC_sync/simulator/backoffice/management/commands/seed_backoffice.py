"""`seed_backoffice`: the council's care data, seeded into the back office (deterministic)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .... import clock
from ...plan import SCALES, SeedError
from ...seeding import backoffice_seed, backoffice_seeded


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        "Seed service types, providers, service users (with assessed contributions) and care package lines "
        "into the back office, and publish them in its change feed. The same --seed and --today give "
        "identical data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", choices=list(SCALES), default="demo", help="How big a council (default: demo)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random generator (default: 1).")
        parser.add_argument(
            "--today", type=_date, default=None, help="Reference date (default: today in London)."
        )
        parser.add_argument("--replace", action="store_true", help="Empty the back office first.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the back office holds providers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["replace"] and backoffice_seeded():
            self.stdout.write("The back office is already seeded; nothing changed.")
            return
        try:
            summary = backoffice_seed(
                scale=options["scale"],
                seed=options["seed"],
                today=options["today"] or clock.today(),
                replace=options["replace"],
            )
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        statuses = ", ".join(
            f"{count:,} {status}" for status, count in sorted(summary.lines_by_status.items())
        )
        self.stdout.write(
            f"Seeded the back office ({summary.scale}, seed {summary.seed}, as of {summary.today}): "
            f"{summary.service_types} service types, {summary.providers:,} providers, "
            f"{summary.service_users:,} service users ({summary.paying_contributions:,} paying a contribution), "
            f"{summary.lines:,} care package lines ({statuses})."
        )
