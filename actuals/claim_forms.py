"""Excel payment claim forms: a week's lines as the workbook providers fill in offline, and that workbook
read back, checked row by row, previewed, and applied all-or-nothing.

An upload is hostile until shown otherwise. Its size, its container (a zip whose content types say
"workbook", not "macro workbook") and what it would unpack to (zip bombs) are checked before openpyxl
opens it; openpyxl reads it in read-only mode, its XML through defusedxml. A formula in any cell, a line
that is not one of this provider's lines for this week, a line twice or another week's form stops the
whole upload, and problems never say whether a line exists for someone else.

Cells are written and read by openpyxl's streaming modes (write-only, read-only), because a large
provider's week is thousands of rows: the export has to stay close to openpyxl writing the same values,
and the import to openpyxl reading them (`tests/benchmarks/bench_claim_forms.py`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.db import transaction
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from actuals.calendar import week_end
from actuals.models import ActualLine, ActualsUpload, ProviderWeek
from actuals.rules import records_absence_as_frustrated
from actuals.services import ActualsError, LineValues, PlannedChange, lines_bulk_amend
from portal import clock
from portal.audit.services import audit_record
from portal.clock import LONDON
from portal.money import ZERO
from portal.providers.models import Provider, ServiceType
from portal.spreadsheets import cell_text, needs_quote

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from portal.accounts.models import User

logger = logging.getLogger(__name__)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What an upload may be. A claim form of 5,000 lines is about 0.3 MB, and unpacks to about 5 MB.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # spreadsheet XML packs 5–20×; a zip bomb packs 1,000× and more
RATIO_CHECKED_FROM_BYTES = 1024 * 1024  # tiny parts compress oddly and harm nobody
MAX_ZIP_MEMBERS = 500
MAX_CONTENT_TYPES_BYTES = 256 * 1024
MAX_SHEET_ROWS = 20_000
MAX_HEADER_ROWS = 30
MAX_PROBLEMS_KEPT = 1_000
UPLOAD_LIFETIME = dt.timedelta(hours=2)

MAX_QUANTITY = Decimal("9999.99")
MAX_REFERENCE_LENGTH = 64
MAX_COMMENT_LENGTH = 2000
PENNY = Decimal("0.01")

CLAIM_SHEET = "Claim form"
INSTRUCTIONS_SHEET = "Instructions"
TITLE = "Payment claim form"
LABEL_COUNCIL = "Council"
LABEL_PROVIDER = "Provider"
LABEL_PROVIDER_REF = "Provider reference"
LABEL_WEEK = "Week commencing"
LABEL_WEEK_END = "Week ending"
LABEL_DEADLINE = "Deadline"
HEADING_ROW = 9
FIRST_DATA_ROW = HEADING_ROW + 1

SPREADSHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@dataclass(frozen=True)
class Column:
    heading: str
    width: float
    field: str = ""  # the LineValues field an editable column fills in


COLUMNS: tuple[Column, ...] = (
    Column("Portal line ID", 14),
    Column("Care package line", 17),
    Column("Client reference", 15),
    Column("Person", 28),
    Column("Service", 22),
    Column("Unit", 9),
    Column("Step", 7),
    Column("Planned", 9),
    Column("Rate (£)", 10),
    Column("Status", 16),
    Column("Delivered", 11, "delivered"),
    Column("Frustrated", 11, "frustrated"),
    Column("Missed", 9, "missed"),
    Column("Extra", 9, "extra"),
    Column("Adjustment form reference", 26, "adjustment_form_ref"),
    Column("Comment", 60, "comment"),
)
LINE_ID_HEADING = COLUMNS[0].heading
LINE_REF_HEADING = COLUMNS[1].heading
EDITABLE = tuple(column for column in COLUMNS if column.field)
QUANTITY_FIELDS = ("delivered", "frustrated", "missed", "extra")
TEXT_LIMITS = {"adjustment_form_ref": MAX_REFERENCE_LENGTH, "comment": MAX_COMMENT_LENGTH}
FIELD_HEADINGS = {column.field: column.heading for column in EDITABLE}
LETTERS = {column.heading: get_column_letter(index + 1) for index, column in enumerate(COLUMNS)}
OPTIONAL_ZERO = frozenset({"frustrated", "missed", "extra"})  # written blank when 0: "none"


class UploadRefused(ActualsError):
    """The file as a whole is not this week's claim form (or visits file): nothing in it was applied."""


class UploadNotFound(ActualsError):
    """No such upload for this provider (another provider's upload is not there either)."""


# Text in cells -----------------------------------------------------------------------------------


# The export --------------------------------------------------------------------------------------


def claim_form_filename(*, provider: Provider, week_start: dt.date) -> str:
    return f"claim-form-{provider.ref}-{week_start.isoformat()}.xlsx"


def _day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _deadline_text(deadline: dt.datetime) -> str:
    local = deadline.astimezone(LONDON)
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'} on {_day(local.date())}"


def _step_text(step: Decimal) -> str:
    text = f"{step.normalize():f}"
    return text


class _ClaimSheetWriter:
    """Writes the "Claim form" sheet row by row. Reference cells are written as plain values (locked, as
    every cell is by default under sheet protection); editable cells carry one unlocked style, and the
    editable columns carry it too, so their empty cells are editable without writing them."""

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        self.unlocked = Protection(locked=False)
        self.bold = Font(bold=True)
        # One reusable cell per editable column: openpyxl writes a styled cell as soon as it is appended.
        self.editable_cells = [self._cell(protection=self.unlocked) for _ in EDITABLE]

    def _cell(self, value: Any = None, **style: Any) -> Cell:
        cell = WriteOnlyCell(self.sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    def text(self, value: str, *, editable: bool = False) -> str | Cell:
        """A text cell that is only ever text: "=HYPERLINK(...)" stays the words, with Excel's quote
        prefix so that editing the cell does not turn it into a formula either."""
        text = cell_text(value)
        if not needs_quote(text):
            return text
        cell = self._cell(quotePrefix=True)
        if editable:
            cell.protection = self.unlocked
        cell.value = text
        cell.data_type = "s"
        return cell

    def set_up(self) -> None:
        """Column widths, the editable columns' style, frozen panes and protection: openpyxl's
        write-only sheet takes these only before its first row."""
        sheet = self.sheet
        for index, column in enumerate(COLUMNS, start=1):
            dimension = sheet.column_dimensions[get_column_letter(index)]
            dimension.width = column.width
            if column.field:
                dimension.protection = self.unlocked
        sheet.freeze_panes = f"E{FIRST_DATA_ROW}"
        sheet.row_dimensions[HEADING_ROW].height = 32
        sheet.print_title_rows = f"{HEADING_ROW}:{HEADING_ROW}"
        sheet.page_setup.orientation = "landscape"
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToHeight = 0
        protection = sheet.protection
        protection.sheet = True
        protection.formatColumns = False  # providers may widen columns and rows
        protection.formatRows = False

    def header(self, rows: Sequence[tuple[str, Any]]) -> None:
        self.sheet.append([self._cell(TITLE, font=Font(bold=True, size=14))])
        for label, value in rows:
            self.sheet.append([self._cell(label, font=self.bold), value])
        for _ in range(HEADING_ROW - len(rows) - 2):
            self.sheet.append([])
        wrap = Alignment(wrap_text=True, vertical="top")
        yours = PatternFill("solid", fgColor="FFF2CC")
        self.sheet.append(
            [
                self._cell(column.heading, font=self.bold, alignment=wrap, fill=yours)
                if column.field
                else self._cell(column.heading, font=self.bold, alignment=wrap)
                for column in COLUMNS
            ]
        )

    def line(self, reference: list[Any], values: Sequence[Any]) -> None:
        row = [self.text(value) if isinstance(value, str) else value for value in reference]
        for cell, column, value in zip(self.editable_cells, EDITABLE, values, strict=True):
            if isinstance(value, str):
                value = cell_text(value)
                if needs_quote(value):
                    row.append(self.text(value, editable=True))
                    continue
            if value == "" or (value == ZERO and column.field in OPTIONAL_ZERO):
                row.append(None)  # the column's unlocked style covers the empty cell
                continue
            cell.value = value
            row.append(cell)
        self.sheet.append(row)


@dataclass
class _Block:
    """Rows of one service type (the form is sorted by service): one data validation each."""

    service_type: ServiceType
    first: int
    last: int


def _validations(blocks: Iterable[_Block], first_row: int, last_row: int) -> list[DataValidation]:
    """Quantities are numbers of 0 or more, in the service's step. Excel's validation cannot say
    "a multiple of 0.25", so a decimal step is named in the input message (the ACT-01 rule checks it on
    upload); a whole step is a whole-number validation. Extras are refused where the service allows none."""
    quantity = [LETTERS[FIELD_HEADINGS[name]] for name in QUANTITY_FIELDS]
    found: list[DataValidation] = []
    for block in blocks:
        service = block.service_type
        unit = service.get_unit_display()
        step = _step_text(service.step)
        whole = service.step == 1
        columns = quantity if service.allows_extras else quantity[:-1]
        validation = DataValidation(
            type="whole" if whole else "decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showInputMessage=True,
            showErrorMessage=True,
            promptTitle=service.name[:32],
            prompt=f"{unit.capitalize()}, in steps of {step}. Leave blank for none.",
            errorTitle="Not a quantity",
            error=f"Enter the {unit} as a number, 0 or more, in steps of {step}.",
        )
        validation.add(f"{columns[0]}{block.first}:{columns[-1]}{block.last}")
        found.append(validation)
        if not service.allows_extras:
            no_extras = DataValidation(
                type="decimal",
                operator="equal",
                formula1="0",
                allow_blank=True,
                showInputMessage=True,
                showErrorMessage=True,
                promptTitle="No extras",
                prompt=f"{service.name} does not allow extras.",
                errorTitle="No extras",
                error=f"{service.name} does not allow extras: leave this blank.",
            )
            no_extras.add(f"{quantity[-1]}{block.first}:{quantity[-1]}{block.last}")
            found.append(no_extras)
    for name, limit in TEXT_LIMITS.items():
        letter = LETTERS[FIELD_HEADINGS[name]]
        text = DataValidation(
            type="textLength",
            operator="lessThanOrEqual",
            formula1=str(limit),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Too long",
            error=f"The {FIELD_HEADINGS[name].lower()} must be {limit:,} characters or fewer.",
        )
        text.add(f"{letter}{first_row}:{letter}{last_row}")
        found.append(text)
    return found


EXPORT_FIELDS = (
    "pk",
    "care_package_line__ref",
    "care_package_line__service_user__ref",
    "care_package_line__service_user__name",
    "care_package_line__service_type_id",
    "planned",
    "rate",
    "status",
    "delivered",
    "frustrated",
    "missed",
    "extra",
    "adjustment_form_ref",
    "comment",
)


def claim_form_workbook(*, provider: Provider, week: ProviderWeek) -> bytes:
    """The week's lines as a payment claim form (.xlsx): a header naming the council, the provider, the
    week and its deadline; a row per line with its references locked and the quantities, adjustment
    reference and comment to fill in; and an instructions sheet. Rows are sorted by service, then person."""
    rows = (
        ActualLine.objects.for_provider(provider)
        .filter(week=week)
        .order_by(
            "care_package_line__service_type__name",
            "care_package_line__service_user__name",
            "care_package_line__ref",
            "pk",
        )
        .values_list(*EXPORT_FIELDS)
    )
    statuses = dict(ActualLine.Status.choices)
    types: dict[int, ServiceType] = {}
    labels: dict[int, tuple[str | Cell, str]] = {}  # per service: its name's cell and its unit
    workbook = Workbook(write_only=True)
    workbook.properties.title = TITLE
    workbook.properties.creator = settings.COUNCIL_NAME
    sheet = workbook.create_sheet(CLAIM_SHEET)
    writer = _ClaimSheetWriter(sheet)
    writer.set_up()
    writer.header(
        [
            (LABEL_COUNCIL, writer.text(settings.COUNCIL_NAME)),
            (LABEL_PROVIDER, writer.text(provider.name)),
            (LABEL_PROVIDER_REF, writer.text(provider.ref)),
            (LABEL_WEEK, week.week_start),
            (LABEL_WEEK_END, week_end(week.week_start)),
            (LABEL_DEADLINE, _deadline_text(week.deadline)),
        ]
    )
    blocks: list[_Block] = []
    row_number = FIRST_DATA_ROW - 1
    for (
        line_id,
        line_ref,
        client_ref,
        person,
        type_id,
        planned,
        rate,
        status,
        *values,
    ) in rows.iterator(chunk_size=2000):
        row_number += 1
        service = types.get(type_id)
        if service is None:
            service = types[type_id] = ServiceType.objects.get(pk=type_id)
            labels[type_id] = (writer.text(service.name), service.get_unit_display())
        service_name, unit = labels[type_id]
        if blocks and blocks[-1].service_type.pk == type_id:
            blocks[-1].last = row_number
        else:
            blocks.append(_Block(service, row_number, row_number))
        writer.line(
            [
                line_id,
                line_ref,
                client_ref,
                person,
                service_name,
                unit,
                service.step,
                planned,
                rate,
                statuses.get(status, status),
            ],
            values,
        )
    last_row = max(row_number, FIRST_DATA_ROW)
    for validation in _validations(blocks, FIRST_DATA_ROW, last_row):
        sheet.data_validations.append(validation)
    _write_instructions(workbook, week=week, service_types=list(types.values()))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write_instructions(workbook: Workbook, *, week: ProviderWeek, service_types: list[ServiceType]) -> None:
    sheet = workbook.create_sheet(INSTRUCTIONS_SHEET)
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 100
    sheet.protection.sheet = True
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def cell(value: Any, **style: Any) -> Cell:
        made = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(made, name, setting)
        return made

    sheet.append([cell("How to fill in this claim form", font=Font(bold=True, size=14))])
    sheet.append([])
    steps = [
        f"Fill in the yellow columns on the “{CLAIM_SHEET}” sheet: what was delivered, frustrated "
        "(cancelled by or for the person at short notice), missed (the provider could not deliver it) and "
        "extra (beyond the plan, with an accepted request for adjustment), in each line's unit and step.",
        "Leave a quantity blank for none: a blank counts as 0.",
        "Add a comment wherever a line differs from plan, saying what happened. Extras need the adjustment "
        "form reference of the accepted request for adjustment.",
        "Do not change the other columns, add or copy rows, or type formulas: the portal checks every row "
        "and refuses a form with a formula, a line it does not know, or a line twice.",
        "Save it as an Excel workbook (.xlsx), not .xlsm, .xls or CSV, and upload it on the week's page "
        "on the portal. You will see every change and every problem first; nothing is saved until you "
        "apply it, and then all of it is saved at once. Uploading the same form again changes nothing.",
        "Lines that have been confirmed cannot be changed by a claim form: correct them on their own page.",
        f"Actuals for this week are due by {_deadline_text(week.deadline)}.",
    ]
    for number, text in enumerate(steps, start=1):
        sheet.append([cell(f"Step {number}", font=bold), cell(text, alignment=wrap)])
    sheet.append([])
    sheet.append([cell("Services on this form", font=bold)])
    for service in sorted(service_types, key=lambda s: s.name):
        unit = service.get_unit_display()
        notes = [f"recorded in {unit}, in steps of {_step_text(service.step)}"]
        if not service.allows_extras:
            notes.append("no extras")
        if service.paid_on == ServiceType.PaidOn.PLAN:
            notes.append("paid on the plan: frustrated and missed are recorded but do not change the payment")
        if records_absence_as_frustrated(service):
            notes.append("record a session the person did not attend as frustrated, not missed")
        sheet.append([cell_text(service.name), "; ".join(notes).capitalize() + "."])


# Reading an upload -------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


NOT_XLSX = (
    "The file is not an Excel workbook (.xlsx). Upload the claim form saved as an Excel workbook, "
    "not a CSV, PDF or other file."
)
OLD_FORMAT = (
    "The file is an older Excel format (.xls) or a workbook with a password. Save it as an Excel "
    "workbook (.xlsx) without a password and upload it again."
)
MACRO_WORKBOOK = (
    "The file is a macro-enabled workbook (.xlsm). The portal does not accept macros: save it as an "
    "Excel workbook (.xlsx) and upload it again."
)
NOT_READABLE = (
    "The file could not be read as an Excel workbook: it may be damaged. Download the claim form "
    "again, fill it in and upload it."
)
TOO_BIG_UNPACKED = (
    "The file unpacks to far more than any claim form would (it may be a zip bomb): the portal will not "
    "open it. Download the claim form again, fill it in and upload it."
)


def xlsx_container_check(data: bytes, *, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse what is not a plain .xlsx before openpyxl sees it: the zip's signature (not the file's
    name), its content types, macros, and what it would unpack to. Python's zipfile never inflates a
    part beyond the size its header declares, so checking declared sizes bounds the work that follows."""
    if len(data) > limit:
        raise UploadRefused(
            f"The file is {_megabytes(len(data))}: it must be smaller than {_megabytes(limit)}."
        )
    if data.startswith(OLE_MAGIC):
        raise UploadRefused(OLD_FORMAT)
    if not data.startswith(ZIP_MAGIC):
        raise UploadRefused(NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise UploadRefused(NOT_XLSX) from error
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise UploadRefused(TOO_BIG_UNPACKED)
        if sum(member.file_size for member in members) > MAX_UNCOMPRESSED_BYTES:
            raise UploadRefused(TOO_BIG_UNPACKED)
        for member in members:
            packed = max(member.compress_size, 1)
            if (
                member.file_size >= RATIO_CHECKED_FROM_BYTES
                and member.file_size > packed * MAX_COMPRESSION_RATIO
            ):
                raise UploadRefused(TOO_BIG_UNPACKED)
            if member.flag_bits & 0x1:  # an encrypted part
                raise UploadRefused(OLD_FORMAT)
            if member.filename.rsplit("/", 1)[-1].lower() == "vbaproject.bin":
                raise UploadRefused(MACRO_WORKBOOK)
        try:
            types_member = archive.getinfo("[Content_Types].xml")
        except KeyError as error:
            raise UploadRefused(NOT_XLSX) from error
        if types_member.file_size > MAX_CONTENT_TYPES_BYTES:
            raise UploadRefused(NOT_XLSX)
        try:
            content_types = _content_types(archive.read(types_member))
        except Exception as error:  # a hostile file: zlib, XML and defusedxml errors alike mean "not ours"
            raise UploadRefused(NOT_XLSX) from error
    if any("macroenabled" in kind.lower() or "vbaproject" in kind.lower() for kind in content_types):
        raise UploadRefused(MACRO_WORKBOOK)
    if SPREADSHEET_MAIN not in content_types:
        raise UploadRefused(NOT_XLSX)


def _content_types(xml: bytes) -> set[str]:
    root = SafeElementTree.fromstring(xml)
    return {
        element.get("ContentType", "")
        for element in root
        if element.tag in (f"{CONTENT_TYPES_NS}Override", f"{CONTENT_TYPES_NS}Default")
    }


def open_workbook(data: bytes) -> Any:
    """The workbook in openpyxl's read-only mode, after `xlsx_container_check`."""
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as error:  # a hostile file: openpyxl raises whatever its parts provoke
        logger.info("claim form upload unreadable: %s: %s", type(error).__name__, error)
        raise UploadRefused(NOT_READABLE) from error


@dataclass(frozen=True)
class Problem:
    row: int
    column: str  # "K (Delivered)", or "" for the whole row
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def _column_label(index: int, headings: dict[int, str]) -> str:
    letter = get_column_letter(index + 1)
    heading = headings.get(index)
    return f"{letter} ({heading})" if heading else letter


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d %B %Y", "%d %b %Y"):
            try:
                return dt.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    return None


def _label(value: Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


class _QuantityError(ValueError):
    pass


def parse_quantity(value: Any, heading: str) -> Decimal:
    """A quantity cell: a blank is 0; a number (or text that is one) of 0 to 9,999.99 with at most
    two decimal places. Excel's binary fractions (7.1 stored as 7.0999999999999996) come back as typed."""
    if value is None:
        return ZERO
    if isinstance(value, bool | dt.date | dt.time | dt.timedelta):
        raise _QuantityError(f"{heading} must be a number, like 7.25")
    if isinstance(value, float):
        rounded = round(value, 2)
        number = Decimal(repr(rounded)) if abs(value - rounded) < 1e-9 else Decimal(repr(value))
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = str(value).strip().replace(",", "")
        if not text:
            return ZERO
        try:
            number = Decimal(text)
        except InvalidOperation as error:
            raise _QuantityError(f"{heading} must be a number, like 7.25") from error
    if not number.is_finite():
        raise _QuantityError(f"{heading} must be a number, like 7.25")
    if number < 0:
        raise _QuantityError(f"{heading} must be 0 or more")
    if number > MAX_QUANTITY:
        raise _QuantityError(f"{heading} must be {MAX_QUANTITY} or less")
    if number != number.quantize(PENNY):
        raise _QuantityError(f"{heading} must have no more than 2 decimal places")
    return number.quantize(PENNY)


def _parse_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return cell_text(str(value))


def _parse_line_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass
class _WeekLine:
    """What the check needs of one of the week's lines (read with one query, as values)."""

    pk: int
    status: str
    revision: int
    values: LineValues
    line_ref: str
    person: str
    status_label: str

    @property
    def is_draft(self) -> bool:
        return self.status == ActualLine.Status.DRAFT


def _week_lines_for_check(provider: Provider, week: ProviderWeek) -> dict[int, _WeekLine]:
    statuses = dict(ActualLine.Status.choices)
    found = {}
    for pk, status, revision, delivered, frustrated, missed, extra, ref, comment, line_ref, person in (
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
            "care_package_line__ref",
            "care_package_line__service_user__name",
        )
        .iterator(chunk_size=2000)
    ):
        values = LineValues(delivered, frustrated, missed, extra, cell_text(ref), cell_text(comment))
        found[pk] = _WeekLine(pk, status, revision, values, line_ref, person, statuses.get(status, status))
    return found


@dataclass
class CheckResult:
    """What checking an upload found. `upload` is what the preview shows; None when the file changes
    nothing and has no problems (there is nothing to preview or apply)."""

    upload: ActualsUpload | None
    rows: int
    lines_changed: int
    problems: int


class _ClaimFormReader:
    """Reads one uploaded claim form against the provider's week: header, headings, then every row."""

    def __init__(self, *, provider: Provider, week: ProviderWeek) -> None:
        self.provider = provider
        self.week = week
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.changes: list[dict[str, Any]] = []
        self.rows = 0

    def problem(self, row: int, column: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(row, column, message))

    def read(self, workbook: Any) -> None:
        claim_sheet = None
        for sheet in workbook.worksheets:
            if sheet.title == CLAIM_SHEET:
                claim_sheet = sheet
            else:
                _refuse_formulas(sheet)
        if claim_sheet is None:
            raise UploadRefused(
                f"The workbook has no sheet called “{CLAIM_SHEET}”. Download this week's claim form, fill it "
                "in and upload it."
            )
        claim_sheet.reset_dimensions()  # never trust the file's own idea of its size
        rows = claim_sheet.iter_rows()
        headings = self._header(rows)
        self._lines(rows, headings)

    def _header(self, rows: Iterable[Sequence[Any]]) -> dict[int, str]:
        found: dict[str, Any] = {}
        for row_number, cells in enumerate(rows, start=1):
            if row_number > MAX_HEADER_ROWS:
                break
            for cell in cells:
                if cell.data_type == "f":
                    raise UploadRefused(
                        f"Cell {cell.coordinate} of the claim form's header holds a formula: the portal does "
                        "not accept formulas. Download the claim form again, fill it in and upload it."
                    )
            first = _label(cells[0].value) if cells else ""
            if first == LINE_ID_HEADING.casefold():
                headings = {
                    index: cell.value.strip()
                    for index, cell in enumerate(cells)
                    if isinstance(cell.value, str)
                }
                self._check_header(found)
                self._check_headings(headings)
                self.heading_row = row_number
                return headings
            if first and len(cells) > 1:
                found[first] = cells[1].value
        raise UploadRefused(
            f"This is not the portal's claim form: it has no “{LINE_ID_HEADING}” column. Download this "
            "week's claim form, fill it in and upload it."
        )

    def _check_header(self, found: dict[str, Any]) -> None:
        week_start = _as_date(found.get(LABEL_WEEK.casefold()))
        if week_start is None:
            raise UploadRefused(
                f"The claim form has no “{LABEL_WEEK}” date in its header. Download this week's claim form, "
                "fill it in and upload it."
            )
        if week_start != self.week.week_start:
            raise UploadRefused(
                f"This claim form is for the week commencing {_day(week_start)}, not {_day(self.week.week_start)}. "
                "Upload it on that week's page, or download this week's claim form."
            )
        provider_ref = found.get(LABEL_PROVIDER_REF.casefold())
        if not isinstance(provider_ref, str) or provider_ref.strip() != self.provider.ref:
            raise UploadRefused(
                f"This claim form is not for {self.provider.name}. Download this week's claim form, fill it "
                "in and upload it."
            )

    def _check_headings(self, headings: dict[int, str]) -> None:
        present = {heading.casefold() for heading in headings.values()}
        missing = [column.heading for column in EDITABLE if column.heading.casefold() not in present]
        if missing:
            raise UploadRefused(
                f"The claim form has no “{missing[0]}” column. Download this week's claim form, fill it in "
                "and upload it."
            )

    def _lines(self, rows: Iterable[Sequence[Any]], headings: dict[int, str]) -> None:
        index_of = {heading.casefold(): index for index, heading in headings.items()}
        id_index = index_of[LINE_ID_HEADING.casefold()]
        ref_index = index_of.get(LINE_REF_HEADING.casefold())
        fields = [(column.field, column.heading, index_of[column.heading.casefold()]) for column in EDITABLE]
        id_label = _column_label(id_index, headings)
        lines = _week_lines_for_check(self.provider, self.week)
        seen: dict[int, int] = {}
        for row_number, cells in enumerate(rows, start=self.heading_row + 1):
            if row_number - self.heading_row > MAX_SHEET_ROWS:
                raise UploadRefused(
                    f"The claim form has more than {MAX_SHEET_ROWS:,} rows: no week has that many lines. "
                    "Download this week's claim form, fill it in and upload it."
                )
            values = [cell.value for cell in cells]
            if not any(value is not None and value != "" for value in values):
                continue
            self.rows += 1
            broken = False
            for index, cell in enumerate(cells):
                if cell.data_type == "f":
                    broken = True
                    self.problem(
                        row_number,
                        _column_label(index, headings),
                        "The cell holds a formula: type the value itself (the portal does not accept formulas)",
                    )
                elif cell.data_type == "e":
                    broken = True
                    self.problem(
                        row_number, _column_label(index, headings), f"The cell shows an error ({cell.value})"
                    )
            if broken:
                continue
            raw_id = values[id_index] if id_index < len(values) else None
            if raw_id is None or raw_id == "":
                self.problem(
                    row_number,
                    id_label,
                    "The row has no portal line ID: rows cannot be added to a claim form (a missing line is "
                    "added by the council's brokerage team)",
                )
                continue
            line_id = _parse_line_id(raw_id)
            if line_id is None:
                self.problem(
                    row_number, id_label, "The portal line ID must be the number the form was downloaded with"
                )
                continue
            line = lines.get(line_id)
            if line is None:
                self.problem(row_number, id_label, f"Line {line_id} is not one of your lines for this week")
                continue
            if line_id in seen:
                self.problem(
                    row_number,
                    id_label,
                    f"Line {line_id} is also on row {seen[line_id]}: each line can appear once",
                )
                continue
            seen[line_id] = row_number
            if ref_index is not None and ref_index < len(values):
                given_ref = _parse_text(values[ref_index])
                if given_ref and given_ref != line.line_ref:
                    self.problem(
                        row_number,
                        _column_label(ref_index, headings),
                        f"Line {line_id} is care package line {line.line_ref}, not {given_ref}: check the row "
                        "was not changed or moved",
                    )
                    continue
            self._line(row_number, line, values, fields, headings)

    def _line(
        self,
        row_number: int,
        line: _WeekLine,
        values: list[Any],
        fields: list[tuple[str, str, int]],
        headings: dict[int, str],
    ) -> None:
        parsed: dict[str, Any] = {}
        ok = True
        for name, heading, index in fields:
            value = values[index] if index < len(values) else None
            if name in TEXT_LIMITS:
                text = _parse_text(value)
                if len(text) > TEXT_LIMITS[name]:
                    ok = False
                    self.problem(
                        row_number,
                        _column_label(index, headings),
                        f"The {heading.lower()} must be {TEXT_LIMITS[name]:,} characters or fewer",
                    )
                parsed[name] = text
                continue
            try:
                parsed[name] = parse_quantity(value, heading)
            except _QuantityError as error:
                ok = False
                self.problem(row_number, _column_label(index, headings), str(error))
        if not ok:
            return
        new = LineValues(
            delivered=parsed["delivered"],
            frustrated=parsed["frustrated"],
            missed=parsed["missed"],
            extra=parsed["extra"],
            adjustment_form_ref=parsed["adjustment_form_ref"],
            comment=parsed["comment"],
        )
        if new == line.values:
            return  # the same as the line already is: re-uploading a form changes nothing
        if not line.is_draft:
            self.problem(
                row_number,
                "",
                f"Line {line.pk} ({line.person}) is {line.status_label.lower()}: a claim form cannot change a "
                "confirmed line. Correct it on the line's own page",
            )
            return
        changed = {
            name: [str(getattr(line.values, name)), str(getattr(new, name))]
            for name in LineValues.__dataclass_fields__
            if getattr(line.values, name) != getattr(new, name)
        }
        self.changes.append(
            {
                "row": row_number,
                "line": line.pk,
                "revision": line.revision,
                "person": line.person,
                "line_ref": line.line_ref,
                "values": new.as_data(),
                "changed": changed,
            }
        )


def _refuse_formulas(sheet: Any) -> None:
    """Another sheet of the workbook (the instructions) holds nothing we read, but no formula either."""
    sheet.reset_dimensions()
    for row_number, cells in enumerate(sheet.iter_rows(), start=1):
        if row_number > MAX_SHEET_ROWS:
            raise UploadRefused(
                f"The “{sheet.title}” sheet has more than {MAX_SHEET_ROWS:,} rows: this is not a claim form "
                "the portal can read."
            )
        for cell in cells:
            if cell.data_type == "f":
                raise UploadRefused(
                    f"Cell {cell.coordinate} of the “{sheet.title}” sheet holds a formula: the portal does not "
                    "accept formulas. Remove it and upload the claim form again."
                )


def _store_upload(
    *,
    provider: Provider,
    week: ProviderWeek,
    by: User,
    kind: str,
    file_name: str,
    rows: int,
    changes: list[dict[str, Any]],
    problems: list[dict[str, Any]],
    problem_count: int,
) -> ActualsUpload:
    """Keep a checked upload for its preview; uploads of this provider that have expired go now."""
    now = clock.now()
    with transaction.atomic():
        ActualsUpload.objects.for_provider(provider).filter(expires_at__lte=now).delete()
        return ActualsUpload.objects.create(
            provider=provider,
            week=week,
            kind=kind,
            file_name=file_name[:255],
            rows=rows,
            changes=changes,
            problems=problems,
            problem_count=problem_count,
            created_at=now,
            created_by=by,
            expires_at=now + UPLOAD_LIFETIME,
        )


def claim_form_check(
    *, provider: Provider, week: ProviderWeek, by: User, file_name: str, data: bytes
) -> CheckResult:
    """Check an uploaded claim form against the provider's week, changing nothing: `UploadRefused` when
    the file as a whole will not do; otherwise every row's problems and changes, kept for the preview."""
    xlsx_container_check(data)
    workbook = open_workbook(data)
    reader = _ClaimFormReader(provider=provider, week=week)
    try:
        reader.read(workbook)
    except UploadRefused:
        raise
    except Exception as error:  # malformed sheet XML surfaces while streaming, not at opening
        logger.info("claim form upload unreadable: %s: %s", type(error).__name__, error)
        raise UploadRefused(NOT_READABLE) from error
    finally:
        workbook.close()
    if not reader.problem_count and not reader.changes:
        return CheckResult(upload=None, rows=reader.rows, lines_changed=0, problems=0)
    upload = _store_upload(
        provider=provider,
        week=week,
        by=by,
        kind=ActualsUpload.Kind.CLAIM_FORM,
        file_name=file_name,
        rows=reader.rows,
        changes=reader.changes,
        problems=[problem.as_json() for problem in reader.problems],
        problem_count=reader.problem_count,
    )
    return CheckResult(
        upload=upload, rows=reader.rows, lines_changed=len(reader.changes), problems=reader.problem_count
    )


# Applying ----------------------------------------------------------------------------------------


def values_from_data(data: dict[str, str]) -> LineValues:
    """LineValues from `LineValues.as_data()`, as a pending upload stores them."""
    return LineValues(
        delivered=Decimal(data["delivered"]),
        frustrated=Decimal(data["frustrated"]),
        missed=Decimal(data["missed"]),
        extra=Decimal(data["extra"]),
        adjustment_form_ref=data["adjustment_form_ref"],
        comment=data["comment"],
    )


def _pending_upload(*, provider: Provider, upload_id: uuid.UUID, kind: str) -> ActualsUpload:
    upload = (
        ActualsUpload.objects.for_provider(provider)
        .select_for_update()
        .select_related("week")
        .filter(pk=upload_id, kind=kind)
        .first()
    )
    if upload is None:
        raise UploadNotFound("No such upload.")
    if upload.applied_at is not None:
        raise ActualsError("This upload has already been applied.")
    if upload.expires_at <= clock.now():
        raise ActualsError("This upload has expired: upload the file again to check it against your lines.")
    return upload


@dataclass(frozen=True)
class ApplyResult:
    week: ProviderWeek
    lines: int
    fields: int


def claim_form_apply(*, provider: Provider, upload_id: uuid.UUID, by: User) -> ApplyResult:
    """Apply a checked claim form: every change or none (it must have no problems, and its lines must be
    as they were when it was checked)."""
    with transaction.atomic():
        upload = _pending_upload(provider=provider, upload_id=upload_id, kind=ActualsUpload.Kind.CLAIM_FORM)
        if upload.problem_count:
            raise ActualsError(
                "The claim form has problems: fix them in the spreadsheet and upload it again. Nothing has "
                "been changed."
            )
        planned = [
            PlannedChange(
                line_id=change["line"],
                revision=change["revision"],
                values=values_from_data(change["values"]),
            )
            for change in upload.changes
        ]
        lines = lines_bulk_amend(
            week=upload.week, by=by, changes=planned, via="claim form", upload_id=str(upload.pk)
        )
        fields = sum(len(change["changed"]) for change in upload.changes)
        upload.applied_at, upload.applied_by = clock.now(), by
        upload.save(update_fields=["applied_at", "applied_by"])
        audit_record(
            action="actuals.claim_form.applied",
            actor=by,
            obj=upload.week,
            provider=provider,
            data={
                "upload": str(upload.pk),
                "file": upload.file_name,
                "rows": upload.rows,
                "lines": len(lines),
                "fields": fields,
            },
        )
    return ApplyResult(week=upload.week, lines=len(lines), fields=fields)


# The preview -------------------------------------------------------------------------------------


def upload_for_provider(*, provider: Provider, upload_id: uuid.UUID, kind: str) -> ActualsUpload | None:
    """The provider's own upload of that kind (None for anyone else's: a 404)."""
    return (
        ActualsUpload.objects.for_provider(provider)
        .select_related("week", "created_by")
        .filter(pk=upload_id, kind=kind)
        .first()
    )


@dataclass(frozen=True)
class PreviewChange:
    row: int
    line: int
    person: str
    line_ref: str
    field: str
    before: str
    after: str


def _shown(name: str, value: str) -> str:
    if name in QUANTITY_FIELDS:
        text = f"{Decimal(value):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value or "(blank)"


def claim_form_preview_changes(upload: ActualsUpload) -> list[PreviewChange]:
    """Each change the upload would make, as a row of the preview: line, field, old → new."""
    return [
        PreviewChange(
            row=change["row"],
            line=change["line"],
            person=change["person"],
            line_ref=change["line_ref"],
            field=FIELD_HEADINGS[name],
            before=_shown(name, before),
            after=_shown(name, after),
        )
        for change in upload.changes
        for name, (before, after) in change["changed"].items()
    ]
