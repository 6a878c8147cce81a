"""Electronic call monitoring: a CSV of visits exported from the provider's rostering system, turned into
delivered hours on the week's hours-based lines.

Each visit (client reference, date, start, end, carer) is matched to the provider's actual line for that
client in the week: the client's one hours-based line, or their home support line when they have several;
otherwise the visits are ambiguous. A line's delivered hours are the sum of its visits' durations rounded
to the service's step, half up. The date is the day the visit started: an end earlier than the start is
the next day (a visit over midnight), and a visit that starts on the week's Sunday belongs to the week
even when it ends in the next one. A visit that cannot be matched (not one of the provider's clients this
week, a start date outside the week, an end the same as its start, a time that is not one) is listed
with why, never dropped. Like claim forms, the file is distrusted (size, encoding, headings, rows), previewed, and applied
all-or-nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from actuals.calendar import week_end
from actuals.claim_forms import (
    ApplyResult,
    CheckResult,
    UploadRefused,
    _pending_upload,
    _store_upload,
    values_from_data,
)
from actuals.models import ActualLine, ActualsUpload, ProviderWeek
from actuals.services import ActualsError, LineValues, PlannedChange, lines_bulk_amend
from portal import clock
from portal.audit.services import audit_record
from portal.money import round_to_step
from portal.providers.models import Provider, ServiceType

if TYPE_CHECKING:
    from portal.accounts.models import User

MAX_VISITS_BYTES = 5 * 1024 * 1024
MAX_VISIT_ROWS = 100_000  # 2,000 clients with four visits a day is 56,000 a week
MAX_UNMATCHED_KEPT = 1_000
MAX_FIELD_LENGTH = 200
HOME_SUPPORT_CODES = frozenset({"HOMESUP", "HOME_SUPPORT"})
MINUTES_PER_HOUR = Decimal(60)

# The columns the file must have (stored under the key), and what rostering systems also call them.
HEADINGS: dict[str, tuple[str, ...]] = {
    "client_ref": ("client reference", "client ref", "client id", "client"),
    "date": ("date", "visit date"),
    "start": ("start", "start time", "actual start"),
    "end": ("end", "end time", "finish", "finish time", "actual end"),
    "carer": ("carer", "carer name", "care worker", "worker"),
}
TIME_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
DATE_PATTERNS = ("%Y-%m-%d", "%d/%m/%Y")

NOT_CSV = (
    "The file is not a CSV file of visits. Export the week's visits from your rostering system as CSV "
    "(UTF-8) and upload that."
)


def _heading(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").strip().casefold().split())


def _is_home_support(service: ServiceType) -> bool:
    return service.code in HOME_SUPPORT_CODES or service.name.casefold() == "home support"


def _parse_date(text: str) -> dt.date | None:
    for pattern in DATE_PATTERNS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _parse_time(text: str) -> dt.time | None:
    match = TIME_PATTERN.match(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return dt.time(hours, minutes, seconds)


def _minutes(start: dt.time, end: dt.time) -> Decimal:
    """How long a visit from `start` to `end` lasted; an end earlier than the start is the next day."""
    seconds = (end.hour - start.hour) * 3600 + (end.minute - start.minute) * 60 + end.second - start.second
    if seconds < 0:
        seconds += 24 * 3600
    return Decimal(seconds) / 60


def _short(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _hours_text(minutes: Decimal) -> str:
    hours = (minutes / MINUTES_PER_HOUR).quantize(Decimal("0.01"))
    text = f"{hours:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class _Line:
    """One of the week's lines as the match needs it (read as values, in one query)."""

    pk: int
    status: str
    revision: int
    values: LineValues
    planned: Decimal
    line_ref: str
    client_ref: str
    person: str
    service: ServiceType
    minutes: Decimal = Decimal(0)
    visits: int = 0

    @property
    def is_hours(self) -> bool:
        return self.service.unit == ServiceType.Unit.HOURS


@dataclass
class _Client:
    person: str
    lines: list[_Line] = field(default_factory=list)

    def line_for_visits(self) -> tuple[_Line | None, str]:
        """The line this client's visits go on, or why there is none."""
        hours = [line for line in self.lines if line.is_hours]
        if len(hours) == 1:
            return hours[0], ""
        if not hours:
            return None, f"{self.person} has no hours-based line with you this week"
        home_support = [line for line in hours if _is_home_support(line.service)]
        if len(home_support) == 1:
            return home_support[0], ""
        refs = ", ".join(sorted(line.line_ref for line in (home_support or hours)))
        return None, (
            f"{self.person} has {len(home_support or hours)} "
            f"{'home support' if home_support else 'hours-based'} lines this week ({refs}): record these "
            "visits on the right line yourself"
        )


def _week_clients(provider: Provider, week: ProviderWeek) -> dict[str, _Client]:
    types = {service.pk: service for service in ServiceType.objects.all()}
    clients: dict[str, _Client] = {}
    for row in (
        ActualLine.objects.for_provider(provider)
        .filter(week=week)
        .values_list(
            "pk",
            "status",
            "revision",
            "delivered",
            "frustrated",
            "missed",
            "extra",
            "adjustment_form_ref",
            "comment",
            "planned",
            "care_package_line__ref",
            "care_package_line__service_user__ref",
            "care_package_line__service_user__name",
            "care_package_line__service_type_id",
        )
        .iterator(chunk_size=2000)
    ):
        pk, status, revision, delivered, frustrated, missed, extra, ref, comment, planned = row[:10]
        line_ref, client_ref, person, type_id = row[10:]
        values = LineValues(delivered, frustrated, missed, extra, ref, comment)
        line = _Line(pk, status, revision, values, planned, line_ref, client_ref, person, types[type_id])
        clients.setdefault(client_ref.casefold(), _Client(person)).lines.append(line)
    return clients


def _decode(data: bytes) -> str:
    if len(data) > MAX_VISITS_BYTES:
        raise UploadRefused(
            f"The file is {len(data) / 1024 / 1024:.1f} MB: it must be smaller than "
            f"{MAX_VISITS_BYTES / 1024 / 1024:.0f} MB. Export one week's visits at a time."
        )
    if b"\x00" in data or data.startswith(b"PK\x03\x04"):
        raise UploadRefused(NOT_CSV)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadRefused(
            "The file is not UTF-8 text. Export the visits from your rostering system as “CSV UTF-8” and "
            "upload that."
        ) from error


class _VisitsReader:
    def __init__(self, *, provider: Provider, week: ProviderWeek) -> None:
        self.week = week
        self.clients = _week_clients(provider, week)
        self.unmatched: list[dict[str, Any]] = []
        self.unmatched_count = 0
        self.matched = 0
        self.rows = 0
        self.lines: dict[int, _Line] = {}
        self.seen: dict[tuple[str, ...], int] = {}

    def not_matched(self, row_number: int, visit: dict[str, str], reason: str) -> None:
        self.unmatched_count += 1
        if len(self.unmatched) < MAX_UNMATCHED_KEPT:
            self.unmatched.append({"row": row_number, **visit, "reason": reason})

    def read(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise UploadRefused("The file is empty: export the week's visits and upload that.")
            columns = self._columns(header)
            for row_number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                self.rows += 1
                if self.rows > MAX_VISIT_ROWS:
                    raise UploadRefused(
                        f"The file has more than {MAX_VISIT_ROWS:,} visits: upload one week's visits at a time."
                    )
                visit = {
                    name: (row[index].strip()[:MAX_FIELD_LENGTH] if index < len(row) else "")
                    for name, index in columns.items()
                }
                self._visit(row_number, visit)
        except csv.Error as error:
            raise UploadRefused(NOT_CSV) from error
        if not self.rows:
            raise UploadRefused("The file has no visits in it: export the week's visits and upload that.")

    def _columns(self, header: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for index, text in enumerate(header):
            heading = _heading(text)
            for name, aliases in HEADINGS.items():
                if heading in aliases and name not in found:
                    found[name] = index
        missing = [name for name in HEADINGS if name not in found]
        if missing:
            names = ", ".join(f"“{HEADINGS[name][0]}”" for name in missing)
            raise UploadRefused(
                f"The file's first row must name its columns: client reference, date, start, end and carer. "
                f"It has no {names} column."
            )
        return found

    def _visit(self, row_number: int, visit: dict[str, str]) -> None:
        client_ref = visit["client_ref"]
        if not client_ref:
            self.not_matched(row_number, visit, "The visit has no client reference")
            return
        day = _parse_date(visit["date"])
        if day is None:
            self.not_matched(
                row_number, visit, f"“{visit['date']}” is not a date: use 24/11/2026 or 2026-11-24"
            )
            return
        start, end = _parse_time(visit["start"]), _parse_time(visit["end"])
        for label, text, parsed in (("start", visit["start"], start), ("end", visit["end"], end)):
            if parsed is None:
                self.not_matched(row_number, visit, f"The {label} time “{text}” is not a time: use 09:30")
                return
        assert start is not None and end is not None
        if end == start:
            self.not_matched(row_number, visit, f"The visit starts and ends at {visit['start']}")
            return
        if not self.week.week_start <= day <= week_end(self.week.week_start):
            self.not_matched(
                row_number,
                visit,
                f"{_short(day)} is not in this week ({_short(self.week.week_start)} to "
                f"{_short(week_end(self.week.week_start))})",
            )
            return
        client = self.clients.get(client_ref.casefold())
        if client is None:
            # The same words whether the reference is unknown or another provider's client.
            self.not_matched(
                row_number, visit, f"{client_ref} is not one of your clients with a line this week"
            )
            return
        line, why = client.line_for_visits()
        if line is None:
            self.not_matched(row_number, visit, why)
            return
        key = (
            client_ref.casefold(),
            day.isoformat(),
            start.isoformat(),
            end.isoformat(),
            visit["carer"].casefold(),
        )
        if key in self.seen:
            self.not_matched(row_number, visit, f"The same visit is on row {self.seen[key]}")
            return
        self.seen[key] = row_number
        line.minutes += _minutes(start, end)
        line.visits += 1
        self.lines[line.pk] = line
        self.matched += 1

    def changes(self) -> list[dict[str, Any]]:
        """Each matched line, with its delivered hours from the visits (rounded to its step)."""
        found = []
        for line in sorted(self.lines.values(), key=lambda each: (each.person, each.line_ref)):
            computed = round_to_step(line.minutes / MINUTES_PER_HOUR, line.service.step)
            is_draft = line.status == ActualLine.Status.DRAFT
            new = dataclasses.replace(line.values, delivered=computed)
            found.append(
                {
                    "line": line.pk,
                    "revision": line.revision,
                    "person": line.person,
                    "client_ref": line.client_ref,
                    "line_ref": line.line_ref,
                    "service": line.service.name,
                    "visits": line.visits,
                    "hours": _hours_text(line.minutes),
                    "planned": str(line.planned),
                    "current": str(line.values.delivered),
                    "computed": str(computed),
                    "confirmed": not is_draft,
                    "change": is_draft and computed != line.values.delivered,
                    "values": new.as_data(),
                }
            )
        return found


def _worth_showing(change: dict[str, Any]) -> bool:
    """A line the preview should show: one that would change, or a confirmed one the visits disagree with."""
    return bool(change["change"] or (change["confirmed"] and change["computed"] != change["current"]))


def visits_check(
    *, provider: Provider, week: ProviderWeek, by: User, file_name: str, data: bytes
) -> CheckResult:
    """Match an uploaded CSV of visits to the week's lines, changing nothing: `UploadRefused` when the
    file as a whole will not do; otherwise each matched line's hours and every unmatched visit, kept for
    the preview. `problems` of the result counts unmatched visits (they do not stop applying)."""
    text = _decode(data)
    reader = _VisitsReader(provider=provider, week=week)
    reader.read(text)
    changes = reader.changes()
    if not reader.unmatched_count and not any(_worth_showing(change) for change in changes):
        return CheckResult(upload=None, rows=reader.rows, lines_changed=0, problems=0)
    upload = _store_upload(
        provider=provider,
        week=week,
        by=by,
        kind=ActualsUpload.Kind.VISITS,
        file_name=file_name,
        rows=reader.rows,
        changes=changes,
        problems=reader.unmatched,
        problem_count=reader.unmatched_count,
    )
    return CheckResult(
        upload=upload,
        rows=reader.rows,
        lines_changed=sum(1 for change in changes if change["change"]),
        problems=reader.unmatched_count,
    )


def visits_apply(*, provider: Provider, upload_id: uuid.UUID, by: User) -> ApplyResult:
    """Set delivered on the matched draft lines from their visits: every line or none."""
    with transaction.atomic():
        upload = _pending_upload(provider=provider, upload_id=upload_id, kind=ActualsUpload.Kind.VISITS)
        to_change = [change for change in upload.changes if change["change"]]
        if not to_change:
            raise ActualsError("The visits change no line: there is nothing to apply.")
        planned = [
            PlannedChange(
                line_id=change["line"],
                revision=change["revision"],
                values=values_from_data(change["values"]),
            )
            for change in to_change
        ]
        lines = lines_bulk_amend(
            week=upload.week, by=by, changes=planned, via="call monitoring visits", upload_id=str(upload.pk)
        )
        upload.applied_at, upload.applied_by = clock.now(), by
        upload.save(update_fields=["applied_at", "applied_by"])
        audit_record(
            action="actuals.visits.applied",
            actor=by,
            obj=upload.week,
            provider=provider,
            data={
                "upload": str(upload.pk),
                "file": upload.file_name,
                "visits": upload.rows,
                "unmatched": upload.problem_count,
                "lines": len(lines),
            },
        )
    return ApplyResult(week=upload.week, lines=len(lines), fields=len(lines))
