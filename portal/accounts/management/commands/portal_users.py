"""`manage.py portal_users import FILE.csv [--dry-run]`: go-live logins from a CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.importing import COLUMNS, users_import


class Command(BaseCommand):
    help = f"Invite logins from a CSV with the columns: {', '.join(COLUMNS)}."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importing = sub.add_parser("import", help="Invite every row; nothing is created if any row is wrong.")
        importing.add_argument("file", type=Path)
        importing.add_argument("--dry-run", action="store_true", help="Check every row; create nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as error:
            raise CommandError(f"There is no file {path}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not a UTF-8 CSV file.") from error
        report = users_import(text=text, by=None, dry_run=options["dry_run"])
        for row in report.rows:
            status = "; ".join(row.problems) if row.problems else row.outcome
            self.stdout.write(f"row {row.line}: {row.email or '-'}: {status}")
        if not report.ok:
            raise CommandError("Nothing was created: correct the rows above and run the import again.")
        if options["dry_run"]:
            self.stdout.write(
                self.style.SUCCESS(f"Dry run: all {len(report.rows)} rows are good; nothing was created.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Invited {len(report.rows)} logins; each has been emailed a link.")
            )
