"""`manage.py content_seed_guidance [--publish]`: load the starter guidance pages (general guidance, do's
and don'ts, who to contact and when, and a page for each service type) that do not exist yet. Unpublished
unless --publish: the portal team reads and edits them first."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.content.seeding import guidance_seed


class Command(BaseCommand):
    help = "Load the starter guidance pages that do not exist yet (unpublished unless --publish)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--publish", action="store_true", help="Publish the pages at once.")

    def handle(self, *args: Any, **options: Any) -> None:
        written = guidance_seed(by=None, publish=options["publish"])
        state = "published" if options["publish"] else "unpublished: publish them from Notices and guidance"
        self.stdout.write(f"{written} guidance pages written ({state}).")
