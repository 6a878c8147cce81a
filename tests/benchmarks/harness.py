"""The benchmark harness behind `make bench`: how a benchmark is declared, timed against its floor,
judged against its goal, and reported (var/benchmarks.json and the table in docs/benchmarks.md).

What must stay true:
- A benchmark measures our operation and its floor in the same process and the same run, interleaved
  (op, floor, floor, op, ...), so load from other processes on the machine falls on both alike.
- The figure is the median of several repetitions, after a warm-up that is not counted (for the page
  benchmarks; a long run that needs setting up, such as pushing 100,000 lines to the simulated back
  office, is timed a few times with `time_runs_against_floor` instead, and each run prepares itself).
- One JSON row per goal, with exactly the keys issue 10 names; `floor` and `ratio` are null for an
  absolute goal.
- Nothing here imports Django: `run.py` uses it before Django is set up.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "var" / "benchmarks.json"
DOCS_PATH = ROOT / "docs" / "benchmarks.md"
TABLE_START = "<!-- bench:table:start (written by `make bench`; edits here are overwritten) -->"
TABLE_END = "<!-- bench:table:end -->"

# The data set every benchmark runs on: seeded afresh each run into a database of its own.
SCALE = "large"
SEED = 7
TODAY = "2026-11-24"

ROW_KEYS = ("name", "unit", "value", "floor", "ratio", "goal", "better", "kind", "peak_mb")


# Declaring benchmarks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """What a figure is held against: its ratio to the floor, or the value itself."""

    target: float
    kind: Literal["ratio", "absolute"] = "ratio"
    better: Literal["lower", "higher"] = "lower"
    source: str = ""  # where the goal comes from (an issue), for the docs

    def met(self, *, value: float, ratio: float | None) -> bool:
        figure = ratio if self.kind == "ratio" else value
        if figure is None:
            return False
        return figure <= self.target if self.better == "lower" else figure >= self.target

    def describe(self) -> str:
        sign = "≤" if self.better == "lower" else "≥"
        return f"{sign} {self.target:g}×" if self.kind == "ratio" else f"{sign} {self.target:g}"


@dataclass
class Samples:
    """Timings in the benchmark's unit: our operation's, and its floor's (None for absolute goals)."""

    values: list[float]
    floor: list[float] | None = None
    notes: list[str] = field(default_factory=list)  # what the run checked (rows shown, counts), for the log


DEFAULT_TIMEOUT_SECONDS = 240  # one benchmark's process, set-up included


@dataclass(frozen=True)
class Benchmark:
    name: str
    unit: str
    what: str  # what our operation is
    floor_what: str  # what its floor is ("" when it has none)
    goals: tuple[Goal, ...]
    run: Callable[[int], Samples]  # takes the number of repetitions
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS  # its process is stopped after this
    uses_backoffice: bool = False  # needs the simulated back office's template database (run.py)


REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    *,
    name: str,
    unit: str,
    what: str,
    floor: str,
    goals: Iterable[Goal],
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    uses_backoffice: bool = False,
) -> Callable[[Callable[[int], Samples]], Callable[[int], Samples]]:
    """Register a benchmark: a function that takes the number of repetitions and returns Samples."""

    def register(func: Callable[[int], Samples]) -> Callable[[int], Samples]:
        if name in REGISTRY:
            raise ValueError(f"Two benchmarks are called {name!r}.")
        REGISTRY[name] = Benchmark(
            name, unit, what, floor, tuple(goals), func, timeout_seconds, uses_backoffice
        )
        return func

    return register


# Timing -----------------------------------------------------------------------------------------


def time_ms(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def spread_percent(values: list[float] | None) -> float | None:
    """The interquartile range as a share of the median: how much the repetitions disagreed."""
    if not values or len(values) < 4:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / median * 100 if median else None


def range_percent(values: list[float] | None) -> float | None:
    """The range (largest − smallest) as a share of the median: the spread of 2 or 3 repetitions, where
    quartiles mean nothing."""
    if not values or len(values) < 2:
        return None
    median = statistics.median(values)
    return (max(values) - min(values)) / median * 100 if median else None


def spread_or_range(values: list[float] | None) -> tuple[float | None, str]:
    """The spread the table shows: the interquartile range from 4 repetitions, else the range."""
    if values and len(values) >= 4:
        return spread_percent(values), "IQR"
    return range_percent(values), "range"


NOISY_SPREAD_PERCENT = 25.0
MAX_ATTEMPTS = 3


def _attempt(
    operation: Callable[[], object], floor: Callable[[], object], *, repetitions: int, deadline: float
) -> Samples:
    values: list[float] = []
    floors: list[float] = []
    for round_number in range(repetitions):
        if round_number % 2:
            floors.append(time_ms(floor))
            values.append(time_ms(operation))
        else:
            values.append(time_ms(operation))
            floors.append(time_ms(floor))
        if len(values) >= 5 and time.monotonic() > deadline:
            break
    return Samples(values=values, floor=floors)


def _worst_spread(samples: Samples) -> float:
    spreads = [spread_percent(samples.values), spread_percent(samples.floor)]
    return max((spread for spread in spreads if spread is not None), default=0.0)


def time_against_floor(
    operation: Callable[[], object],
    floor: Callable[[], object],
    *,
    repetitions: int,
    warmup: int = 3,
    budget_seconds: float = 90.0,
) -> Samples:
    """Time `operation` and `floor` alternately, `repetitions` times each; the order flips every round
    so neither always runs on a warmer cache.

    This machine is shared: when other work makes the repetitions disagree (an interquartile range
    above NOISY_SPREAD_PERCENT of the median), the whole attempt is made again, up to MAX_ATTEMPTS
    times, and the steadiest attempt is kept. Every attempt is logged in the notes; the table still
    flags a run whose kept attempt was noisy. Within the time budget an attempt stops early, after at
    least 5 repetitions."""
    for _ in range(warmup):
        operation()
        floor()
    deadline = time.monotonic() + budget_seconds
    attempts: list[Samples] = []
    while len(attempts) < MAX_ATTEMPTS and time.monotonic() < deadline:
        attempts.append(_attempt(operation, floor, repetitions=repetitions, deadline=deadline))
        if _worst_spread(attempts[-1]) <= NOISY_SPREAD_PERCENT:
            break
    kept = min(attempts, key=_worst_spread)
    if len(attempts) > 1:
        spreads = ", ".join(f"{_worst_spread(attempt):.0f} %" for attempt in attempts)
        kept.notes.append(
            f"{len(attempts)} attempts (worst spreads {spreads}): kept attempt {attempts.index(kept) + 1}"
        )
    return kept


def time_runs_against_floor(
    operation: Callable[[], float],
    floor: Callable[[], float],
    *,
    repetitions: int,
    budget_seconds: float,
) -> Samples:
    """For long runs (a minute or more each) that need setting up: `operation` and `floor` each prepare
    what they need (untimed), time their own run and return its figure in the benchmark's unit. They
    alternate op, floor, floor, op, … like `time_against_floor`, without a separate warm-up (each run is
    long enough to warm itself) and without repeated attempts. A new pair starts only if it should end
    within `budget_seconds` of the first start (judged by the slowest pair so far), so a busy machine
    gets fewer repetitions, never fewer than one of each."""
    values: list[float] = []
    floors: list[float] = []
    notes: list[str] = []
    started = time.monotonic()
    slowest_pair = 0.0
    for round_number in range(max(1, repetitions)):
        if round_number and time.monotonic() - started + slowest_pair > budget_seconds:
            notes.append(
                f"stopped after {round_number} of {repetitions} repetitions: the next would pass the "
                f"{budget_seconds:.0f} s budget"
            )
            break
        pair_started = time.monotonic()
        if round_number % 2:
            floors.append(floor())
            values.append(operation())
        else:
            values.append(operation())
            floors.append(floor())
        slowest_pair = max(slowest_pair, time.monotonic() - pair_started)
    ratios = ", ".join(f"{value / floor:.2f}×" for value, floor in zip(values, floors, strict=True) if floor)
    notes.append(f"each pair's ratio (our run / the floor run next to it): {ratios}")
    return Samples(values=values, floor=floors, notes=notes)


# Memory -----------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident memory now (VmRSS), where /proc has it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


# Results ----------------------------------------------------------------------------------------


@dataclass
class Result:
    """One benchmark's outcome, as a child process reports it to the runner."""

    name: str
    values: list[float]
    floor: list[float] | None
    peak_mb: float
    start_mb: float
    notes: list[str]
    seconds: float
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(**data)


def rows_for(bench: Benchmark, result: Result) -> list[dict[str, Any]]:
    """The JSON rows of one benchmark: one per goal (issue 10)."""
    rows = []
    value = round(statistics.median(result.values), 2) if result.values else None
    floor = round(statistics.median(result.floor), 2) if result.floor else None
    for goal in bench.goals:
        ratio = round(value / floor, 2) if value is not None and floor else None
        absolute = goal.kind == "absolute"
        rows.append(
            {
                "name": bench.name,
                "unit": bench.unit,
                "value": value,
                "floor": None if absolute else floor,
                "ratio": None if absolute else ratio,
                "goal": goal.target,
                "better": goal.better,
                "kind": goal.kind,
                "peak_mb": round(result.peak_mb, 1),
            }
        )
    assert all(tuple(row) == ROW_KEYS for row in rows)
    return rows


def row_met(row: dict[str, Any]) -> bool:
    if row["value"] is None:
        return False
    goal = Goal(target=row["goal"], kind=row["kind"], better=row["better"])
    return goal.met(value=row["value"], ratio=row["ratio"])


# The machine and the commit, for the table's heading -------------------------------------------


def _first_match(path: str, pattern: str) -> str:
    try:
        match = re.search(pattern, Path(path).read_text(), re.MULTILINE)
    except OSError:
        return ""
    return match.group(1).strip() if match else ""


def machine_description(database_version: str) -> str:
    cpu = _first_match("/proc/cpuinfo", r"^model name\s*:\s*(.+)$") or platform.processor() or "unknown CPU"
    mem_kib = _first_match("/proc/meminfo", r"^MemTotal:\s*(\d+)")
    memory = f", {int(mem_kib) / 1024 / 1024:.0f} GiB RAM" if mem_kib else ""
    return (
        f"{os.cpu_count()} × {cpu}{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; PostgreSQL {database_version}"
    )


def commit_description() -> str:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit} with uncommitted changes" if git("status", "--porcelain") else commit


# The docs table ---------------------------------------------------------------------------------


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}{unit}" if value < 100 else f"{value:,.1f}{unit}"


def render_table(
    rows: list[dict[str, Any]],
    results: dict[str, Result],
    *,
    machine: str,
    started: dt.datetime,
    commit: str,
    repetitions: int,
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
) -> str:
    lines = [
        TABLE_START,
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC, commit `{commit}`, up to {repetitions} repetitions a figure "
        f"(median; the runs column says how many), `{SCALE}` council seeded with `--seed {SEED} --today {TODAY}`.",
        f"Machine: {machine}. Load average (1 min) {load_start[0]:.2f} when the run started, "
        f"{load_end[0]:.2f} when it ended.",
        "",
        "| benchmark | median | floor | ratio | goal | runs | spread | peak RSS | RSS at start | result |",
        "|---|--:|--:|--:|:-:|--:|--:|--:|--:|:-:|",
    ]
    noisy = False
    for row in rows:
        result = results.get(row["name"])
        unit = f" {row['unit']}"
        if result is not None and result.error:
            verdict = "**failed to run**"
        else:
            verdict = "met" if row_met(row) else "**missed**"
        goal = Goal(target=row["goal"], kind=row["kind"], better=row["better"]).describe()
        if row["kind"] == "absolute":
            goal += unit
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        start = "–" if result is None else f"{result.start_mb:.0f} MB"
        measured = [] if result is None else [spread_or_range(result.values), spread_or_range(result.floor)]
        spreads = [value for value, _ in measured]
        noisy = noisy or any(value is not None and value > NOISY_SPREAD_PERCENT for value in spreads)
        spread = " / ".join("–" if value is None else f"{value:.0f} %" for value in spreads) or "–"
        if any(kind == "range" and value is not None for value, kind in measured):
            spread += " (range)"
        runs = "–" if result is None else f"{len(result.values)} / {len(result.floor or [])}"
        peak = "–" if row["peak_mb"] is None else f"{row['peak_mb']:.0f} MB"
        lines.append(
            f"| {row['name']} | {_number(row['value'], unit)} | {_number(row['floor'], unit)} | {ratio} "
            f"| {goal} | {runs} | {spread} | {peak} | {start} | {verdict} |"
        )
    lines += [
        "",
        "Runs: timed repetitions of our operation / of its floor. Spread is the interquartile range of the "
        "repetitions as a share of their median (our operation / its floor); with fewer than 4 repetitions "
        "it is the range (largest − smallest) instead, marked so.",
    ]
    if noisy:
        lines += [
            "",
            f"**Noisy run**: a spread above {NOISY_SPREAD_PERCENT:.0f} % means other work shared the machine "
            "during the run. Ratios suffer less than milliseconds, but rerun on a quiet machine before "
            "comparing.",
        ]
    lines += ["", TABLE_END]
    return "\n".join(lines)


def rewrite_docs_table(table: str, path: Path = DOCS_PATH) -> None:
    """Replace what lies between the markers in docs/benchmarks.md (append them if they are missing)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start == -1 or end == -1 or end < start:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + table + "\n"
    else:
        text = text[:start] + table + text[end + len(TABLE_END) :]
    path.write_text(text)
