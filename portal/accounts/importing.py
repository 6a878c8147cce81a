"""Go-live: create many logins from a CSV (email, name, provider reference, role), all or nothing.

Every row is checked first; if any row is wrong nothing is created and the report says which rows and
why. With `dry_run` the checks run and nothing is ever written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from portal.accounts.models import Membership, User
from portal.accounts.services import AccountError, user_invite
from portal.providers.models import Provider

COLUMNS = ["email", "name", "provider reference", "role"]
PROVIDER_ROLES = {"provider_user", "provider_administrator"}
COUNCIL_ROLES = {"finance_officer", "portal_administrator"}


@dataclass
class RowResult:
    line: int
    email: str
    problems: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class ImportReport:
    rows: list[RowResult]
    applied: bool

    @property
    def ok(self) -> bool:
        return all(not row.problems for row in self.rows)


def users_import(*, text: str, by: User | None, dry_run: bool) -> ImportReport:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if header != COLUMNS:
        row = RowResult(line=1, email="", problems=[f"The header must be: {', '.join(COLUMNS)}"])
        return ImportReport(rows=[row], applied=False)
    rows: list[RowResult] = []
    plans: list[tuple[RowResult, dict]] = []
    seen: set[tuple[str, str]] = set()
    providers = {p.ref.upper(): p for p in Provider.objects.all()}
    for line, raw in enumerate(reader, start=2):
        values = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        email, name = values["email"].lower(), values["name"]
        ref, role = values["provider reference"].upper(), values["role"].lower()
        result = RowResult(line=line, email=email)
        try:
            validate_email(email)
        except ValidationError:
            result.problems.append("the email address is not valid")
        if not name:
            result.problems.append("the name is empty")
        provider = None
        if role in PROVIDER_ROLES:
            provider = providers.get(ref)
            if provider is None:
                result.problems.append(f"there is no provider {ref or '(empty)'}")
            elif not provider.portal_enabled:
                result.problems.append(f"portal access is not switched on for {ref}")
            elif Membership.objects.filter(user__email=email, provider=provider).exists():
                result.problems.append(f"{email} already has a login for {ref}")
        elif role in COUNCIL_ROLES:
            if ref:
                result.problems.append("council staff have no provider reference")
            if User.objects.filter(email=email).exists():
                result.problems.append(f"{email} already has a login")
        else:
            result.problems.append(
                f"the role must be one of {', '.join(sorted(PROVIDER_ROLES | COUNCIL_ROLES))}"
            )
        key = (email, ref)
        if key in seen:
            result.problems.append("the same email and provider appear on an earlier row")
        seen.add(key)
        rows.append(result)
        plans.append((result, {"email": email, "full_name": name, "provider": provider, "role": role}))

    report = ImportReport(rows=rows, applied=False)
    if dry_run or not report.ok or not rows:
        for row in rows:
            row.outcome = (
                "would be invited" if report.ok else "no problems, but not created (other rows are wrong)"
            )
        return report
    with transaction.atomic():
        for result, plan in plans:
            try:
                user_invite(
                    email=plan["email"],
                    full_name=plan["full_name"],
                    by=by,
                    provider=plan["provider"],
                    provider_role=plan["role"] if plan["provider"] else "",
                    council_role="" if plan["provider"] else plan["role"],
                )
            except AccountError as error:  # pragma: no cover - checked above; kept as a last guard
                result.problems.append(str(error))
                transaction.set_rollback(True)
                return ImportReport(rows=rows, applied=False)
            result.outcome = "invited"
    report.applied = True
    return report
