"""`manage.py demo_setup`: the demo's portal side, once the simulated back office is up. Pulls everything
the back office publishes (as the beat schedule would), then switches portal access on, creates the
demo logins and writes the council's guidance pages and a notice. Prints the logins. Demo only."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contrOCC_sync.client import BackOfficeClient, BackOfficeError
from contrOCC_sync.inbound import pull_all
from contrOCC_sync.models import SyncRun
from portal.accounts.models import User
from portal.content.seeding import demo_content_seed
from portal.providers.seeding import DEFAULT_DEMO_PASSWORD, SCALES, SeedError, demo_council_setup


class Command(BaseCommand):
    help = "Pull the demo council from the back office and create the demo logins (demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--password", default=DEFAULT_DEMO_PASSWORD)
        parser.add_argument("--wait", type=int, default=120, help="Seconds to wait for the back office.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("demo_setup works only in the demo (PORTAL_ENV=demo).")
        client = BackOfficeClient()
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                if client.health():
                    break
            except BackOfficeError:
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"The back office at {settings.BACKOFFICE_URL} did not answer.")
            time.sleep(1)
        runs = pull_all(client=client)
        failed = [run for run in runs if run.status != SyncRun.Status.OK]
        if failed:
            raise CommandError(
                "Pulling from the back office failed: " + "; ".join(f"{r.stream}: {r.error}" for r in failed)
            )
        applied = sum(run.applied for run in runs)
        self.stdout.write(f"Pulled the council from the back office ({applied:,} changes applied).")
        try:
            logins = demo_council_setup(
                scale=options["scale"], seed=options["seed"], password=options["password"]
            )
        except SeedError as error:
            raise CommandError(str(error)) from error
        # The council's guidance (the Bradford seed's "Helpful content") and a notice, as the demo's
        # portal administrator would write them, on the first start.
        written = demo_content_seed(by=User.objects.get(email="admin@demo.example.org"))
        if written:
            self.stdout.write(f"Wrote {written} guidance pages.")
        width = max(len(login.email) for login in logins)
        self.stdout.write("Demo logins:")
        for login in logins:
            self.stdout.write(
                f"  {login.email:<{width}}  {login.role}  {'; '.join(login.providers) or '(council staff)'}"
            )
        self.stdout.write(f"Password for all of them: {options['password']}")
