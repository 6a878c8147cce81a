"""The council's plan: every provider, person and care package line decided from a scale, a seed and a
reference date, in memory, writing nothing.

The one plan: the simulator seeds the back office from it (`seed_backoffice`), and the portal's
`seed_council` (tests and benchmarks) writes the portal's tables from it, so references mean the same
council on both sides. It uses no models of either project, only plain strings for kinds and statuses,
so the portal may import it without loading the simulator.

What must stay true: deterministic (one `random.Random(seed)`, integer draws and `random()` only), and
identical to the portal's plan for the same scale, seed and date, so references (PRV00001, CL…, CPL…)
mean the same council on both sides.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import slugify

from ..clock import LONDON


class _Kind:
    ADULT = "adult"
    CHILDREN = "children"
    FOSTER_CARER = "foster_carer"


class _Status:
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


HISTORY_DAYS = 3 * 365  # lines start within the last ~3 years


class SeedError(Exception):
    """The council cannot be seeded as asked; the message is for the person running the command."""


# Scales -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    adult_providers: int
    children_agencies: int
    foster_carers: int
    service_users: int
    lines: int
    flagship_lines: int  # lines of the first adult provider, the one the demo logins act for

    @property
    def providers(self) -> int:
        return self.adult_providers + self.children_agencies + self.foster_carers


SCALES: dict[str, Scale] = {
    "demo": Scale("demo", 36, 8, 16, service_users=2_000, lines=3_000, flagship_lines=300),
    "council": Scale("council", 100, 15, 35, service_users=8_000, lines=12_000, flagship_lines=1_200),
    "large": Scale("large", 130, 20, 50, service_users=12_000, lines=20_000, flagship_lines=2_400),
    # The load test's council (tests/load, `make load`): 240 adult providers, nearly all of them with 25 or
    # more care package lines running through the last few weeks, so 200 can each be given weeks of 20.
    "load": Scale("load", 240, 5, 5, service_users=16_000, lines=24_000, flagship_lines=200),
}


# Service types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTypeSpec:
    code: str
    name: str
    unit: str
    step: Decimal
    allows_extras: bool
    paid_on: str
    tolerance_percent: Decimal
    planned_steps: tuple[int, int]  # planned per week, in steps of `step`
    rate_pence: tuple[int, int]  # unit rate range

    def fields(self) -> dict[str, object]:
        """The service type as both sides store it (the API's fields)."""
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "step": self.step,
            "allows_extras": self.allows_extras,
            "paid_on": self.paid_on,
            "tolerance_percent": self.tolerance_percent,
        }


_QUARTER = Decimal("0.25")

# Realistic UK rates and weekly quantities for a council's framework contracts (2025/26 prices).
_SERVICE_TYPE_TABLE = (
    # code, name, unit, step, extras allowed, paid on, tolerance %, planned steps a week, rate in pence
    ("HOMESUP", "Home support", "hours", "0.25", True, "actuals", 10, (8, 112), (2100, 2600)),
    ("EXTRACARE", "Extra care", "hours", "0.25", True, "actuals", 10, (12, 80), (1900, 2400)),
    ("SUPLIV", "Supported living", "hours", "0.25", False, "plan", 0, (40, 336), (1950, 2550)),
    ("ONETOONE", "1-to-1 support", "hours", "0.25", True, "actuals", 5, (8, 120), (2000, 2800)),
    ("DAYCARE", "Day care", "sessions", "1", True, "plan", 0, (1, 5), (4500, 7000)),
    ("RESPITE", "Respite", "nights", "1", True, "actuals", 0, (1, 4), (9500, 18000)),
    ("TRANSPORT", "Transport", "trips", "1", True, "actuals", 0, (2, 10), (800, 2500)),
    ("MEALS", "Meals", "meals", "1", True, "actuals", 0, (5, 14), (450, 750)),
    ("FOSTER", "Fostering placement", "weeks", "1", False, "plan", 0, (1, 1), (25000, 48000)),
    ("AGENCY", "Agency placement", "weeks", "1", False, "invoice", 0, (1, 1), (85000, 125000)),
)  # fmt: skip
SERVICE_TYPES: tuple[ServiceTypeSpec, ...] = tuple(
    ServiceTypeSpec(code, name, unit, Decimal(step), extras, paid_on, Decimal(tolerance), planned, rate)
    for code, name, unit, step, extras, paid_on, tolerance, planned, rate in _SERVICE_TYPE_TABLE
)
ADULT_TYPE_CODES = ("HOMESUP", "EXTRACARE", "SUPLIV", "ONETOONE", "DAYCARE", "RESPITE", "TRANSPORT", "MEALS")
_SPEC_BY_CODE = {spec.code: spec for spec in SERVICE_TYPES}
# Residential children's homes cost far more a week than independent fostering agencies.
_RESIDENTIAL_RATE_PENCE = (380000, 650000)
# Home support is commissioned as visits a week of a fixed length, so hours are whole quarters.
_HOME_SUPPORT_VISITS = (3, 5, 7, 7, 7, 10, 14, 14, 14, 21, 21, 28)
_HOME_SUPPORT_VISIT_QUARTERS = (2, 2, 3, 4, 4)


# Adult provider profiles: what a provider called "... Day Centre" offers, and how often.
@dataclass(frozen=True)
class _Profile:
    suffixes: tuple[str, ...]
    types: tuple[tuple[str, int], ...]  # (service type code, weight)
    share: int  # how common the profile is among adult providers


_PROFILES: dict[str, _Profile] = {
    "home_care": _Profile(
        ("Home Care Ltd", "Homecare", "Care at Home Ltd", "Domiciliary Care Ltd", "Care Services Ltd"),
        (("HOMESUP", 85), ("ONETOONE", 8), ("MEALS", 7)),
        45,
    ),
    "day_centre": _Profile(
        ("Day Centre", "Day Services", "Resource Centre"),
        (("DAYCARE", 70), ("TRANSPORT", 20), ("MEALS", 10)),
        12,
    ),
    "supported_living": _Profile(
        ("Supported Living Ltd", "Support Services CIC", "Independent Living Ltd"),
        (("SUPLIV", 70), ("ONETOONE", 25), ("RESPITE", 5)),
        15,
    ),
    "extra_care": _Profile(
        ("Court Extra Care", "Extra Care Housing"), (("EXTRACARE", 75), ("HOMESUP", 10), ("MEALS", 15)), 6
    ),
    "short_breaks": _Profile(("Short Breaks", "Respite Care Ltd"), (("RESPITE", 80), ("DAYCARE", 20)), 5),
    "transport": _Profile(("Community Transport",), (("TRANSPORT", 100),), 4),
    "meals": _Profile(("Community Meals", "Meals on Wheels"), (("MEALS", 100),), 3),
    "general": _Profile(
        ("Care Group Ltd", "Care Partnership", "Healthcare Ltd"),
        (
            ("HOMESUP", 40),
            ("EXTRACARE", 8),
            ("SUPLIV", 10),
            ("ONETOONE", 10),
            ("DAYCARE", 12),
            ("RESPITE", 5),
            ("TRANSPORT", 8),
            ("MEALS", 7),
        ),
        10,
    ),
}
_AGENCY_SUFFIXES = (
    ("Fostering Ltd", False),
    ("Independent Fostering Agency", False),
    ("Family Placements Ltd", False),
    ("Children's Homes Ltd", True),
    ("Children's Services Ltd", True),
)


# Names ------------------------------------------------------------------------------------------

# (weight, first names of people born before ~1960, of people born since, surnames): first names and
# surnames come from the same group, in rough proportion to a West Yorkshire population.
NAME_GROUPS: tuple[tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        64,
        (
            "Margaret", "Patricia", "Barbara", "Susan", "Jean", "Joan", "Dorothy", "Irene", "Sheila",
            "Brenda", "Pauline", "Elaine", "Janet", "Christine", "Linda", "Doreen", "Edna", "Kathleen",
            "Maureen", "Valerie", "John", "Peter", "Michael", "Robert", "Stephen", "David", "Keith",
            "Brian", "Kenneth", "Derek", "Colin", "Malcolm", "Geoffrey", "Ronald", "Alan", "Barry",
            "Graham", "Trevor", "Roy", "Dennis",
        ),
        (
            "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Mia", "Poppy", "Ella", "Lily",
            "Evie", "Freya", "Chloe", "Jessica", "Ruby", "Daisy", "Sarah", "Rachel", "Gemma", "Oliver",
            "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William", "James",
            "Leo", "Alfie", "Freddie", "Archie", "Ethan", "Daniel", "Liam", "Kyle", "Callum",
        ),
        (
            "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
            "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes",
            "Green", "Hall", "Lewis", "Harris", "Clarke", "Jackson", "Wood", "Turner", "Martin", "Cooper",
            "Hill", "Ward", "Morris", "Moore", "King", "Baker", "Harrison", "Morgan", "Allen", "Scott",
            "Watson", "Parker", "Sutcliffe", "Ackroyd", "Holroyd", "Illingworth", "Greenwood", "Whitaker",
            "Barraclough", "Haigh", "Hirst", "Priestley", "Murphy", "Kelly", "Bell", "Shaw", "Bailey",
            "Mitchell", "Collins", "Cook",
        ),
    ),
    (
        24,
        (
            "Mohammed", "Muhammad", "Abdul", "Imran", "Tariq", "Mushtaq", "Bashir", "Nasir", "Rafiq",
            "Arshad", "Gurdeep", "Harjit", "Rajesh", "Sunil", "Fatima", "Nasreen", "Shamim", "Parveen",
            "Razia", "Rubina", "Zubeda", "Kulwinder", "Sunita", "Pushpa", "Hamida", "Khalida", "Surinder",
            "Balbir", "Iqbal", "Yusuf",
        ),
        (
            "Mohammed", "Ali", "Bilal", "Hamza", "Zain", "Ibrahim", "Yusuf", "Arjun", "Rohan", "Ravi",
            "Aisha", "Maryam", "Zara", "Ayesha", "Hafsa", "Amira", "Inaaya", "Priya", "Anjali", "Simran",
            "Haris", "Musa", "Zakariya", "Eesa", "Aliza", "Hania", "Zainab", "Safa", "Amaan", "Rayyan",
        ),
        (
            "Khan", "Hussain", "Ahmed", "Ali", "Akhtar", "Begum", "Iqbal", "Mahmood", "Shah", "Rahman",
            "Bibi", "Aslam", "Butt", "Rashid", "Siddique", "Singh", "Kaur", "Sharma", "Mistry", "Patel",
        ),
    ),
    (
        6,
        (
            "Stanislaw", "Jan", "Krystyna", "Halina", "Tadeusz", "Zofia", "Jozef", "Danuta",
        ),
        (
            "Jakub", "Piotr", "Tomasz", "Kacper", "Agnieszka", "Zofia", "Natalia", "Oliwia", "Szymon",
            "Julia",
        ),
        (
            "Nowak", "Kowalski", "Wisniewski", "Wojcik", "Kaminski", "Lewandowski", "Zielinski",
            "Kowalczyk",
        ),
    ),
    (
        6,
        (
            "Winston", "Delroy", "Clement", "Gloria", "Hyacinth", "Beverley", "Kwame", "Grace", "Esther",
            "Samuel",
        ),
        (
            "Tunde", "Kofi", "Chidi", "Abena", "Chidinma", "Adaeze", "Tyrone", "Jordan", "Shanice",
            "Malachi",
        ),
        (
            "Okafor", "Mensah", "Adeyemi", "Campbell", "Brown", "Francis", "Boateng", "Okoro", "Henry",
            "Thomas",
        ),
    ),
)  # fmt: skip
_NAME_GROUP_WEIGHTS = tuple(group[0] for group in NAME_GROUPS)
PLACE_NAMES = (
    "Airedale", "Wharfedale", "Calderdale", "Pennine", "Moorland", "Brookside", "Riverside", "Hillside",
    "Meadowbank", "Ashfield", "Beechwood", "Greenacre", "Holly Bank", "Kingfisher", "Larchfield", "Millbrook",
    "Northgate", "Orchard", "Parkside", "Queensbury", "Rosewood", "Silverdale", "Thornton", "Valley View",
    "Westfield", "Willowbrook", "Yew Tree", "Bramley", "Cottingley", "Denholme", "Eccleshill", "Frizinghall",
    "Heaton", "Idle", "Keighley", "Lister", "Manningham", "Oakworth", "Saltaire", "Shipley", "Bingley",
    "Baildon", "Ilkley", "Haworth", "Wibsey", "Wyke", "Clayton", "Allerton", "Horton", "Bowling",
    "Low Moor", "Undercliffe", "Bolton Woods", "Heathfield", "Sunnybank", "Fairweather", "Evergreen",
    "Harbour", "Lighthouse", "Compass", "Cornerstone", "Keystone", "Horizon", "Beacon", "Pathways",
)  # fmt: skip


# The plan: every value decided in memory, in a fixed order, before anything is written ------------


@dataclass
class _ProviderPlan:
    kind: str
    name: str
    profile: str  # an adult profile's key, "agency", "residential" or "foster"
    contact_name: str = ""
    active: bool = True
    portal_enabled: bool = True
    portal_enabled_at: dt.datetime | None = None
    email: str = ""
    line_quota: int = 0


@dataclass
class _PersonPlan:
    name: str
    date_of_birth: dt.date
    deceased_on: dt.date | None = None
    ref_number: int = 0


@dataclass
class _LinePlan:
    provider: int  # index into the provider plans
    person: int  # index into the person plans
    type_code: str
    planned_per_week: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)
    start_date: dt.date = dt.date.min
    end_date: dt.date | None = None
    status: str = _Status.ACTIVE


@dataclass
class _Plan:
    providers: list[_ProviderPlan]
    people: list[_PersonPlan]
    lines: list[_LinePlan]  # in reference order


def council_plan(*, scale: Scale, seed: int, today: dt.date) -> _Plan:
    """Decide every row from the seed and the reference date alone. Writes nothing."""
    rng = random.Random(seed)
    providers = _plan_providers(rng=rng, scale=scale, today=today)

    children: list[tuple[int, str]] = []  # (provider index, service type code): one line per child
    for index, provider in enumerate(providers):
        if provider.kind == _Kind.FOSTER_CARER:
            children += [(index, "FOSTER")] * rng.randint(1, 3)
        elif provider.kind == _Kind.CHILDREN:
            children += [(index, "AGENCY")] * rng.randint(3, 12)
    adult_people = scale.service_users - len(children)
    adult_lines = scale.lines - len(children)
    if not 0 < adult_people <= adult_lines:
        raise SeedError(f"Scale {scale.name!r} is inconsistent: fewer lines than people.")

    adult_indexes = [i for i, p in enumerate(providers) if p.kind == _Kind.ADULT]
    _apportion_adult_lines(
        rng=rng, providers=providers, adult_indexes=adult_indexes, total=adult_lines, scale=scale
    )
    # A block is one person's lines at one provider: 1-3 lines of different service types.
    blocks: list[tuple[int, list[str]]] = []
    for index in adult_indexes:
        blocks += _plan_blocks(rng=rng, provider_index=index, provider=providers[index], flagship=index == 0)
    while len(blocks) < adult_people:  # fewer blocks than people: split a block of several lines
        index, codes = next(block for block in blocks if len(block[1]) > 1)
        blocks.append((index, [codes.pop()]))

    people = [_plan_adult(rng=rng, today=today) for _ in range(adult_people)]
    lines: list[_LinePlan] = []
    providers_of: dict[int, set[int]] = {}
    order = list(range(len(blocks)))
    rng.shuffle(order)
    for position, block_index in enumerate(order):
        provider_index, codes = blocks[block_index]
        person = position
        if position >= adult_people:  # someone with a second provider (day care here, home support there)
            for _attempt in range(10):
                person = rng.randrange(adult_people)
                if provider_index not in providers_of[person]:
                    break
        providers_of.setdefault(person, set()).add(provider_index)
        lines += [_LinePlan(provider_index, person, code) for code in codes]
    for provider_index, code in children:
        people.append(_plan_child(rng=rng, today=today))
        lines.append(_LinePlan(provider_index, len(people) - 1, code))

    numbers = list(range(1, len(people) + 1))
    rng.shuffle(numbers)  # client references do not follow the kind of care
    for person_plan, number in zip(people, numbers, strict=True):
        person_plan.ref_number = number
    rates: dict[tuple[int, str], int] = {}
    for line in lines:
        _fill_line(
            rng=rng,
            line=line,
            provider=providers[line.provider],
            person=people[line.person],
            today=today,
            rates=rates,
        )
    lines.sort(key=lambda line: line.start_date)  # stable: line references follow start dates
    return _Plan(providers=providers, people=people, lines=lines)


def _plan_providers(*, rng: random.Random, scale: Scale, today: dt.date) -> list[_ProviderPlan]:
    used_names: set[str] = set()
    profiles = list(_PROFILES)
    shares = [_PROFILES[key].share for key in profiles]
    # The flagship (PRV00001, the demo logins' provider) offers every adult service; the second is the
    # multi-branch manager's other provider, another home care agency.
    adults = [
        _ProviderPlan(_Kind.ADULT, "", "general"),
        _ProviderPlan(_Kind.ADULT, "", "home_care"),
    ]
    adults += [
        _ProviderPlan(_Kind.ADULT, "", rng.choices(profiles, weights=shares)[0])
        for _ in range(scale.adult_providers - 2)
    ]
    for plan in adults:
        plan.name = _unique_name(
            rng=rng, used=used_names, parts=(PLACE_NAMES, _PROFILES[plan.profile].suffixes)
        )
    agencies = []
    for _ in range(scale.children_agencies):
        suffix, residential = rng.choice(_AGENCY_SUFFIXES)
        name = _unique_name(rng=rng, used=used_names, parts=(PLACE_NAMES, (suffix,)))
        agencies.append(_ProviderPlan(_Kind.CHILDREN, name, "residential" if residential else "agency"))
    carers = []
    couples = ("Mr & Mrs", "Mr & Mrs", "Mr & Mrs", "Ms & Ms", "Mr & Mr")
    for _ in range(scale.foster_carers):
        for _attempt in range(1000):  # a carer is a person (or a couple), known by name
            first, surname = _person_name(rng=rng, born=today - dt.timedelta(days=rng.randint(28, 64) * 365))
            name = f"{rng.choice(couples)} {surname}" if rng.random() < 0.6 else f"{first} {surname}"
            if name not in used_names:
                break
        else:
            raise SeedError("Ran out of distinct foster carer names.")
        used_names.add(name)
        carers.append(_ProviderPlan(_Kind.FOSTER_CARER, name, "foster", contact_name=f"{first} {surname}"))

    # The demo logins need two adult providers, an agency and a carer with access on: the first of each.
    for plan in adults[2:] + agencies[1:] + carers[1:]:
        roll = rng.random()
        plan.active = roll >= 0.05
        plan.portal_enabled = roll >= 0.20  # about 80% on; never for a provider inactive in the back office
    others = adults[1:] + agencies + carers
    rng.shuffle(others)
    ordered = adults[:1] + others  # references follow this order: PRV00001 is the flagship

    used_emails: set[str] = set()
    for plan in ordered:
        slug = slugify(plan.name.replace("&", "and"))
        email, n = f"{slug}@example.org", 1
        while email in used_emails:
            n += 1
            email = f"{slug}-{n}@example.org"
        used_emails.add(email)
        plan.email = email
        if plan.portal_enabled:
            day = today - dt.timedelta(days=rng.randint(1, 700))
            at = dt.time(rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
            plan.portal_enabled_at = dt.datetime.combine(day, at, tzinfo=LONDON)
    return ordered


def _unique_name(*, rng: random.Random, used: set[str], parts: Sequence[Sequence[str]]) -> str:
    """A name made of one random choice from each of `parts`, not already in `used` (and then added)."""
    for _attempt in range(1000):
        name = " ".join(rng.choice(part) for part in parts)
        if name not in used:
            used.add(name)
            return name
    raise SeedError("Ran out of distinct provider names.")


# Most providers are small, a few are big: relative sizes, drawn per provider.
_SIZE_WEIGHTS = (1,) * 30 + (2,) * 25 + (3,) * 20 + (5,) * 12 + (8,) * 7 + (13,) * 4 + (21,) * 2


def _apportion_adult_lines(
    *, rng: random.Random, providers: list[_ProviderPlan], adult_indexes: list[int], total: int, scale: Scale
) -> None:
    """Give each adult provider its number of lines: the flagship its fixed share and the biggest."""
    flagship, others = adult_indexes[0], adult_indexes[1:]
    providers[flagship].line_quota = scale.flagship_lines
    weights = [rng.choice(_SIZE_WEIGHTS) * rng.randint(80, 120) for _ in others]
    quotas = apportion(
        total=total - scale.flagship_lines, weights=weights, low=3, high=scale.flagship_lines * 4 // 5
    )
    for index, quota in zip(others, quotas, strict=True):
        providers[index].line_quota = quota


def apportion(*, total: int, weights: Sequence[int], low: int, high: int) -> list[int]:
    """Split `total` in proportion to `weights`, each part within [low, high]; integers only."""
    n = len(weights)
    if not n * low <= total <= n * high:
        raise SeedError(f"Cannot split {total} into {n} parts of {low} to {high}.")
    result = [low] * n
    remaining = total - n * low
    capped: set[int] = set()
    while True:
        free = [i for i in range(n) if i not in capped]
        weight_sum = sum(weights[i] for i in free)
        over = [i for i in free if remaining * weights[i] > (high - low) * weight_sum]
        if not over:
            break
        for i in over:
            capped.add(i)
            result[i] = high
            remaining -= high - low
    if not free or not remaining:
        return result
    shares = {i: divmod(remaining * weights[i], weight_sum) for i in free}
    for i in free:
        result[i] += shares[i][0]
    leftover = remaining - sum(quotient for quotient, _ in shares.values())
    for i in sorted(free, key=lambda i: (-shares[i][1], i))[:leftover]:
        result[i] += 1
    return result


def _plan_blocks(
    *, rng: random.Random, provider_index: int, provider: _ProviderPlan, flagship: bool
) -> list[tuple[int, list[str]]]:
    offered = _PROFILES[provider.profile].types
    remaining = provider.line_quota
    blocks: list[tuple[int, list[str]]] = []
    if flagship:  # one line of every adult service type at least, so every filter has something
        blocks += [(provider_index, [code]) for code in ADULT_TYPE_CODES]
        remaining -= len(ADULT_TYPE_CODES)
    while remaining > 0:
        largest = min(len(offered), 3, remaining)
        size = rng.choices((1, 2, 3)[:largest], weights=(70, 22, 8)[:largest])[0]
        pool = list(offered)
        codes = []
        for _ in range(size):
            code = rng.choices([c for c, _ in pool], weights=[w for _, w in pool])[0]
            codes.append(code)
            pool = [(c, w) for c, w in pool if c != code]
        blocks.append((provider_index, codes))
        remaining -= size
    return blocks


def _person_name(*, rng: random.Random, born: dt.date) -> tuple[str, str]:
    """(first name, surname), from one group of names, of the person's generation."""
    _weight, older, younger, surnames = rng.choices(NAME_GROUPS, weights=_NAME_GROUP_WEIGHTS)[0]
    return rng.choice(older if born.year < 1960 else younger), rng.choice(surnames)


def _plan_adult(*, rng: random.Random, today: dt.date) -> _PersonPlan:
    """Mostly older people; always over 18. About 1.5% have died, within the last six months."""
    if rng.random() < 0.72:
        age_days = rng.randint(65 * 365 + 17, 99 * 365)
    else:
        age_days = rng.randint(19 * 365 + 5, 64 * 365)
    born = today - dt.timedelta(days=age_days)
    deceased_on = today - dt.timedelta(days=rng.randint(1, 180)) if rng.random() < 0.015 else None
    return _PersonPlan(" ".join(_person_name(rng=rng, born=born)), born, deceased_on)


def _plan_child(*, rng: random.Random, today: dt.date) -> _PersonPlan:
    """A child in care: aged two months to (just under) 17 today, so under 18 for a while yet."""
    born = today - dt.timedelta(days=rng.randint(60, 17 * 365))
    return _PersonPlan(" ".join(_person_name(rng=rng, born=born)), born)


def _fill_line(
    *,
    rng: random.Random,
    line: _LinePlan,
    provider: _ProviderPlan,
    person: _PersonPlan,
    today: dt.date,
    rates: dict[tuple[int, str], int],
) -> None:
    """Quantities, rate, dates and status of one line, consistent with its provider and person."""
    spec = _SPEC_BY_CODE[line.type_code]
    if line.type_code == "HOMESUP":
        quarters = rng.choice(_HOME_SUPPORT_VISITS) * rng.choice(_HOME_SUPPORT_VISIT_QUARTERS)
        line.planned_per_week = quarters * _QUARTER
    else:
        line.planned_per_week = rng.randint(*spec.planned_steps) * spec.step

    # A provider has one contracted rate per service type; a fifth of lines differ (older or complex),
    # staying within the framework's range.
    low, high = _RESIDENTIAL_RATE_PENCE if provider.profile == "residential" else spec.rate_pence
    key = (line.provider, line.type_code)
    if key not in rates:
        rates[key] = rng.randint(low, high)
    pence = rates[key]
    if rng.random() < 0.2:
        pence = min(high, max(low, pence + rng.randint(-pence // 15, pence // 15)))
    line.rate = Decimal(pence).scaleb(-2)

    yesterday = today - dt.timedelta(days=1)
    earliest = max(person.date_of_birth, today - dt.timedelta(days=HISTORY_DAYS))
    if not provider.active:
        status = _Status.ENDED
    elif person.deceased_on is not None:
        # Brokerage ends most lines at the death; some are not ended yet (the portal flags them).
        status = _Status.ENDED if rng.random() < 0.7 else _Status.ACTIVE
    else:
        roll = rng.random()
        status = _Status.ENDED if roll < 0.11 else _Status.SUSPENDED if roll < 0.17 else _Status.ACTIVE
    latest = person.deceased_on or (yesterday if status == _Status.ENDED else today)
    line.start_date = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
    line.status = status
    if status == _Status.ENDED:
        line.end_date = person.deceased_on or line.start_date + dt.timedelta(
            days=rng.randint(0, (yesterday - line.start_date).days)
        )
    elif person.deceased_on is None and rng.random() < 0.15:
        line.end_date = today + dt.timedelta(days=rng.randint(7, 365))
