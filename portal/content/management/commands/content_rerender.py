"""`manage.py content_rerender`: render every notice's and guidance page's stored HTML again from its
Markdown. Run it after changing the sanitiser's allow-list or upgrading markdown-it-py or nh3."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.content.services import content_rerender


class Command(BaseCommand):
    help = "Render the stored HTML of every notice and guidance page again from its Markdown."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = content_rerender()
        self.stdout.write(f"{changed} notices and guidance pages rendered again.")
