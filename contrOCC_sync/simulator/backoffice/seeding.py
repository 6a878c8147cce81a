"""Seed the council into the back office, the system of record, from the shared plan (plan.py).

Deterministic: the same scale, seed and reference date give identical rows. The plan decides the care
data exactly as the portal's stand-in seeder did (same references); the back office adds what only it
knows, each person's assessed weekly contribution, from a generator of its own so the plan is untouched:
children nil, about a fifth of adults nil, most £5–£60 a week, a few up to £150. Every row is also
published in the change feed, so the portal gets the council by pulling it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from .feed import feed_append
from .models import CarePackageLine, Provider, ServiceType, ServiceUser
from .plan import SCALES, SERVICE_TYPES, SeedError, council_plan
from .publish import line_change, provider_change, service_type_change, service_user_change
from .services.controls import simulator_reset

BATCH_SIZE = 500
CHILDREN_TYPES = ("FOSTER", "AGENCY")


@dataclass(frozen=True)
class SeedSummary:
    scale: str
    seed: int
    today: dt.date
    service_types: int
    providers: int
    service_users: int
    lines: int
    lines_by_status: dict[str, int]
    paying_contributions: int


def contributions(*, seed: int, children: list[bool]) -> list[Decimal]:
    """Each person's assessed weekly contribution, in plan order."""
    rng = random.Random(f"backoffice-contributions-{seed}")
    amounts = []
    for child in children:
        roll = rng.random()
        if child or roll < 0.2:
            pence = 0
        elif roll < 0.95:
            pence = rng.randint(500, 6000)
        else:
            pence = rng.randint(6000, 15000)
        amounts.append(Decimal(pence).scaleb(-2))
    return amounts


def backoffice_seeded() -> bool:
    return Provider.objects.exists()


def backoffice_seed(*, scale: str, seed: int, today: dt.date, replace: bool = False) -> SeedSummary:
    """Write the council; refuses a back office that holds data unless `replace` (which empties it first,
    in the same transaction)."""
    if scale not in SCALES:
        raise SeedError(f"Unknown scale {scale!r}: choose one of {', '.join(SCALES)}.")
    plan = council_plan(scale=SCALES[scale], seed=seed, today=today)
    with transaction.atomic():
        if backoffice_seeded() or ServiceType.objects.exists():
            if not replace:
                raise SeedError(
                    "The back office already holds data. Run again with --replace to empty it first."
                )
            simulator_reset()
        types = ServiceType.objects.bulk_create([ServiceType(**spec.fields()) for spec in SERVICE_TYPES])
        providers = Provider.objects.bulk_create(
            [
                Provider(ref=f"PRV{number:05d}", name=p.name, kind=p.kind, email=p.email, active=p.active)
                for number, p in enumerate(plan.providers, start=1)
            ],
            batch_size=BATCH_SIZE,
        )
        child = [False] * len(plan.people)
        for line in plan.lines:
            if line.type_code in CHILDREN_TYPES:
                child[line.person] = True
        weekly = contributions(seed=seed, children=child)
        people = [
            ServiceUser(
                ref=f"CL{p.ref_number:06d}",
                name=p.name,
                date_of_birth=p.date_of_birth,
                deceased_on=p.deceased_on,
                weekly_contribution=weekly[index],
            )
            for index, p in enumerate(plan.people)
        ]
        ServiceUser.objects.bulk_create(sorted(people, key=lambda person: person.ref), batch_size=BATCH_SIZE)
        type_by_code = {st.code: st for st in types}
        lines = CarePackageLine.objects.bulk_create(
            [
                CarePackageLine(
                    ref=f"CPL{number:07d}",
                    provider=providers[p.provider],
                    service_user=people[p.person],
                    service_type=type_by_code[p.type_code],
                    planned_per_week=p.planned_per_week,
                    rate=p.rate,
                    start_date=p.start_date,
                    end_date=p.end_date,
                    status=p.status,
                )
                for number, p in enumerate(plan.lines, start=1)
            ],
            batch_size=BATCH_SIZE,
        )
        feed_append(
            [service_type_change(st) for st in types]
            + [provider_change(p) for p in providers]
            + [service_user_change(p) for p in sorted(people, key=lambda person: person.ref)]
            + [line_change(line) for line in lines]
        )
    return SeedSummary(
        scale=scale,
        seed=seed,
        today=today,
        service_types=len(types),
        providers=len(providers),
        service_users=len(people),
        lines=len(lines),
        lines_by_status=dict(Counter(line.status for line in lines)),
        paying_contributions=sum(1 for amount in weekly if amount > 0),
    )
