"""Inbound sync: cursor-paged pulls of the back office's change feeds, applied idempotently.

Each page is applied in one transaction and the cursor is stored in that same transaction, so a crash
re-reads the page (and re-applying a row changes nothing). Each row is applied in its own savepoint: a
row that refers to something the portal does not have yet (a line for a provider not yet pulled) is
**parked** and retried at every pull; a row that can never apply (malformed, an unknown unit) is
**skipped** and shown to staff; the rest of the page is applied either way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import nullcontext
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from actuals.services import Decision, actual_line_decisions_apply
from contrOCC_sync.client import BackOfficeClient, BackOfficeError
from contrOCC_sync.models import ParkedRow, SubmissionEvent, SyncRun, SyncStream
from contrOCC_sync.notifications import provider_tell
from disputes.services import adjustment_status_apply
from portal import cached, clock
from portal.audit.services import audit_record
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from remittances.documents import statements_outdated
from remittances.models import PaymentSchedule, Remittance, RemittanceLine, remittances_of
from remittances.notifications import remittance_received
from remittances.services_invoices import submission_status_apply

logger = logging.getLogger(__name__)

# Dependency order: what a row refers to is pulled before it.
PULL_ORDER = [
    SyncStream.Name.SERVICE_TYPES,
    SyncStream.Name.PROVIDERS,
    SyncStream.Name.SERVICE_USERS,
    SyncStream.Name.CARE_PACKAGE_LINES,
    SyncStream.Name.SUBMISSION_EVENTS,
    SyncStream.Name.REMITTANCES,
    SyncStream.Name.PAYMENT_SCHEDULE,
]

APPLIED, UNCHANGED = "applied", "unchanged"


class Park(Exception):
    """The row refers to something the portal does not have yet: retry it later."""


class Skip(Exception):
    """The row can never apply: keep it for staff to see."""


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise Skip(f"{field} is not a number: {value!r}") from error


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise Skip(f"{field} is not a date: {value!r}") from error


def _required_date(value: Any, field: str) -> dt.date:
    date = _date(value, field)
    if date is None:
        raise Skip(f"{field} is missing")
    return date


def _choice(value: Any, choices: list[str], field: str) -> str:
    if value not in choices:
        raise Skip(f"{field} {value!r} is not one of {', '.join(choices)}")
    return str(value)


def _changed(obj: Any, values: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        name: (str(getattr(obj, name)), str(value))
        for name, value in values.items()
        if getattr(obj, name) != value
    }


# Appliers: one per stream, each idempotent -------------------------------------------------------------


def apply_service_type(row: dict[str, Any]) -> str:
    values = {
        "name": str(row["name"]),
        "unit": _choice(row["unit"], ServiceType.Unit.values, "unit"),
        "step": _decimal(row["step"], "step"),
        "allows_extras": bool(row["allows_extras"]),
        "paid_on": _choice(row["paid_on"], ServiceType.PaidOn.values, "paid_on"),
        "tolerance_percent": _decimal(row.get("tolerance_percent", "0"), "tolerance_percent"),
    }
    return _upsert(ServiceType, {"code": str(row["code"])}, values)


def apply_provider(row: dict[str, Any]) -> str:
    values = {
        "name": str(row["name"]),
        "kind": _choice(row["kind"], Provider.Kind.values, "kind"),
        "email": str(row.get("email") or ""),
        "active": bool(row["active"]),
    }
    return _upsert(Provider, {"ref": str(row["ref"])}, values)


def apply_service_user(row: dict[str, Any]) -> str:
    values = {
        "name": str(row["name"]),
        "date_of_birth": _date(row.get("date_of_birth"), "date_of_birth"),
        "deceased_on": _date(row.get("deceased_on"), "deceased_on"),
    }
    person = ServiceUser.objects.filter(ref=str(row["ref"])).first()
    newly_deceased = (
        person is not None and values["deceased_on"] and person.deceased_on != values["deceased_on"]
    )
    outcome = _upsert(ServiceUser, {"ref": str(row["ref"])}, values)
    if newly_deceased:
        person = ServiceUser.objects.get(ref=str(row["ref"]))
        providers = Provider.objects.filter(care_package_lines__service_user=person).distinct()
        for provider in providers:
            audit_record(
                action="providers.service_user.died",
                actor=None,
                obj=person,
                provider=provider,
                data={"deceased_on": values["deceased_on"]},
            )
            provider_tell(provider=provider, template="person_died", context={"person": person})
    return outcome


class LineLookups:
    """What a page of care package lines refers to, read in one query each (not three per row), and the
    page's new lines, inserted together at the end of the page."""

    def __init__(self, rows: list[Any]) -> None:
        rows = [row for row in rows if isinstance(row, dict)]
        self.providers = {
            p.ref: p for p in Provider.objects.filter(ref__in={str(r.get("provider_ref")) for r in rows})
        }
        self.people = {
            p.ref: p
            for p in ServiceUser.objects.filter(ref__in={str(r.get("service_user_ref")) for r in rows})
        }
        self.types = {t.code: t for t in ServiceType.objects.all()}
        # Lock only the lines (of=self), without the model's ordering, which would join and lock people too.
        self.lines = {
            line.ref: line
            for line in CarePackageLine.objects.select_for_update(of=("self",))
            .filter(ref__in={str(r.get("ref")) for r in rows})
            .order_by()
        }
        self.new: dict[str, CarePackageLine] = {}
        self.new_rows: dict[str, dict[str, Any]] = {}

    def insert_new(self) -> list[tuple[CarePackageLine, str]]:
        """Insert the page's new lines at once; if that fails, one by one. Returns the ones that failed."""
        if not self.new:
            return []
        try:
            with transaction.atomic():
                CarePackageLine.objects.bulk_create(self.new.values())
            return []
        except IntegrityError:
            failed = []
            for line in self.new.values():
                try:
                    with transaction.atomic():
                        line.save(force_insert=True)
                except IntegrityError as error:
                    failed.append((line, str(error).splitlines()[0]))
            return failed


def apply_care_package_line(row: dict[str, Any], lookups: LineLookups | None = None) -> str:
    single = lookups is None
    lookups = lookups or LineLookups([row])
    ref = str(row["ref"])
    provider = lookups.providers.get(str(row["provider_ref"]))
    person = lookups.people.get(str(row["service_user_ref"]))
    service_type = lookups.types.get(str(row["service_type"]))
    missing = [
        what
        for what, found in (
            (f"provider {row['provider_ref']}", provider),
            (f"service user {row['service_user_ref']}", person),
            (f"service type {row['service_type']}", service_type),
        )
        if found is None
    ]
    if missing:
        raise Park(f"refers to {', '.join(missing)}, which the portal does not have yet")
    version = int(row["version"])
    values = {
        "provider": provider,
        "service_user": person,
        "service_type": service_type,
        "planned_per_week": _decimal(row["planned_per_week"], "planned_per_week"),
        "rate": _decimal(row["rate"], "rate"),
        "start_date": _required_date(row["start_date"], "start_date"),
        "end_date": _date(row.get("end_date"), "end_date"),
        "status": _choice(row["status"], CarePackageLine.Status.values, "status"),
        "version": version,
    }
    pending = lookups.new.get(ref)
    if pending is not None:  # the same new line changed again within the page: keep its latest version
        if pending.version < version:
            lookups.new[ref] = CarePackageLine(ref=ref, **values)
            lookups.new_rows[ref] = row
        return APPLIED
    line = lookups.lines.get(ref)
    if line is None:
        lookups.new[ref] = CarePackageLine(ref=ref, **values)
        lookups.new_rows[ref] = row
        if single:
            failed = lookups.insert_new()
            if failed:
                raise Skip(failed[0][1])
        return APPLIED
    if line.version >= version:
        return UNCHANGED  # an older change arriving after a newer one: the newer stands
    changes = _changed(
        line, {k: v for k, v in values.items() if k in ("planned_per_week", "rate", "end_date", "status")}
    )
    for name, value in values.items():
        setattr(line, name, value)
    with transaction.atomic():  # a savepoint: the database's constraints refuse what cannot hold
        line.save()
        if changes:
            audit_record(
                action="providers.care_package_line.changed",
                actor=None,
                obj=line,
                provider=provider,
                data={"version": version, "changes": changes},
            )
            provider_tell(
                provider=line.provider, template="line_changed", context={"line": line, "changes": changes}
            )
    return APPLIED


def apply_submission_event(row: dict[str, Any], decisions: list[Decision] | None = None) -> str:
    """Keep the event; an actual line's decision is applied at once, or added to `decisions` for the
    page to apply together."""
    _, created = SubmissionEvent.objects.get_or_create(
        kind=str(row["kind"]),
        ref=str(row.get("ref") or ""),
        portal_ref=str(row.get("portal_ref") or ""),
        portal_line_id=str(row.get("portal_line_id") or ""),
        version=int(row.get("version") or 0),
        status=str(row["status"]),
        defaults={
            "reason": str(row.get("reason") or ""),
            "at": dt.datetime.fromisoformat(row["at"]),
            "received_at": clock.now(),
        },
    )
    if created and row["kind"] == "actual_line":
        decision = Decision(
            portal_line_id=str(row.get("portal_line_id") or ""),
            version=int(row.get("version") or 0),
            status=str(row["status"]),
            reason=str(row.get("reason") or ""),
        )
        if decisions is None:
            actual_line_decisions_apply([decision])
        else:
            decisions.append(decision)
    elif created and row["kind"] == "adjustment":
        adjustment_status_apply(
            portal_ref=str(row.get("portal_ref") or ""),
            status=str(row["status"]),
            reason=str(row.get("reason") or ""),
        )
    elif created and row["kind"] in ("invoice", "expense_claim"):
        submission_status_apply(
            kind=str(row["kind"]),
            portal_ref=str(row.get("portal_ref") or ""),
            status=str(row["status"]),
            reason=str(row.get("reason") or ""),
            ref=str(row.get("ref") or ""),
        )
    return APPLIED if created else UNCHANGED


def apply_remittance(row: dict[str, Any]) -> str:
    if Remittance.objects.filter(ref=row["ref"]).exists():
        return UNCHANGED  # a remittance never changes once paid
    provider = Provider.objects.filter(ref=row["provider_ref"]).first()
    if provider is None:
        raise Park(f"refers to provider {row['provider_ref']}, which the portal does not have yet")
    remittance = Remittance.objects.create(
        ref=str(row["ref"]),
        provider=provider,
        payment_run_ref=str(row["payment_run_ref"]),
        paid_on=_required_date(row["paid_on"], "paid_on"),
        total=_decimal(row["total"], "total"),
        received_at=clock.now(),
    )
    RemittanceLine.objects.bulk_create(
        RemittanceLine(
            remittance=remittance,
            source_ref=str(line["source_ref"]),
            kind=_choice(line["kind"], RemittanceLine.Kind.values, "kind"),
            portal_ref=str(line.get("portal_ref") or ""),
            portal_line_id=str(line.get("portal_line_id") or ""),
            version=line.get("version"),
            service_user_ref=str(line.get("service_user_ref") or ""),
            description=str(line.get("description") or "")[:300],
            period_start=_date(line.get("period_start"), "period_start"),
            period_end=_date(line.get("period_end"), "period_end"),
            quantity=_decimal(line["quantity"], "quantity"),
            rate=_decimal(line["rate"], "rate"),
            amount=_decimal(line["amount"], "amount"),
        )
        for line in row["lines"]
    )
    if sum((line.amount for line in remittance.lines.all()), Decimal("0")) != remittance.total:
        raise Skip(f"remittance {remittance.ref}: its lines do not add up to its total {remittance.total}")
    remittance_received(remittance=remittance)  # a new remittance: email the provider (with this savepoint)
    statements_outdated(provider=provider, paid_on=remittance.paid_on)  # its year's statement is made again
    cached.changed(remittances_of(provider))  # the home page's paid panel
    return APPLIED


APPLIERS: dict[str, Callable[[dict[str, Any]], str]] = {
    SyncStream.Name.SERVICE_TYPES: apply_service_type,
    SyncStream.Name.PROVIDERS: apply_provider,
    SyncStream.Name.SERVICE_USERS: apply_service_user,
    SyncStream.Name.CARE_PACKAGE_LINES: apply_care_package_line,
    SyncStream.Name.SUBMISSION_EVENTS: apply_submission_event,
    SyncStream.Name.REMITTANCES: apply_remittance,
}

KEYS: dict[str, str] = {
    SyncStream.Name.SERVICE_TYPES: "code",
    SyncStream.Name.SUBMISSION_EVENTS: "ref",
}


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any]) -> str:
    obj = model.objects.select_for_update().filter(**lookup).first()
    if obj is None:
        model.objects.create(**lookup, **values)
        return APPLIED
    if not _changed(obj, values):
        return UNCHANGED
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()
    return APPLIED


# Pulling -----------------------------------------------------------------------------------------------


def _row_key(stream: str, row: Any) -> str:
    if not isinstance(row, dict):
        return "(not an object)"
    return str(row.get(KEYS.get(stream, "ref")) or row.get("portal_ref") or row.get("code") or "?")[:100]


def _apply_row(
    stream: SyncStream,
    row: Any,
    run: SyncRun,
    parked: ParkedRow | None = None,
    lookups: LineLookups | None = None,
    decisions: list[Decision] | None = None,
) -> None:
    """Apply one row in a savepoint; park or skip it on failure. `parked` when retrying a parked row."""
    now = clock.now()
    try:
        # A savepoint a row, but for a page of lines, whose applier writes nothing before it has checked
        # the row and keeps its one write (an update) in a savepoint of its own: 20,000 savepoints cost more
        # than the rest of a pull.
        with transaction.atomic() if lookups is None else nullcontext():
            if not isinstance(row, dict):
                raise Skip("the row is not a JSON object")
            if lookups is not None:
                outcome = apply_care_package_line(row, lookups)
            elif decisions is not None:
                outcome = apply_submission_event(row, decisions)
            else:
                outcome = APPLIERS[stream.name](row)
    except Park as reason:
        run.parked += 1
        _park(stream, row, str(reason), ParkedRow.State.PARKED, parked, now)
        return
    except (Skip, KeyError, TypeError, ValueError, ValidationError, IntegrityError) as reason:
        run.skipped += 1
        message = f"missing field {reason}" if isinstance(reason, KeyError) else str(reason)
        logger.warning("sync %s: skipped %s: %s", stream.name, _row_key(stream.name, row), message)
        _park(stream, row, message, ParkedRow.State.SKIPPED, parked, now)
        return
    if outcome == APPLIED:
        run.applied += 1
    else:
        run.unchanged += 1
    if parked is not None:
        parked.state = ParkedRow.State.APPLIED
        parked.resolved_at = now
        parked.last_tried_at = now
        parked.attempts += 1
        parked.save()


def _apply_page(stream: SyncStream, rows: list[Any], run: SyncRun) -> None:
    if stream.name == SyncStream.Name.SUBMISSION_EVENTS:
        # The lines' decisions together, once their events are kept: a page of 4,000 decisions applied one
        # by one held the worker for seconds at the Tuesday peak (docs/benchmarks.md, the load test).
        decisions: list[Decision] = []
        for row in rows:
            _apply_row(stream, row, run, decisions=decisions)
        actual_line_decisions_apply(decisions)
        return
    if stream.name != SyncStream.Name.CARE_PACKAGE_LINES:
        for row in rows:
            _apply_row(stream, row, run)
        return
    lookups = LineLookups(rows)
    for row in rows:
        _apply_row(stream, row, run, lookups=lookups)
    for line, reason in lookups.insert_new():
        run.applied -= 1
        run.skipped += 1
        _park(stream, lookups.new_rows[line.ref], reason, ParkedRow.State.SKIPPED, None, clock.now())


def _park(
    stream: SyncStream, row: Any, reason: str, state: str, parked: ParkedRow | None, now: dt.datetime
) -> None:
    if parked is not None:
        parked.reason, parked.state, parked.last_tried_at = reason, state, now
        parked.attempts += 1
        parked.save()
        return
    ParkedRow.objects.create(
        stream=stream,
        key=_row_key(stream.name, row),
        payload=row,
        reason=reason,
        state=state,
        first_seen_at=now,
        last_tried_at=now,
    )


def _retry_parked(stream: SyncStream, run: SyncRun) -> None:
    with transaction.atomic():
        for parked in ParkedRow.objects.select_for_update(skip_locked=True).filter(
            stream=stream, state=ParkedRow.State.PARKED
        ):
            _apply_row(stream, parked.payload, run, parked=parked)


def stream_pull(*, name: str, client: BackOfficeClient | None = None, max_pages: int = 200) -> SyncRun:
    """Pull one stream from its stored cursor to the end of the feed (or `max_pages`)."""
    client = client or BackOfficeClient()
    stream, _ = SyncStream.objects.get_or_create(name=name)
    run = SyncRun.objects.create(stream=stream, started_at=clock.now())
    try:
        if name == SyncStream.Name.PAYMENT_SCHEDULE:
            _copy_payment_schedule(client, run)
        else:
            _retry_parked(stream, run)
            for _ in range(max_pages):
                cursor = stream.cursor
                page = client.page(name, since=cursor)
                with transaction.atomic():
                    stream = SyncStream.objects.select_for_update().get(pk=stream.pk)
                    if stream.cursor != cursor:
                        break  # another pull applied this page meanwhile
                    _apply_page(stream, page.results, run)
                    stream.cursor = page.next_cursor
                    stream.save(update_fields=["cursor"])
                run.pages += 1
                if not page.has_more:
                    break
    except BackOfficeError as error:
        _finish(stream, run, error=str(error))
        return run
    _finish(stream, run, error="")
    return run


def _finish(stream: SyncStream, run: SyncRun, *, error: str) -> None:
    from contrOCC_sync.services import stream_failure_alert

    now = clock.now()
    run.finished_at = now
    run.status = SyncRun.Status.FAILED if error else SyncRun.Status.OK
    run.error = error[:4000]
    run.save()
    stream.refresh_from_db()
    stream.last_run_at = now
    if error:
        stream.last_error = run.error
        stream.failing_since = stream.failing_since or now
        stream.save(update_fields=["last_run_at", "last_error", "failing_since"])
        stream_failure_alert(stream=stream)
    else:
        stream.last_success_at = now
        stream.last_error = ""
        stream.failing_since = None
        stream.alerted_at = None
        stream.save(
            update_fields=["last_run_at", "last_success_at", "last_error", "failing_since", "alerted_at"]
        )


def _copy_payment_schedule(client: BackOfficeClient, run: SyncRun) -> None:
    """A snapshot, not a feed: every provider's next payment is replaced by the back office's figure."""
    results = client.payment_schedule()
    now = clock.now()
    with transaction.atomic():
        seen: set[int] = set()
        providers = {p.ref: p for p in Provider.objects.all()}
        for row in results:
            provider = providers.get(str(row.get("provider_ref"))) if isinstance(row, dict) else None
            if provider is None:
                run.skipped += 1  # a provider not pulled yet: the next copy will include it
                continue
            try:
                values = {
                    "next_run_on": _required_date(row["next_run_on"], "next_run_on"),
                    "total": _decimal(row["total"], "total"),
                    "items": list(row.get("items") or []),
                    "copied_at": now,
                }
            except (Skip, KeyError) as error:
                run.skipped += 1
                logger.warning("payment schedule for %s skipped: %s", provider.ref, error)
                continue
            PaymentSchedule.objects.update_or_create(provider=provider, defaults=values)
            seen.add(provider.pk)
            run.applied += 1
        PaymentSchedule.objects.exclude(provider_id__in=seen).delete()
    run.pages = 1


def pull_all(*, client: BackOfficeClient | None = None) -> list[SyncRun]:
    """Every stream, in dependency order."""
    client = client or BackOfficeClient()
    return [stream_pull(name=name, client=client) for name in PULL_ORDER]
