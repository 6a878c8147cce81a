"""Seed a whole council's care data, and the demo logins, from a scale and a seed.

The demo no longer uses this: its council is seeded in the simulated back office (`seed_backoffice`)
and reaches the portal by sync, as in real life (`demo_setup`). This writes the portal's own tables
directly from the same plan (`contrOCC_sync.simulator.backoffice.plan`, so references mean the same
council on both sides), for tests and benchmarks that need a council of thousands of lines in seconds
without a back office. It also holds the demo logins, which both paths create.

What must stay true:
- Deterministic. Every choice comes from one `random.Random(seed)`, never the global generator, and
  every date from one reference date (`today`); the same scale, seed and date give identical rows.
  Only integer draws and `random()` are used (no gauss/lognormal), so no platform's libm can differ.
- Realistic enough to demo and to load-test: UK social care service types with their units, steps
  and payment rules, British names, plausible rates and quantities, a mix of statuses.
- Fast: rows are built in memory and written with `bulk_create` in batches that also suit SQLite's
  limit on variables per statement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from contrOCC_sync.simulator.backoffice.plan import (  # the one plan both sides seed from
    SCALES,
    SERVICE_TYPES,
    SeedError,
    _LinePlan,
    _PersonPlan,
    _ProviderPlan,
    council_plan,
)
from portal import clock
from portal.accounts.models import Membership, User
from portal.audit.services import audit_record
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser

BATCH_SIZE = 500  # Django lowers it further where a backend needs it (SQLite: variables per statement)
DEFAULT_DEMO_PASSWORD = "correct-horse-battery-demo"  # noqa: S105 (a documented demo password)


# Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedResult:
    scale: str
    seed: int
    today: dt.date
    providers: int
    providers_by_kind: dict[str, int]
    service_users: int
    service_types: int
    lines: int
    lines_by_status: dict[str, int]
    largest_provider_lines: int
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = ""


# The demo logins, created at every scale: (email, full name); the carer takes the carer's own name.
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("provider.user@demo.example.org", "Sam Okafor"),
    ("provider.admin@demo.example.org", "Rachel Hughes"),
    ("manager@demo.example.org", "Imran Hussain"),
    ("carer@demo.example.org", ""),
    ("agency@demo.example.org", "Gemma Clarke"),
    ("finance@demo.example.org", "Fatima Begum"),
    ("admin@demo.example.org", "David Robinson"),
)
DEMO_EMAILS = tuple(email for email, _ in DEMO_USERS)


# The service ------------------------------------------------------------------------------------


def seed_council(
    *,
    scale: str,
    seed: int,
    today: dt.date,
    password: str = DEFAULT_DEMO_PASSWORD,
    replace: bool = False,
) -> SeedResult:
    """Write a council's providers, service users, service types, care package lines and demo logins.

    Refuses a database that already holds care data (or the demo logins) unless `replace`, which
    deletes them first, in the same transaction as the new data.
    """
    if scale not in SCALES:
        raise SeedError(f"Unknown scale {scale!r}: choose one of {', '.join(SCALES)}.")
    try:
        password_validation.validate_password(password)
    except ValidationError as exc:
        raise SeedError("The demo password is too weak: " + " ".join(exc.messages)) from exc

    plan = council_plan(scale=SCALES[scale], seed=seed, today=today)
    with transaction.atomic():
        existing = _existing_data()
        if existing and not replace:
            raise SeedError(
                f"The database already holds {existing}. "
                "Run again with --replace to delete that data and seed afresh."
            )
        if existing:
            _delete_seeded_data()
        provider_ids = _write_providers(plans=plan.providers)
        person_ids = _write_people(plans=plan.people)
        type_ids = _write_service_types()
        _write_lines(plans=plan.lines, provider_ids=provider_ids, person_ids=person_ids, type_ids=type_ids)
        logins = _create_demo_logins(providers=plan.providers, provider_ids=provider_ids, password=password)
        result = SeedResult(
            scale=scale,
            seed=seed,
            today=today,
            providers=len(plan.providers),
            providers_by_kind=dict(Counter(str(p.kind) for p in plan.providers)),
            service_users=len(plan.people),
            service_types=len(type_ids),
            lines=len(plan.lines),
            lines_by_status=dict(Counter(str(line.status) for line in plan.lines)),
            largest_provider_lines=max(Counter(line.provider for line in plan.lines).values()),
            logins=logins,
            password=password,
        )
        audit_record(
            action="providers.council.seeded",
            actor=None,
            data={
                "scale": scale,
                "seed": seed,
                "today": today.isoformat(),
                "replaced": bool(existing),
                "providers": result.providers,
                "service_users": result.service_users,
                "lines": result.lines,
            },
        )
    return result


# Writing ----------------------------------------------------------------------------------------


def _existing_data() -> str:
    """What of the seeded data is already there, in words; empty when nothing is."""
    counts = {
        "providers": Provider.objects.count(),
        "service users": ServiceUser.objects.count(),
        "service types": ServiceType.objects.count(),
        "care package lines": CarePackageLine.objects.count(),
        "demo logins": User.objects.filter(email__in=DEMO_EMAILS).count(),
    }
    return ", ".join(f"{count:,} {what}" for what, count in counts.items() if count)


def demo_totp_key(email: str) -> str:
    """A demo login's authenticator secret (hex), derived from its email: known, so `demo_code` and the
    demo smoke test can compute its codes. Never used outside the demo's seeded logins."""
    return hashlib.sha1(f"portal-demo-totp:{email}".encode()).hexdigest()  # noqa: S324  (a seed, not a hash of a secret)


def demo_security_code_enrol(user: User) -> None:
    TOTPDevice.objects.create(
        user=user, name="Authenticator app", key=demo_totp_key(user.email), confirmed=True
    )
    EmailDevice.objects.create(user=user, name="Email", confirmed=True)


def demo_council_setup(*, scale: str, seed: int, password: str = DEFAULT_DEMO_PASSWORD) -> list[DemoLogin]:
    """After the demo's council has arrived by sync: switch portal access on as the plan says (as the demo's
    portal administrator would, audited) and create the demo logins. A no-op when they exist already.

    The plan's choice of providers depends only on the scale and seed (the date moves dates, not choices),
    so provider i of the plan is PRV{i+1:05d} in the back office and, once synced, in the portal.
    """
    from portal.providers.services import provider_portal_access_set

    if User.objects.filter(email__in=DEMO_EMAILS).exists():
        return existing_demo_logins()
    try:
        password_validation.validate_password(password)
    except ValidationError as exc:
        raise SeedError("The demo password is too weak: " + " ".join(exc.messages)) from exc
    plan = council_plan(scale=SCALES[scale], seed=seed, today=clock.today())
    by_ref = {provider.ref: provider for provider in Provider.objects.all()}
    refs = [f"PRV{index + 1:05d}" for index in range(len(plan.providers))]
    missing = [ref for ref in refs if ref not in by_ref]
    if missing:
        raise SeedError(
            f"{len(missing)} providers have not arrived from the back office yet (e.g. {missing[0]})."
        )
    with transaction.atomic():
        logins = _create_demo_logins(
            providers=plan.providers, provider_ids=[by_ref[ref].pk for ref in refs], password=password
        )
        admin = User.objects.get(email="admin@demo.example.org")
        for provider_plan, ref in zip(plan.providers, refs, strict=True):
            if provider_plan.portal_enabled and by_ref[ref].active:
                provider_portal_access_set(provider=by_ref[ref], enabled=True, by=admin)
    return logins


def council_seeded() -> bool:
    return Provider.objects.exists()


def existing_demo_logins() -> list[DemoLogin]:
    """The demo logins as the database holds them now (for a demo that starts on seeded data)."""
    logins = []
    users = User.objects.filter(email__in=DEMO_EMAILS).prefetch_related("memberships__provider")
    for user in sorted(users, key=lambda u: DEMO_EMAILS.index(u.email)):
        memberships = list(user.memberships.all())
        if user.council_role:
            role = str(user.get_council_role_display())
        elif memberships:
            role = str(memberships[0].get_role_display())
        else:
            role = "No role"
        providers = tuple(f"{m.provider.name} ({m.provider.ref})" for m in memberships)
        logins.append(DemoLogin(email=user.email, role=role, providers=providers))
    return logins


def _delete_seeded_data() -> None:
    try:
        CarePackageLine.objects.all().delete()
        ServiceUser.objects.all().delete()
        Provider.objects.all().delete()  # and, by cascade, every membership of a provider
        ServiceType.objects.all().delete()
        User.objects.filter(email__in=DEMO_EMAILS).delete()
    except (ProtectedError, RestrictedError) as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.args[1]})
        raise SeedError(
            f"Cannot replace the care data: other records still refer to it ({', '.join(kinds)}). "
            "Seed an empty database instead."
        ) from exc


def _write_providers(*, plans: list[_ProviderPlan]) -> list[int]:
    rows = [
        Provider(
            ref=f"PRV{number:05d}",
            name=plan.name,
            kind=plan.kind,
            email=plan.email,
            active=plan.active,
            portal_enabled=plan.portal_enabled,
            portal_enabled_at=plan.portal_enabled_at,
        )
        for number, plan in enumerate(plans, start=1)
    ]
    Provider.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    ids = dict(Provider.objects.values_list("ref", "pk"))  # not every backend returns bulk-created keys
    return [ids[row.ref] for row in rows]


def _write_people(*, plans: list[_PersonPlan]) -> list[int]:
    refs = [f"CL{plan.ref_number:06d}" for plan in plans]
    rows = [
        ServiceUser(ref=ref, name=plan.name, date_of_birth=plan.date_of_birth, deceased_on=plan.deceased_on)
        for ref, plan in sorted(zip(refs, plans, strict=True), key=lambda pair: pair[0])
    ]
    ServiceUser.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    ids = dict(ServiceUser.objects.values_list("ref", "pk"))
    return [ids[ref] for ref in refs]


def _write_service_types() -> dict[str, int]:
    rows = [ServiceType(**spec.fields()) for spec in SERVICE_TYPES]
    ServiceType.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return dict(ServiceType.objects.values_list("code", "pk"))


def _write_lines(
    *, plans: list[_LinePlan], provider_ids: list[int], person_ids: list[int], type_ids: dict[str, int]
) -> None:
    rows = [
        CarePackageLine(
            ref=f"CPL{number:07d}",
            provider_id=provider_ids[plan.provider],
            service_user_id=person_ids[plan.person],
            service_type_id=type_ids[plan.type_code],
            planned_per_week=plan.planned_per_week,
            rate=plan.rate,
            start_date=plan.start_date,
            end_date=plan.end_date,
            status=plan.status,
        )
        for number, plan in enumerate(plans, start=1)
    ]
    CarePackageLine.objects.bulk_create(rows, batch_size=BATCH_SIZE)


def _create_demo_logins(
    *, providers: list[_ProviderPlan], provider_ids: list[int], password: str
) -> list[DemoLogin]:
    on = [i for i, plan in enumerate(providers) if plan.portal_enabled]
    flagship = 0
    branch = next(i for i in on if i != flagship and providers[i].profile in ("home_care", "general"))
    carer = next(i for i in on if providers[i].kind == Provider.Kind.FOSTER_CARER)
    agency = next(i for i in on if providers[i].kind == Provider.Kind.CHILDREN)
    user_role, admin_role = Membership.Role.PROVIDER_USER, Membership.Role.PROVIDER_ADMINISTRATOR
    names = dict(DEMO_USERS)
    names["carer@demo.example.org"] = providers[carer].contact_name
    memberships: dict[str, list[tuple[int, str]]] = {
        "provider.user@demo.example.org": [(flagship, user_role)],
        "provider.admin@demo.example.org": [(flagship, admin_role)],
        "manager@demo.example.org": [(flagship, user_role), (branch, user_role)],
        "carer@demo.example.org": [(carer, user_role)],
        "agency@demo.example.org": [(agency, user_role)],
    }
    council_roles = {
        "finance@demo.example.org": User.CouncilRole.FINANCE_OFFICER,
        "admin@demo.example.org": User.CouncilRole.PORTAL_ADMINISTRATOR,
    }
    logins = []
    for email in DEMO_EMAILS:
        role = council_roles.get(email, User.CouncilRole.NONE)
        is_admin = role == User.CouncilRole.PORTAL_ADMINISTRATOR
        user = User.objects.create_user(
            email,
            password,
            full_name=names[email],
            council_role=role,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
        demo_security_code_enrol(user)
        for index, membership_role in memberships.get(email, []):
            Membership.objects.create(user=user, provider_id=provider_ids[index], role=membership_role)
        if role:
            label = str(User.CouncilRole(role).label)
        else:
            label = str(Membership.Role(memberships[email][0][1]).label)
        acting_for = tuple(f"{providers[i].name} (PRV{i + 1:05d})" for i, _ in memberships.get(email, []))
        logins.append(DemoLogin(email=email, role=label, providers=acting_for))
    _demo_teams()
    return logins


DEMO_TEAMS = {
    "finance@demo.example.org": ["payments", "brokerage", "childrens_finance"],
    "admin@demo.example.org": ["portal_support"],
}


def _demo_teams() -> None:
    """The demo's council staff in the teams that answer queries (disputes.models.Team)."""
    from disputes.models import Team  # the seed sets up the disputes app's teams too

    for email, codes in DEMO_TEAMS.items():
        user = User.objects.get(email=email)
        for team in Team.objects.filter(code__in=codes):
            team.members.add(user)
