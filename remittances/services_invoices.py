"""Invoices and expense claims: the invoice wizard's steps, submitting (the outbox message written in the
same transaction), and the back office's word on each coming back. Views, forms and the inbound sync
only call these.

The rules, each a guard raising `SubmissionError` with a message for the provider (and the field it is
about), checked at the step that asks and again, all together, when the invoice is submitted:

- INV-01 The placement is one of the provider's care package lines paid on invoice. Another provider's
  line, one paid otherwise and one that does not exist get the same answer.
- INV-02 The period starts no later than it ends, within the placement (not before its start, not after
  its end when it has one), and ends today at the latest: an invoice is for care already given.
- INV-03 The period overlaps no earlier invoice of the provider's for the same child, unless the back
  office rejected that one (its days were never paid).
- INV-04 The provider's invoice number: letters, digits, spaces and / . _ -, at most 30 characters, used
  on no other invoice of the provider's, whatever the case (a database constraint too).
- INV-05 Each line has a description and a quantity more than 0, in hundredths; its rate is the
  placement's; its amount is quantity × rate, rounded half up to the penny once a line. At most 20 lines.
- INV-06 The lines' quantities together are no more than the period can hold in the service's unit
  (4.43 weeks in a 31-day month, 24 hours a day, one night a night): more is a typing error.
- EXP-01 The category is one of the list; the date is today or earlier, and within the last year.
- EXP-02 The amount is more than £0 and at most £5,000.00, in pence.
- EXP-03 A receipt, except for mileage: a PDF or an image (PNG, JPEG, GIF) judged from its content, never
  its name or the browser's word, smaller than 10 MB.
- EXP-04 A child, when one is named, is placed with the provider.

What is left behind is swept nightly (`invoice_leftovers_sweep`, beat): drafts nobody changed for
`INVOICE_DRAFT_STALE_DAYS` days, and receipt files no claim holds once `RECEIPT_ORPHAN_HOURS` old, each
deletion audited.

The states and their moves are `STATUS_TRANSITIONS`: the back office's word moves them; a repeat, or any
word after "paid", changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_enqueue
from portal import clock, files
from portal.audit.services import audit_record
from portal.money import PENNY, round_money
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from remittances.models_invoices import ExpenseClaim, Invoice, InvoiceDraft, InvoiceLine, SubmissionStatus

if TYPE_CHECKING:
    from portal.accounts.models import User

logger = logging.getLogger(__name__)

D = Decimal
Status = SubmissionStatus

MAX_LINES = 20
DESCRIPTION_MAX = 200
INVOICE_NUMBER_MAX = 30
_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 /._-]*")
EXPENSE_MAX = D("5000.00")
EXPENSE_DESCRIPTION_MAX = 1000
EXPENSE_MAX_AGE_DAYS = 365
RECEIPT_MAX_BYTES = 10 * 1024 * 1024
RECEIPT_TYPES = frozenset({"pdf", "png", "jpg", "gif"})
RECEIPT_FOLDER = "receipts"

# The most of each unit one day can hold (INV-06), as a fraction: a week is a seventh of a week a day.
# Generous on purpose: the rule catches typing errors (40 weeks in a month), not honest invoices.
UNITS_A_DAY: dict[str, tuple[int, int]] = {
    ServiceType.Unit.HOURS: (24, 1),
    ServiceType.Unit.DAYS: (1, 1),
    ServiceType.Unit.NIGHTS: (1, 1),
    ServiceType.Unit.WEEKS: (1, 7),
    ServiceType.Unit.VISITS: (10, 1),
    ServiceType.Unit.SESSIONS: (3, 1),
    ServiceType.Unit.MEALS: (5, 1),
    ServiceType.Unit.TRIPS: (6, 1),
}

# The life of an invoice or an expense claim: from → the states the back office's word may move it to.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.SENT: frozenset({Status.RECEIVED, Status.ACCEPTED, Status.REJECTED, Status.PAID}),
    Status.RECEIVED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.PAID}),
    Status.ACCEPTED: frozenset({Status.REJECTED, Status.PAID}),
    # Not back to accepted: a rejected invoice's days are free for a replacement, which would be paid too.
    Status.REJECTED: frozenset(),
    Status.PAID: frozenset(),  # final
}


ABSURD = D("1000000000")  # no quantity or amount of one invoice or claim comes near it


class SubmissionError(Exception):
    """An answer the rules refuse; the message is for the provider, `field` the question it is about."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class DraftNotFound(Exception):
    """No such draft of this provider's and this user's (the view answers 404)."""


def long_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def _new_ref(prefix: str) -> str:
    # Random, not the primary key: a portal database started afresh must never reuse a reference the
    # back office has already recorded (it would answer the old item's status to a new one).
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def invoice_portal_ref(draft: InvoiceDraft) -> str:
    """The reference the invoice will have, fixed when its draft starts (the check page shows it, so the
    provider can quote it, and a test can tell the simulated back office how to decide it before it is
    sent). From the draft's random UUID, so never one an earlier database used."""
    return f"INV-{draft.pk.hex[:12].upper()}"


# Placements paid on invoice ---------------------------------------------------------------------------


def invoice_placements(*, provider: Provider) -> QuerySet[CarePackageLine]:
    """The provider's care package lines paid on invoice: the placements it may invoice for."""
    return (
        CarePackageLine.objects.for_provider(provider)
        .filter(service_type__paid_on=ServiceType.PaidOn.INVOICE)
        .with_related()
        .order_by("service_user__name", "start_date", "ref")
    )


def _placement(provider: Provider, line_ref: str) -> CarePackageLine:
    """INV-01."""
    line = invoice_placements(provider=provider).filter(ref=line_ref).first()
    if line is None:
        raise SubmissionError("Select the child and placement the invoice is for", field="line")
    return line


# The rules ------------------------------------------------------------------------------------------


def guard_period(line: CarePackageLine, start: dt.date, end: dt.date) -> None:
    """INV-02."""
    if end < start:
        raise SubmissionError(
            "The end of the period must be the same as or after its start", field="period_end"
        )
    if start < line.start_date:
        raise SubmissionError(
            f"The period must start on or after {long_date(line.start_date)}, when the placement started",
            field="period_start",
        )
    if line.end_date is not None and end > line.end_date:
        raise SubmissionError(
            f"The period must end on or before {long_date(line.end_date)}, when the placement "
            f"{'ended' if line.end_date < clock.today() else 'ends'}",
            field="period_end",
        )
    if end > clock.today():
        raise SubmissionError(
            "The period must end today or earlier: invoice for care already given", field="period_end"
        )


def guard_no_overlap(provider: Provider, person: ServiceUser, start: dt.date, end: dt.date) -> None:
    """INV-03."""
    earlier = (
        Invoice.objects.for_provider(provider)
        .filter(service_user=person, period_start__lte=end, period_end__gte=start)
        .exclude(status=Status.REJECTED)
        .order_by("period_start")
        .first()
    )
    if earlier is not None:
        raise SubmissionError(
            f"The period overlaps your invoice {earlier.provider_invoice_number} for {person.name}, for "
            f"{long_date(earlier.period_start)} to {long_date(earlier.period_end)}. Choose a period no "
            "earlier invoice covers",
            field="period_start",
        )


def clean_invoice_number(number: str) -> str:
    return " ".join(number.split())


def guard_invoice_number(provider: Provider, number: str) -> None:
    """INV-04."""
    if not number:
        raise SubmissionError("Enter your invoice number", field="number")
    if len(number) > INVOICE_NUMBER_MAX:
        raise SubmissionError(
            f"Your invoice number must be {INVOICE_NUMBER_MAX} characters or fewer", field="number"
        )
    if not _INVOICE_NUMBER.fullmatch(number):
        raise SubmissionError(
            "Your invoice number can only include letters, numbers, spaces and / . _ -", field="number"
        )
    used = Invoice.objects.for_provider(provider).filter(provider_invoice_number__iexact=number).first()
    if used is not None:
        raise SubmissionError(
            f"You have already used invoice number {used.provider_invoice_number} (for "
            f"{long_date(used.period_start)} to {long_date(used.period_end)}). Each invoice needs a "
            "number of its own",
            field="number",
        )


@dataclass(frozen=True)
class PricedLine:
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal


def parse_quantity(value: Any) -> Decimal:
    try:
        quantity = D(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise SubmissionError("Enter the quantity as a number, like 4 or 4.5", field="quantity") from error
    if not quantity.is_finite():
        raise SubmissionError("Enter the quantity as a number, like 4 or 4.5", field="quantity")
    if abs(quantity) >= ABSURD:  # before anything rounds it: 1e30 cannot be quantized to the penny
        raise SubmissionError("The quantity is too big: check it", field="quantity")
    return quantity


def guard_line(description: str, quantity: Decimal) -> None:
    """INV-05, for one line."""
    if not description:
        raise SubmissionError("Enter a description of the line", field="description")
    if len(description) > DESCRIPTION_MAX:
        raise SubmissionError(
            f"The description must be {DESCRIPTION_MAX} characters or fewer", field="description"
        )
    if quantity <= 0:
        raise SubmissionError("The quantity must be more than 0", field="quantity")
    if quantity != quantity.quantize(PENNY):
        raise SubmissionError("The quantity can have at most 2 decimal places", field="quantity")


def period_capacity(*, unit: str, start: dt.date, end: dt.date) -> Decimal:
    """INV-06: the most of `unit` the period from `start` to `end` (both included) can hold."""
    numerator, denominator = UNITS_A_DAY.get(unit, (24, 1))
    days = (end - start).days + 1
    return (D(days * numerator) / D(denominator)).quantize(PENNY, rounding=ROUND_UP)


def unit_label(unit: str, quantity: Decimal | None = None) -> str:
    """'weeks', or 'week' for one."""
    return unit[:-1] if quantity == 1 and unit.endswith("s") else unit


def _quantity_text(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def guard_capacity(
    line: CarePackageLine, start: dt.date, end: dt.date, quantities: Sequence[Decimal]
) -> None:
    """INV-06."""
    unit = line.service_type.unit
    capacity = period_capacity(unit=unit, start=start, end=end)
    total = sum(quantities, D(0))
    if total > capacity:
        raise SubmissionError(
            f"The quantities come to {_quantity_text(total)} {unit_label(unit, total)}, more than the period "
            f"from {long_date(start)} to {long_date(end)} can hold ({_quantity_text(capacity)} "
            f"{unit_label(unit, capacity)})",
            field="quantity",
        )


def priced(line: CarePackageLine, description: str, quantity: Decimal) -> PricedLine:
    """INV-05: the placement's rate, the amount rounded once for the line."""
    return PricedLine(description, quantity, line.rate, round_money(quantity * line.rate))


# The wizard's draft -----------------------------------------------------------------------------------

STEPS = ("line", "period", "number", "lines")


def drafts_for(*, provider: Provider, user: User) -> QuerySet[InvoiceDraft]:
    """A user's drafts for the provider in use: nobody else's."""
    return (
        InvoiceDraft.objects.for_provider(provider)
        .filter(created_by=user)
        .select_related("care_package_line__service_user", "care_package_line__service_type")
    )


def draft_for(*, provider: Provider, user: User, draft_id: uuid.UUID) -> InvoiceDraft:
    draft = drafts_for(provider=provider, user=user).filter(pk=draft_id).first()
    if draft is None:
        raise DraftNotFound(draft_id)
    return draft


def _locked_draft(provider: Provider, user: User, draft_id: uuid.UUID) -> InvoiceDraft:
    draft = (
        InvoiceDraft.objects.for_provider(provider)
        .filter(created_by=user, pk=draft_id)
        .select_for_update(of=("self",))
        .select_related("care_package_line__service_type", "care_package_line__service_user")
        .first()
    )
    if draft is None:
        raise DraftNotFound(draft_id)
    return draft


def _save_draft(draft: InvoiceDraft) -> InvoiceDraft:
    draft.updated_at = clock.now()
    draft.save()
    return draft


def invoice_draft_start(*, provider: Provider, by: User, line_ref: str) -> InvoiceDraft:
    """The wizard's first answer (the child and placement) starts a draft."""
    line = _placement(provider, line_ref)
    now = clock.now()
    return InvoiceDraft.objects.create(
        provider=provider, created_by=by, care_package_line=line, created_at=now, updated_at=now
    )


def invoice_draft_placement_set(
    *, provider: Provider, by: User, draft_id: uuid.UUID, line_ref: str
) -> InvoiceDraft:
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        draft.care_package_line = _placement(provider, line_ref)
        return _save_draft(draft)


def invoice_draft_period_set(
    *, provider: Provider, by: User, draft_id: uuid.UUID, start: dt.date, end: dt.date
) -> InvoiceDraft:
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        line = _draft_line(draft)
        guard_period(line, start, end)
        guard_no_overlap(provider, line.service_user, start, end)
        draft.period_start, draft.period_end = start, end
        return _save_draft(draft)


def invoice_draft_number_set(
    *, provider: Provider, by: User, draft_id: uuid.UUID, number: str
) -> InvoiceDraft:
    number = clean_invoice_number(number)
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        guard_invoice_number(provider, number)
        draft.provider_invoice_number = number
        return _save_draft(draft)


def invoice_draft_line_add(
    *, provider: Provider, by: User, draft_id: uuid.UUID, description: str, quantity: Any
) -> InvoiceDraft:
    description = " ".join(str(description).split())
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        line = _draft_line(draft)
        if draft.period_start is None or draft.period_end is None:
            raise SubmissionError("Enter the period the invoice is for first", field="quantity")
        amount = parse_quantity(quantity)
        guard_line(description, amount)
        if len(draft.lines) >= MAX_LINES:
            raise SubmissionError(f"An invoice can have at most {MAX_LINES} lines", field="description")
        guard_capacity(line, draft.period_start, draft.period_end, [*_draft_quantities(draft), amount])
        draft.lines = [*draft.lines, {"description": description, "quantity": str(amount)}]
        return _save_draft(draft)


def invoice_draft_line_remove(
    *, provider: Provider, by: User, draft_id: uuid.UUID, index: int
) -> InvoiceDraft:
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        if 0 <= index < len(draft.lines):
            draft.lines = [line for i, line in enumerate(draft.lines) if i != index]
            _save_draft(draft)
        return draft


def invoice_draft_discard(*, provider: Provider, by: User, draft_id: uuid.UUID) -> None:
    with transaction.atomic():
        _locked_draft(provider, by, draft_id).delete()


def _draft_line(draft: InvoiceDraft) -> CarePackageLine:
    if draft.care_package_line is None:
        raise SubmissionError("Select the child and placement the invoice is for", field="line")
    return draft.care_package_line


def _draft_quantities(draft: InvoiceDraft) -> list[Decimal]:
    return [D(line["quantity"]) for line in draft.lines]


@dataclass
class DraftCheck:
    """A draft as the check-your-answers page shows it, and what is still wrong with it, by step."""

    draft: InvoiceDraft
    lines: list[PricedLine] = field(default_factory=list)
    total: Decimal = field(default_factory=lambda: D("0.00"))
    problems: list[tuple[str, str]] = field(default_factory=list)  # (step, message)
    # The rules' refusals of answers already given, by step (the step's page shows its own again).
    refusals: dict[str, SubmissionError] = field(default_factory=dict)

    @property
    def next_step(self) -> str | None:
        """The first step not answered, or answered in a way the rules now refuse; None when done."""
        return self.problems[0][0] if self.problems else None

    def refuse(self, step: str, error: SubmissionError) -> None:
        self.problems.append((step, str(error)))
        self.refusals.setdefault(step, error)


def invoice_draft_check(draft: InvoiceDraft) -> DraftCheck:
    """Every rule on the draft as it is now (the placement's dates and rate may have changed since an
    answer was given, and another invoice may have been sent)."""
    check = DraftCheck(draft)
    line = draft.care_package_line
    if line is None:
        check.problems.append(("line", "Select the child and placement the invoice is for"))
        return check
    if not invoice_placements(provider=draft.provider).filter(pk=line.pk).exists():
        check.refuse(
            "line",
            SubmissionError(
                "The placement you chose can no longer be invoiced for: select the child and placement again",
                field="line",
            ),
        )
        return check
    start, end = draft.period_start, draft.period_end
    if start is None or end is None:
        check.problems.append(("period", "Enter the period the invoice is for"))
    else:
        try:
            guard_period(line, start, end)
            guard_no_overlap(draft.provider, line.service_user, start, end)
        except SubmissionError as error:
            check.refuse("period", error)
    try:
        guard_invoice_number(draft.provider, draft.provider_invoice_number)
    except SubmissionError as error:
        if draft.provider_invoice_number:
            check.refuse("number", error)
        else:
            check.problems.append(("number", str(error)))
    check.lines = [priced(line, entry["description"], D(entry["quantity"])) for entry in draft.lines]
    check.total = sum((priced_line.amount for priced_line in check.lines), D("0.00"))
    if not check.lines:
        check.problems.append(("lines", "Add at least one line to the invoice"))
    elif start is not None and end is not None:
        try:
            for priced_line in check.lines:
                guard_line(priced_line.description, priced_line.quantity)
            guard_capacity(line, start, end, [priced_line.quantity for priced_line in check.lines])
        except SubmissionError as error:
            check.refuse("lines", error)
    check.problems.sort(key=lambda problem: STEPS.index(problem[0]))
    return check


# Submitting -------------------------------------------------------------------------------------------


def _invoice_body(invoice: Invoice, lines: Sequence[InvoiceLine]) -> dict[str, Any]:
    return {
        "portal_ref": invoice.portal_ref,
        "provider_ref": invoice.provider.ref,
        "service_user_ref": invoice.service_user.ref,
        "care_package_line_ref": invoice.care_package_line.ref,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "rate": str(line.rate),
                "amount": str(line.amount),
            }
            for line in lines
        ],
        "provider_invoice_number": invoice.provider_invoice_number,
    }


def invoice_submit(*, provider: Provider, by: User, draft_id: uuid.UUID) -> Invoice:
    """Write the invoice from the draft, with its outbox message and audit event, in one transaction;
    every rule checked again with the child's placements locked, so two invoices for one child cannot
    both pass the overlap rule; the draft is then deleted."""
    with transaction.atomic():
        draft = _locked_draft(provider, by, draft_id)
        if draft.care_package_line is not None:
            line_id = draft.care_package_line.pk
            # Lock the child's placements with this provider, in one order: submissions for one child wait
            # for each other; the line is read again, with its rate and dates as they are now.
            list(
                CarePackageLine.objects.for_provider(provider)
                .filter(service_user_id=draft.care_package_line.service_user_id)
                .select_for_update(of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            draft.care_package_line = invoice_placements(provider=provider).filter(pk=line_id).first()
        check = invoice_draft_check(draft)
        if check.problems:
            step, message = check.problems[0]
            raise SubmissionError(message, field=step)
        line = draft.care_package_line
        assert line is not None and draft.period_start is not None and draft.period_end is not None
        now = clock.now()
        try:
            with transaction.atomic():  # a savepoint: the unique invoice number is the database's too
                invoice = Invoice.objects.create(
                    portal_ref=invoice_portal_ref(draft),
                    provider=provider,
                    service_user=line.service_user,
                    care_package_line=line,
                    period_start=draft.period_start,
                    period_end=draft.period_end,
                    provider_invoice_number=draft.provider_invoice_number,
                    total=check.total,
                    submitted_by=by,
                    submitted_at=now,
                )
        except IntegrityError as error:
            number_used = (
                Invoice.objects.for_provider(provider)
                .filter(provider_invoice_number__iexact=draft.provider_invoice_number)
                .exists()
            )
            if not number_used:
                raise
            raise SubmissionError(
                f"You have already used invoice number {draft.provider_invoice_number}. Each invoice needs "
                "a number of its own",
                field="number",
            ) from error
        lines = InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=priced_line.description,
                quantity=priced_line.quantity,
                rate=priced_line.rate,
                amount=priced_line.amount,
            )
            for position, priced_line in enumerate(check.lines, start=1)
        )
        outbox_enqueue(
            kind=OutboxMessage.Kind.INVOICE,
            provider=provider,
            summary=f"Invoice {invoice.provider_invoice_number} ({invoice.portal_ref}) for "
            f"{line.service_user.ref}: £{invoice.total}",
            body=_invoice_body(invoice, lines),
        )
        audit_record(
            action="remittances.invoice.submitted",
            actor=by,
            obj=invoice,
            provider=provider,
            data={
                "portal_ref": invoice.portal_ref,
                "number": invoice.provider_invoice_number,
                "child": line.service_user.ref,
                "care_package_line": line.ref,
                "period": [invoice.period_start.isoformat(), invoice.period_end.isoformat()],
                "lines": len(lines),
                "total": str(invoice.total),
            },
        )
        draft.delete()
    return invoice


# Expense claims ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """A receipt that passed EXP-03, stored under a random name, not yet part of a claim."""

    name: str
    stored_as: str
    content_type: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stored_as": self.stored_as,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Receipt | None:
        try:
            receipt = cls(
                str(data["name"]),
                str(data["stored_as"]),
                str(data["content_type"]),
                int(data["size"]),
                str(data["sha256"]),
            )
            files.stored_path(RECEIPT_FOLDER, receipt.stored_as)  # refuses a name that is not ours
        except (KeyError, TypeError, ValueError, FileNotFoundError):
            return None
        return receipt


def expense_receipt_keep(*, name: str, data: bytes) -> Receipt:
    """EXP-03: the receipt is a PDF or an image by its content, and small enough; stored outside the web
    root under a random name, its own name cleaned for showing."""
    if not data:
        raise SubmissionError("The selected receipt is empty", field="receipt")
    if len(data) > RECEIPT_MAX_BYTES:
        raise SubmissionError("The receipt must be smaller than 10 MB", field="receipt")
    sniffed = files.sniff(data, allow=RECEIPT_TYPES)
    if sniffed is None:
        raise SubmissionError(
            "The receipt must be a PDF or a photo or scan (PNG, JPEG or GIF): this file is not one, "
            "whatever its name says",
            field="receipt",
        )
    stored, digest = files.store(data, folder=RECEIPT_FOLDER)
    return Receipt(files.clean_name(name, sniffed.extension), stored, sniffed.content_type, len(data), digest)


def parse_amount(value: Any) -> Decimal:
    try:
        amount = D(str(value).strip().lstrip("£").replace(",", ""))
    except (InvalidOperation, ValueError) as error:
        raise SubmissionError("Enter the amount in pounds and pence, like 12.50", field="amount") from error
    if not amount.is_finite():
        raise SubmissionError("Enter the amount in pounds and pence, like 12.50", field="amount")
    if abs(amount) >= ABSURD:
        raise SubmissionError("The amount is too big: check it", field="amount")
    return amount


def guard_expense(*, category: str, incurred_on: dt.date, amount: Decimal, description: str) -> None:
    """EXP-01 and EXP-02."""
    if category not in ExpenseClaim.Category.values:
        raise SubmissionError("Select what the expense was for", field="category")
    today = clock.today()
    if incurred_on > today:
        raise SubmissionError("The date of the expense must be today or in the past", field="incurred_on")
    if incurred_on < today - dt.timedelta(days=EXPENSE_MAX_AGE_DAYS):
        raise SubmissionError(
            "The date of the expense must be within the last year: for older expenses, contact the "
            "children's finance team",
            field="incurred_on",
        )
    if amount <= 0:
        raise SubmissionError("The amount must be more than £0", field="amount")
    if amount != amount.quantize(PENNY):
        raise SubmissionError("Enter the amount in pounds and pence, like 12.50", field="amount")
    if amount > EXPENSE_MAX:
        raise SubmissionError(
            f"The amount must be £{EXPENSE_MAX:,} or less: for a bigger expense, contact the children's "
            "finance team",
            field="amount",
        )
    if not description:
        raise SubmissionError("Enter a description of the expense", field="description")
    if len(description) > EXPENSE_DESCRIPTION_MAX:
        raise SubmissionError(
            f"The description must be {EXPENSE_DESCRIPTION_MAX:,} characters or fewer", field="description"
        )


def expense_children(*, provider: Provider) -> QuerySet[ServiceUser]:
    """The children placed with the provider (EXP-04's choice)."""
    return ServiceUser.objects.for_provider(provider).order_by("name", "ref")


def expense_claim_submit(
    *,
    provider: Provider,
    by: User,
    category: str,
    incurred_on: dt.date,
    amount: Any,
    description: str,
    child_ref: str = "",
    receipt: Receipt | None = None,
) -> ExpenseClaim:
    """Write the claim with its outbox message and audit event, in one transaction."""
    description = description.strip()
    amount = parse_amount(amount)
    guard_expense(category=category, incurred_on=incurred_on, amount=amount, description=description)
    child = None
    if child_ref:
        child = expense_children(provider=provider).filter(ref=child_ref).first()
        if child is None:  # EXP-04
            raise SubmissionError("Select one of the children placed with you, or none", field="child")
    if receipt is None and category != ExpenseClaim.Category.MILEAGE:
        raise SubmissionError("Upload a receipt: a PDF, or a photo or scan of it", field="receipt")
    if receipt is not None and not files.stored_path(RECEIPT_FOLDER, receipt.stored_as).is_file():
        raise SubmissionError("Upload the receipt again: it was not kept", field="receipt")
    with transaction.atomic():
        # The same expense twice (a double click, two colleagues): refused, with the first one named.
        # NO KEY: rows that refer to the provider (audit events, the outbox) are not held up by it.
        Provider.objects.select_for_update(no_key=True).filter(pk=provider.pk).first()
        twin = (
            ExpenseClaim.objects.for_provider(provider)
            .filter(category=category, incurred_on=incurred_on, amount=amount)
            .exclude(status=SubmissionStatus.REJECTED)
            .filter(receipt_sha256=receipt.sha256 if receipt else "", description=description)
            .first()
        )
        if twin is not None:
            raise SubmissionError(f"You have already claimed this expense: {twin.portal_ref}", field="amount")
        claim = ExpenseClaim.objects.create(
            portal_ref=_new_ref("EXP"),
            provider=provider,
            service_user=child,
            category=category,
            incurred_on=incurred_on,
            amount=amount,
            description=description,
            receipt_name=receipt.name if receipt else "",
            receipt_stored_as=receipt.stored_as if receipt else "",
            receipt_content_type=receipt.content_type if receipt else "",
            receipt_size=receipt.size if receipt else 0,
            receipt_sha256=receipt.sha256 if receipt else "",
            submitted_by=by,
            submitted_at=clock.now(),
        )
        outbox_enqueue(
            kind=OutboxMessage.Kind.EXPENSE_CLAIM,
            provider=provider,
            summary=f"Expense claim {claim.portal_ref}: {claim.get_category_display()}, £{amount}",
            body={
                "portal_ref": claim.portal_ref,
                "provider_ref": provider.ref,
                "service_user_ref": child.ref if child else None,
                "category": category,
                "incurred_on": incurred_on.isoformat(),
                "amount": str(amount),
                "description": description,
            },
        )
        audit_record(
            action="remittances.expense_claim.submitted",
            actor=by,
            obj=claim,
            provider=provider,
            data={
                "portal_ref": claim.portal_ref,
                "category": category,
                "incurred_on": incurred_on.isoformat(),
                "amount": str(amount),
                "child": child.ref if child else None,
                "receipt": {"name": receipt.name, "sha256": receipt.sha256} if receipt else None,
            },
        )
    return claim


# The back office's word -------------------------------------------------------------------------------

_MODELS: dict[str, type[Invoice] | type[ExpenseClaim]] = {"invoice": Invoice, "expense_claim": ExpenseClaim}


def submission_status_apply(
    *, kind: str, portal_ref: str, status: str, reason: str = "", ref: str = ""
) -> bool:
    """The back office's word on an invoice or an expense claim (a submission event), by its portal
    reference: moved as `STATUS_TRANSITIONS` allows, audited; a repeat, a word after "paid" or on
    something the portal never sent changes nothing. Returns whether it changed anything."""
    model = _MODELS.get(kind)
    if model is None or status not in Status.values or status == Status.SENT:
        logger.warning(
            "submission event %s %s: status %r is not one the portal knows", kind, portal_ref, status
        )
        return False
    with transaction.atomic():
        item = (
            model.objects.all_providers_for_sync()
            .select_for_update(of=("self",))
            .select_related("provider")
            .filter(portal_ref=portal_ref)
            .first()
        )
        if item is None:
            logger.warning("submission event for %s %s, which the portal never sent", kind, portal_ref)
            return False
        changed_ref = bool(ref) and item.backoffice_ref != ref[:32]
        if changed_ref:
            item.backoffice_ref = ref[:32]
        if item.status == status or status not in STATUS_TRANSITIONS[item.status]:
            if changed_ref:
                item.save(update_fields=["backoffice_ref"])
            return False
        before = item.status
        item.status = status
        item.reason = reason if status == Status.REJECTED else ""
        item.status_changed_at = clock.now()
        item.save(update_fields=["status", "reason", "status_changed_at", "backoffice_ref"])
        audit_record(
            action=f"remittances.{kind}.{status}",
            actor=None,
            obj=item,
            provider=item.provider,
            data={"from": before, "reason": reason, "backoffice_ref": item.backoffice_ref},
        )
    return True


def submission_refused(*, kind: str, body: dict[str, Any], reason: str) -> bool:
    """The back office refused the message outright (never retried): the item is rejected with the
    refusal's reason, so the provider sees it rather than waiting on "sent"."""
    return submission_status_apply(
        kind=kind,
        portal_ref=str(body.get("portal_ref") or ""),
        status=Status.REJECTED,
        reason=f"The council's finance system refused it: {reason}",
    )


# Leftovers: invoices nobody finished, receipts no claim kept -----------------------------------------


@dataclass(frozen=True)
class LeftoversSwept:
    drafts: int
    receipts: int


def invoice_drafts_stale_remove(*, limit: int = 500) -> int:
    """Delete the invoice drafts nobody has changed for `INVOICE_DRAFT_STALE_DAYS` days, each with an audit
    event saying whose it was and what it held. A draft being saved meanwhile is skipped (it is locked),
    and one saved since the list was read is kept (its age is checked again under the lock). Returns how
    many were deleted; a second run deletes nothing more."""
    cutoff = clock.now() - dt.timedelta(days=settings.INVOICE_DRAFT_STALE_DAYS)
    drafts = InvoiceDraft.objects.all_providers_for_sync()
    stale = list(
        drafts.filter(updated_at__lt=cutoff).order_by("updated_at").values_list("pk", flat=True)[:limit]
    )
    removed = 0
    for draft_id in stale:
        with transaction.atomic():
            draft = (
                drafts.select_for_update(of=("self",), skip_locked=True)
                .select_related("provider", "created_by", "care_package_line__service_user")
                .filter(pk=draft_id, updated_at__lt=cutoff)
                .first()
            )
            if draft is None:
                continue
            line = draft.care_package_line
            audit_record(
                action="remittances.invoice_draft.removed",
                actor=None,
                obj=draft,
                provider=draft.provider,
                data={
                    "reason": f"not changed for {settings.INVOICE_DRAFT_STALE_DAYS} days",
                    "created_by": draft.created_by.email,
                    "created_at": draft.created_at.isoformat(),
                    "updated_at": draft.updated_at.isoformat(),
                    "child": line.service_user.ref if line else None,
                    "care_package_line": line.ref if line else None,
                    "period": [draft.period_start.isoformat(), draft.period_end.isoformat()]
                    if draft.period_start and draft.period_end
                    else None,
                    "number": draft.provider_invoice_number,
                    "lines": len(draft.lines),
                },
            )
            draft.delete()
            removed += 1
    if removed:
        logger.info(
            "Deleted %d invoice drafts not changed for %d days", removed, settings.INVOICE_DRAFT_STALE_DAYS
        )
    return removed


_STORED_NAME = re.compile(r"[0-9a-f]{32}")


def _old_receipt_files(cutoff: float, batch: int) -> Iterator[dict[str, os.stat_result]]:
    """The receipt folder's stored files older than `cutoff` (a timestamp), `batch` at a time."""
    folder = Path(settings.VAR_DIR) / "files" / RECEIPT_FOLDER  # where portal.files.store puts them
    if not folder.is_dir():
        return
    chunk: dict[str, os.stat_result] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if not _STORED_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            if stat.st_mtime < cutoff:
                chunk[entry.name] = stat
                if len(chunk) >= batch:
                    yield chunk
                    chunk = {}
    if chunk:
        yield chunk


def expense_receipts_orphaned_remove(*, limit: int = 1000, batch: int = 500) -> int:
    """Delete the receipt files no expense claim holds, once `RECEIPT_ORPHAN_HOURS` old: receipts uploaded
    with a claim that was never sent (the claim form keeps one in the session while the rest is put right,
    at most a session's 12 hours), or replaced by another before it was. Each is audited. The files claims
    hold are never touched, whatever their age. Returns how many were deleted (at most `limit` a run)."""
    cutoff = (clock.now() - dt.timedelta(hours=settings.RECEIPT_ORPHAN_HOURS)).timestamp()
    removed = 0
    for chunk in _old_receipt_files(cutoff, batch):
        held = set(
            ExpenseClaim.objects.all_providers_for_sync()
            .filter(receipt_stored_as__in=list(chunk))
            .values_list("receipt_stored_as", flat=True)
        )
        for name, stat in chunk.items():
            if name in held:
                continue
            try:
                files.stored_path(RECEIPT_FOLDER, name).unlink()
            except FileNotFoundError:  # another sweep got there first
                continue
            audit_record(
                action="remittances.expense_receipt.removed",
                actor=None,
                data={
                    "reason": f"in no expense claim after {settings.RECEIPT_ORPHAN_HOURS} hours",
                    "stored_as": name,
                    "size": stat.st_size,
                    "uploaded_at": dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).isoformat(),
                },
            )
            removed += 1
            if removed >= limit:
                break
        if removed >= limit:
            break
    if removed:
        logger.info("Deleted %d receipts in no expense claim", removed)
    return removed


def invoice_leftovers_sweep() -> LeftoversSwept:
    """The nightly sweep (beat): stale invoice drafts, then receipts no claim holds."""
    return LeftoversSwept(drafts=invoice_drafts_stale_remove(), receipts=expense_receipts_orphaned_remove())
