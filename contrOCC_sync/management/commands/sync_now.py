"""`manage.py sync_now [STREAM ...]`: pull from the back office now, in this process (operations: after an
outage, or to check the link by hand). Without names, every stream in dependency order."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contrOCC_sync.inbound import PULL_ORDER, stream_pull
from contrOCC_sync.models import SyncRun


class Command(BaseCommand):
    help = "Pull every stream (or the ones named) from the back office now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "streams", nargs="*", choices=[str(name) for name in PULL_ORDER], metavar="STREAM"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for name in options["streams"] or PULL_ORDER:
            run = stream_pull(name=str(name))
            self.stdout.write(
                f"{name}: {run.get_status_display()}, {run.applied} applied, {run.unchanged} unchanged, "
                f"{run.parked} parked, {run.skipped} skipped{': ' + run.error if run.error else ''}"
            )
            failed += run.status == SyncRun.Status.FAILED
        if failed:
            raise CommandError(
                f"{failed} stream(s) failed; the portal keeps its place and retries on schedule."
            )
