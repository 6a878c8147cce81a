"""`manage.py seed_council`: a whole council's care data and the demo logins, from a scale and a seed.

STAND-IN until issue #5 (the back-office simulator); see `portal.providers.seeding`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import clock
from portal.providers.seeding import (
    DEFAULT_DEMO_PASSWORD,
    SCALES,
    DemoLogin,
    SeedError,
    SeedResult,
    council_seeded,
    existing_demo_logins,
    seed_council,
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        "Seed providers, service users, service types, care package lines and demo logins "
        "(a stand-in for the back office's sync). The same --seed and --today give identical data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", choices=list(SCALES), default="demo", help="How big a council (default: demo)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random generator (default: 1).")
        parser.add_argument(
            "--today", type=_date, default=None, help="Reference date, YYYY-MM-DD (default: today in London)."
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_DEMO_PASSWORD,
            help="Password of every demo login (default: %(default)s).",
        )
        parser.add_argument(
            "--replace", action="store_true", help="Delete the care data and demo logins already there first."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only a database with no providers yet; otherwise just list the demo logins.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["replace"] and council_seeded():
            self.stdout.write("The council is already seeded; nothing changed.")
            self._print_logins(existing_demo_logins())
            self.stdout.write("Their password is the one given when the council was seeded.")
            return
        try:
            result = seed_council(
                scale=options["scale"],
                seed=options["seed"],
                today=options["today"] or clock.today(),
                password=options["password"],
                replace=options["replace"],
            )
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        self._print_summary(result)

    def _print_summary(self, result: SeedResult) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"Seeded the {result.scale} council (seed {result.seed}, as of {result.today.isoformat()})."
            )
        )
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(result.providers_by_kind.items()))
        statuses = ", ".join(
            f"{count:,} {status}" for status, count in sorted(result.lines_by_status.items())
        )
        out.write(f"  providers:          {result.providers:,} ({kinds})")
        out.write(f"  service users:      {result.service_users:,}")
        out.write(f"  service types:      {result.service_types:,}")
        out.write(f"  care package lines: {result.lines:,} ({statuses})")
        out.write(f"  largest provider:   {result.largest_provider_lines:,} lines")
        out.write("")
        self._print_logins(result.logins)
        out.write(f"Password for all of them: {result.password}")

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        if not logins:
            self.stdout.write("There are no demo logins.")
            return
        self.stdout.write("Demo logins:")
        width = max(len(login.email) for login in logins)
        role_width = max(len(login.role) for login in logins)
        for login in logins:
            acting_for = "; ".join(login.providers) or "(council staff)"
            self.stdout.write(f"  {login.email:<{width}}  {login.role:<{role_width}}  {acting_for}")
