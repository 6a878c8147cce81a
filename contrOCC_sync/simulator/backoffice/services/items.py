"""Invoices, expense claims and adjustments: each recorded once per portal_ref and decided at receipt.

- INV-R1 an invoice is accepted when the child has an invoice-paid care package line with the provider
  covering the whole period (the named line, if one is named) and every invoice line's rate is that
  line's rate and its amount is quantity × rate (half up); otherwise rejected with the reason.
- EXP-R1 an expense claim is accepted up to its category's limit (BACKOFFICE_EXPENSE_LIMITS; "*" covers
  any other category), otherwise rejected.
- ADJ-R1 an adjustment is accepted (a forced decision can reject it); it is paid, or recovered when
  negative, by the next payment run.
A second receipt of a portal_ref is answered as the first, whatever its body.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from ... import clock
from ...conf import settings
from ..feed import feed_append
from ..http import Answer, ApiError, date, decimal, malformed, text
from ..models import (
    Adjustment,
    CarePackageLine,
    ExpenseClaim,
    ForcedDecision,
    Invoice,
    ItemStatus,
    Provider,
    ServiceType,
    ServiceUser,
)
from ..money import fmt, round_money
from ..publish import item_event

ItemModel = type[Invoice] | type[ExpenseClaim] | type[Adjustment]


def _provider(body: dict[str, Any]) -> Provider:
    ref = text(body, "provider_ref", max_length=32)
    provider = Provider.objects.filter(ref=ref).first()
    if provider is None:
        raise ApiError(422, "unknown_provider", f"The back office has no provider {ref}.")
    return provider


def _forced(kind: str, portal_ref: str) -> tuple[str, str, str] | None:
    forced = ForcedDecision.objects.filter(kind=kind, target=portal_ref).first()
    if forced is None:
        return None
    if forced.decision == "accept":
        return ItemStatus.ACCEPTED, "", ""
    return ItemStatus.REJECTED, "forced", forced.reason or "Rejected by the simulator."


def _record(
    model: ItemModel, kind: str, item: Invoice | ExpenseClaim | Adjustment, provider: Provider
) -> Answer:
    """Save the item once per portal_ref and publish its decision; a repeat answers the first."""
    item.first_status = item.status
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        first = model.objects.select_for_update().get(portal_ref=item.portal_ref)
        first.receipts += 1
        first.save(update_fields=["receipts"])
        answer = {
            "ref": first.ref,
            "status": first.first_status,
            "reason": first.reason or None,
            "duplicate": True,
        }
        return 200, answer | {"reason_code": first.reason_code or None}
    feed_append([item_event(item, kind=kind, at=item.received_at, provider_ref=provider.ref)])
    return 201, {
        "ref": item.ref,
        "status": item.status,
        "reason": item.reason or None,
        "reason_code": item.reason_code or None,
    }


def invoice_receive(*, body: dict[str, Any]) -> Answer:
    portal_ref = text(body, "portal_ref", max_length=64)
    service_user_ref = text(body, "service_user_ref", max_length=32)
    line_ref = text(body, "care_package_line_ref", required=False, max_length=32)
    period_start, period_end = date(body, "period_start"), date(body, "period_end")
    assert period_start is not None and period_end is not None
    if period_end < period_start:
        raise malformed("period_end is before period_start.", field="period_end")
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise malformed("lines must be a list of at least one line.", field="lines")
    lines: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise malformed(f"lines[{index}] must be an object.")
        lines.append(
            {
                "description": text(raw, "description", required=False, max_length=500),
                "quantity": decimal(raw, "quantity"),
                "rate": decimal(raw, "rate"),
                "amount": decimal(raw, "amount"),
            }
        )
    provider_invoice_number = text(body, "provider_invoice_number", required=False, max_length=64)
    provider = _provider(body)

    status, code, reason = str(ItemStatus.ACCEPTED), "", ""
    forced = _forced(ForcedDecision.Kind.INVOICE, portal_ref)
    if forced:
        status, code, reason = forced
    else:
        candidates = CarePackageLine.objects.filter(
            provider=provider,
            service_user__ref=service_user_ref,
            service_type__paid_on=ServiceType.PaidOn.INVOICE,
            start_date__lte=period_start,
        ).exclude(end_date__lt=period_end)
        if line_ref:
            candidates = candidates.filter(ref=line_ref)
        line = candidates.order_by("ref").first()
        if not ServiceUser.objects.filter(ref=service_user_ref).exists():
            status, code, reason = (
                ItemStatus.REJECTED,
                "unknown_service_user",
                f"The back office has no person {service_user_ref}.",
            )
        elif line is None:
            status, code = ItemStatus.REJECTED, "no_invoice_line"
            reason = (
                f"{service_user_ref} has no invoice-paid care package line"
                f"{' ' + line_ref if line_ref else ''} with this provider covering {period_start} to {period_end}."
            )
        else:
            for index, invoice_line in enumerate(lines):
                if invoice_line["rate"] != line.rate:
                    status, code = ItemStatus.REJECTED, "rate_mismatch"
                    reason = (
                        f"Line {index + 1}: the rate is {fmt(line.rate)}, not {fmt(invoice_line['rate'])}."
                    )
                    break
                expected = round_money(invoice_line["quantity"] * invoice_line["rate"])
                if invoice_line["amount"] != expected:
                    status, code = ItemStatus.REJECTED, "amount_mismatch"
                    reason = f"Line {index + 1}: {fmt(invoice_line['quantity'])} × {fmt(line.rate)} is {fmt(expected)}, not {fmt(invoice_line['amount'])}."
                    break
    invoice = Invoice(
        portal_ref=portal_ref,
        provider=provider,
        amount=sum((invoice_line["amount"] for invoice_line in lines), Decimal(0)),
        status=status,
        reason=reason,
        reason_code=code,
        received_at=clock.now(),
        service_user_ref=service_user_ref,
        care_package_line_ref=line_ref,
        period_start=period_start,
        period_end=period_end,
        provider_invoice_number=provider_invoice_number,
        lines=[
            {key: value if key == "description" else fmt(value) for key, value in il.items()} for il in lines
        ],
    )
    return _record(Invoice, "invoice", invoice, provider)


def expense_limit(category: str) -> Decimal | None:
    limits: dict[str, Decimal] = settings.BACKOFFICE_EXPENSE_LIMITS
    return limits.get(category.strip().lower(), limits.get("*"))


def expense_claim_receive(*, body: dict[str, Any]) -> Answer:
    portal_ref = text(body, "portal_ref", max_length=64)
    service_user_ref = text(body, "service_user_ref", required=False, max_length=32)
    category = text(body, "category", max_length=64)
    incurred_on = date(body, "incurred_on")
    amount = decimal(body, "amount")
    description = text(body, "description", required=False, max_length=5000)
    provider = _provider(body)

    status, code, reason = str(ItemStatus.ACCEPTED), "", ""
    forced = _forced(ForcedDecision.Kind.EXPENSE_CLAIM, portal_ref)
    limit = expense_limit(category)
    if forced:
        status, code, reason = forced
    elif limit is None:
        status, code, reason = ItemStatus.REJECTED, "unknown_category", f"No expense category {category!r}."
    elif amount <= 0:
        status, code, reason = ItemStatus.REJECTED, "nothing_claimed", "The amount must be more than 0.00."
    elif amount > limit:
        status, code = ItemStatus.REJECTED, "over_limit"
        reason = f"{category} claims are paid up to {fmt(limit)}; this one is {fmt(amount)}."
    claim = ExpenseClaim(
        portal_ref=portal_ref,
        provider=provider,
        amount=amount,
        status=status,
        reason=reason,
        reason_code=code,
        received_at=clock.now(),
        service_user_ref=service_user_ref,
        category=category,
        incurred_on=incurred_on,
        description=description,
    )
    return _record(ExpenseClaim, "expense_claim", claim, provider)


def adjustment_receive(*, body: dict[str, Any]) -> Answer:
    portal_ref = text(body, "portal_ref", max_length=64)
    amount = decimal(body, "amount", signed=True)
    reason_text = text(body, "reason", required=False, max_length=5000)
    dispute_ref = text(body, "dispute_ref", required=False, max_length=64)
    applies_to = body.get("applies_to")
    if applies_to is not None and (isinstance(applies_to, bool) or not isinstance(applies_to, int | str)):
        raise malformed(
            "applies_to must be a portal_line_id or a remittance line's source_ref.", field="applies_to"
        )
    provider = _provider(body)
    status, code, reason = _forced(ForcedDecision.Kind.ADJUSTMENT, portal_ref) or (
        ItemStatus.ACCEPTED,
        "",
        "",
    )
    adjustment = Adjustment(
        portal_ref=portal_ref,
        provider=provider,
        amount=amount,
        status=status,
        reason=reason,
        reason_code=code,
        received_at=clock.now(),
        reason_text=reason_text,
        dispute_ref=dispute_ref,
        applies_to="" if applies_to is None else str(applies_to)[:64],
    )
    return _record(Adjustment, "adjustment", adjustment, provider)
