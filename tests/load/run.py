"""`make load`: the Tuesday peak (issue 10) on this machine, from nothing to a report, bounded in time.

1. Two databases of its own, dropped and created afresh: `portal_load` (LOAD_DATABASE_URL; its name must
   contain "load") and `portal_load_backoffice` for the simulated back office, which is migrated and
   seeded with the `load` council (`seed_backoffice --scale load`, today's date) while the portal's is
   migrated and its static files collected.
2. On 127.0.0.1, free ports, every process in a session of its own: a Redis of its own (broker and
   cache), the simulator (gunicorn, 2 gthread workers × 8 threads, as docker-compose), then the data set
   (tests/load/dataset.py: the portal pulls the council, 200 providers get a login and two unconfirmed
   weeks of 20 lines), then the portal as docker-compose runs it: gunicorn with 2 workers, a Celery
   worker and Celery beat, all with PORTAL_ENV=production (locustfile.py says how the client stands in
   for the TLS proxy).
3. locust, headless, twice: the knee (users in steps, the week's work without confirming) and the peak
   (200 users arriving at 10 a second, each signing in once and confirming its two weeks, then reading),
   each with a hard time limit.
4. The report: confirmed weeks a minute, p50 / p95 / p99 per page, errors, the knee, what the back office
   received, CPU by process; written to var/load.json and docs/benchmarks.md (between the load markers),
   the processes' logs kept in var/load/.

Everything it started is stopped by process group when it ends, fails or is interrupted.

    python -m tests.load.run [--users 200] [--run-time 165] [--knee-steps 200:25,400:35,600:35,800:35]
                             [--no-knee] [--think 2,6] [--typing 6,14] [--web-workers 2] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

from tests.backoffice_process import free_port
from tests.benchmarks.harness import commit_description, machine_description
from tests.workers import Redis, kill_group, poll, tail, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_load"
JSON_PATH = ROOT / "var" / "load.json"
LOGS = ROOT / "var" / "load"
DOCS_PATH = ROOT / "docs" / "benchmarks.md"
MARK_START = "<!-- load:results:start (written by `make load`; edits here are overwritten) -->"
MARK_END = "<!-- load:results:end -->"
SEED = 2026
SETUP_TIMEOUT = 300
GOAL_WEEKS_A_MINUTE = 50
GOAL_P95_MS = 500
KNEE_MS = 1000
PROVIDERS = 200  # the data set's providers, one user each (and colleagues for the knee's steps beyond)
SIGN_IN = "sign-in"
# gunicorn's default access log line and the time it spent on the request (µs: from the request read to
# the response written, so without the wait in the listen queue that the client's figure includes).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'


# Processes ---------------------------------------------------------------------------------------


@dataclass
class Stack:
    """Every long-running process the run starts, each the leader of a session of its own."""

    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: Redis | None = None

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (LOGS / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None

    def stop(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            kill_group(process)  # SIGKILL whatever of the group is left
            print(f"load: stopped {name}")
        if self.redis is not None:
            self.redis.stop()
            print("load: stopped redis")


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SETUP_TIMEOUT, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"load: {what} failed ({done.returncode})")
    return done.stdout


def _parallel(*jobs: tuple[str, list[list[str]], dict[str, str]]) -> None:
    """Run each job's commands one after another, the jobs side by side; fail if any fails."""
    running = []
    for what, commands, env in jobs:
        script = " && ".join(subprocess.list2cmdline(command) for command in commands)
        log = (LOGS / f"setup-{what}.log").open("w")
        running.append(
            (what, log, subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stdout=log, stderr=log))
        )
    failed = []
    for what, log, process in running:
        try:
            code = process.wait(timeout=SETUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = -9
        log.close()
        if code:
            failed.append(what)
            sys.stderr.write(tail(LOGS / f"setup-{what}.log", 4000))
    if failed:
        raise SystemExit(f"load: {', '.join(failed)} failed")


def _cpu_seconds(pgid: int) -> float:
    """CPU (user + system) of the live processes of a process group, and of its leader's reaped children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields[2] is the process group (field 5 of stat)
            total += int(fields[11]) + int(fields[12])
            if int(stat.parent.name) == pgid:
                total += int(fields[13]) + int(fields[14])
    return total / ticks


def _postgres_cpu_seconds() -> float:
    """The whole PostgreSQL server's CPU (other databases' work too): every postgres process's, and the
    exited backends' that the postmaster (the one whose parent is not postgres) has collected."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if head.endswith("(postgres"):
            stats[int(stat.parent.name)] = rest.split()
    total = 0
    for fields in stats.values():
        total += int(fields[11]) + int(fields[12])
        if int(fields[1]) not in stats:  # the postmaster: its parent is not a postgres process
            total += int(fields[13]) + int(fields[14])
    return total / ticks


def _machine_cpu_seconds() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(value) for value in fields[:8]) - int(fields[3]) - int(fields[4])  # less idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


# Databases ---------------------------------------------------------------------------------------


def _config() -> tuple[str, dict[str, Any]]:
    url = os.environ.get("LOAD_DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The load test runs on PostgreSQL: LOAD_DATABASE_URL must be a postgres:// URL.")
    if "load" not in name:
        raise SystemExit(f"Refusing to drop database {name!r}: a load test database's name contains 'load'.")
    return url, {
        "name": name,
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
    }


def _connect(config: dict[str, Any], dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        dbname=dbname,
        host=config["host"],
        port=config["port"],
        user=config["user"],
        password=config["password"],
        autocommit=True,
        connect_timeout=10,
    )


def _recreate(config: dict[str, Any], *names: str) -> None:
    with _connect(config, "postgres") as connection:
        for name in names:
            assert "load" in name, name
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


# locust ------------------------------------------------------------------------------------------


@dataclass
class LocustRun:
    mode: str
    started: float
    seconds: float
    returncode: int
    records: list[tuple[float, str, float, bool, str]]
    cpu: dict[str, float]
    log: Path


def _locust(
    *,
    mode: str,
    host: str,
    logins: Path,
    users: int,
    run_time: float,
    think: str,
    typing: str,
    knee_steps: str,
    stack: Stack,
) -> LocustRun:
    results = LOGS / f"locust-{mode}.json"
    results.unlink(missing_ok=True)
    log = LOGS / f"locust-{mode}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "DATABASE_URL"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "LOAD_LOGINS": str(logins),
        "LOAD_MODE": mode,
        "LOAD_RESULTS": str(results),
        "LOAD_THINK": think,
        "LOAD_TYPING": typing,
        "LOAD_KNEE_STEPS": knee_steps,
    }
    command = [
        str(BIN / "locust"), "-f", str(ROOT / "tests" / "load" / "locustfile.py"), "--headless",
        "--host", host, "-u", str(users), "-r", "10", "--run-time", f"{int(run_time)}s",
        "--stop-timeout", "5", "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    groups = {name: process.pid for name, process in stack.processes.items()}
    before = {name: _cpu_seconds(pgid) for name, pgid in groups.items()}
    before["postgres"], before["machine"] = _postgres_cpu_seconds(), _machine_cpu_seconds()
    started = time.time()
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + run_time + 60
    rusage = None
    try:
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                print(f"load: locust ({mode}) overran its time: stopping it", file=sys.stderr)
                kill_group(process, signal.SIGINT, wait=15)
                break
            time.sleep(0.5)
    finally:
        kill_group(process)
    seconds = time.time() - started
    cpu = {name: _cpu_seconds(pgid) - before[name] for name, pgid in groups.items()}
    cpu["postgres"] = _postgres_cpu_seconds() - before["postgres"]
    cpu["locust"] = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
    cpu["machine"] = _machine_cpu_seconds() - before["machine"]
    if not results.exists():
        raise SystemExit(f"load: locust ({mode}) wrote no results:\n{tail(log)}")
    records = [tuple(record) for record in json.loads(results.read_text())["records"]]
    return LocustRun(mode, started, seconds, process.returncode or 0, records, cpu, log)  # type: ignore[arg-type]


# Figures -----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0–100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceiling of n·q/100, at least 1
    return ordered[int(rank) - 1]


PAGE_ORDER = [
    "sign-in: login page", "sign-in: password", "sign-in: code page", "sign-in: code", "checklist", "week",
    "line: open", "line: save", "claim form", "confirm page", "confirm", "scheduled payments",
]  # fmt: skip


def page_table(records: Iterable[tuple[float, str, float, bool, str]]) -> list[dict[str, Any]]:
    by_name: dict[str, list[tuple[float, bool, str]]] = defaultdict(list)
    for _end, name, ms, ok, error in records:
        by_name[name].append((ms, ok, error))
    rows = []
    for name in sorted(by_name, key=lambda n: (PAGE_ORDER.index(n) if n in PAGE_ORDER else 99, n)):
        entries = by_name[name]
        times = [ms for ms, _ok, _error in entries]
        errors = [error for _ms, ok, error in entries if not ok]
        rows.append(
            {
                "page": name,
                "requests": len(entries),
                "errors": len(errors),
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "p99_ms": percentile(times, 99),
                "max_ms": max(times),
                "error_examples": sorted(set(errors))[:3],
                "goal_p95_ms": None if name.startswith(SIGN_IN) else GOAL_P95_MS,
            }
        )
    return rows


def _start_of(records: list[tuple[float, str, float, bool, str]]) -> float:
    return min(end - ms / 1000 for end, _name, ms, _ok, _error in records)


def timeline(
    records: list[tuple[float, str, float, bool, str]], *, bucket: float = 15
) -> list[dict[str, Any]]:
    start = _start_of(records)
    buckets: dict[int, list[tuple[str, float, bool]]] = defaultdict(list)
    for end, name, ms, ok, _error in records:
        buckets[int((end - start) // bucket)].append((name, ms, ok))
    rows = []
    for index in sorted(buckets):
        entries = buckets[index]
        pages = [ms for name, ms, _ok in entries if not name.startswith(SIGN_IN)]
        rows.append(
            {
                "from_s": int(index * bucket),
                "requests_a_second": round(len(entries) / bucket, 1),
                "sign_ins": sum(1 for name, _ms, ok in entries if name == "sign-in: code" and ok),
                "confirmed": sum(1 for name, _ms, ok in entries if name == "confirm" and ok),
                "pages_p95_ms": percentile(pages, 95),
                "errors": sum(1 for _name, _ms, ok in entries if not ok),
            }
        )
    return rows


def peak_figures(run: LocustRun, weeks_expected: int) -> dict[str, Any]:
    records = run.records
    start = _start_of(records)
    confirms = sorted(end for end, name, _ms, ok, _error in records if name == "confirm" and ok)
    signed_in = sorted(end for end, name, _ms, ok, _error in records if name == "sign-in: code" and ok)
    if confirms:
        last = confirms[-1] if len(confirms) == weeks_expected else start + run.seconds
        minutes = (last - start) / 60
        rate = len(confirms) / minutes if minutes > 0 else None
        window = 0
        j = 0
        for i, moment in enumerate(confirms):  # the busiest 60 seconds
            while confirms[j] < moment - 60:
                j += 1
            window = max(window, i - j + 1)
    else:
        last, rate, window = None, 0.0, 0
    pages = page_table(records)
    return {
        "users_signed_in": len(signed_in),
        "sign_ins_done_at_s": round(signed_in[-1] - start, 1) if signed_in else None,
        "weeks_confirmed": len(confirms),
        "weeks_expected": weeks_expected,
        "all_confirmed_at_s": round(confirms[-1] - start, 1) if len(confirms) == weeks_expected else None,
        "confirmed_weeks_a_minute": round(rate, 1) if rate is not None else None,
        "busiest_minute_weeks": window,
        "requests": len(records),
        "errors": sum(row["errors"] for row in pages),
        "requests_a_second": round(len(records) / run.seconds, 1),
        "pages": pages,
        "timeline": timeline(records),
    }


def knee_figures(run: LocustRun, steps: list[tuple[int, float]]) -> dict[str, Any]:
    """Per step: p95 of every page but sign-in, over the whole step and over the part after the step's
    own sign-ins had finished (its steady state); the knee is the first step whose steady p95 passes 1 s."""
    records = run.records
    start = _start_of(records)
    rows = []
    at = 0.0
    for users, seconds in steps:
        window = [r for r in records if start + at <= r[0] < start + at + seconds]
        sign_ins = [end for end, name, _ms, ok, _e in window if name == "sign-in: code" and ok]
        settled = max(sign_ins) if sign_ins else start + at
        steady = [r for r in window if r[0] >= settled]
        pages = [ms for _end, name, ms, _ok, _e in window if not name.startswith(SIGN_IN)]
        steady_pages = [ms for _end, name, ms, _ok, _e in steady if not name.startswith(SIGN_IN)]
        steady_seconds = start + at + seconds - settled
        rows.append(
            {
                "users": users,
                "seconds": seconds,
                "new_sign_ins": len(sign_ins),
                "pages_p50_ms": percentile(pages, 50),
                "pages_p95_ms": percentile(pages, 95),
                "steady_seconds": round(steady_seconds, 1),
                "steady_requests_a_second": round(len(steady) / steady_seconds, 1)
                if steady_seconds > 0
                else None,
                "steady_pages_p50_ms": percentile(steady_pages, 50),
                "steady_pages_p95_ms": percentile(steady_pages, 95),
                "steady_pages_p99_ms": percentile(steady_pages, 99),
                "errors": sum(1 for r in window if not r[3]),
            }
        )
        at += seconds

    def first_over(key: str) -> Any:
        return next((row["users"] for row in rows if (row[key] or 0) > KNEE_MS), None)

    return {
        "steps": rows,
        "knee_users": first_over("steady_pages_p95_ms"),
        "knee_users_with_arrivals": first_over("pages_p95_ms"),
        "knee_rule": f"p95 of every page but sign-in > {KNEE_MS} ms",
    }


def last_outbox_message(config: dict[str, Any]) -> int:
    with _connect(config, config["name"]) as connection:
        return int(
            connection.execute("SELECT coalesce(max(id), 0) FROM controcc_sync_outboxmessage").fetchone()[0]
        )


def server_facts(config: dict[str, Any], *, weeks: list[str], outbox_after: int) -> dict[str, Any]:
    """What the portal holds for the runs' weeks and their messages (not the data set's paid week)."""
    week_starts = [dt.date.fromisoformat(week) for week in weeks]
    with _connect(config, config["name"]) as connection:

        def counts(sql: str, *params: Any) -> dict[str, int]:
            return dict(connection.execute(sql, params).fetchall())

        by_state = counts(
            "SELECT state, count(*) FROM actuals_providerweek WHERE week_start = ANY(%s) GROUP BY state",
            week_starts,
        )
        late = connection.execute(
            "SELECT count(*) FROM actuals_providerweek WHERE late AND week_start = ANY(%s)", (week_starts,)
        ).fetchone()[0]
        lines = counts(
            "SELECT line.status, count(*) FROM actuals_actualline line JOIN actuals_providerweek week "
            "ON week.id = line.week_id WHERE week.week_start = ANY(%s) GROUP BY line.status",
            week_starts,
        )
        outbox = counts(
            "SELECT state, count(*) FROM controcc_sync_outboxmessage WHERE id > %s GROUP BY state",
            outbox_after,
        )
        lags = [
            row[0]
            for row in connection.execute(
                "SELECT extract(epoch FROM delivered_at - created_at) FROM controcc_sync_outboxmessage "
                "WHERE delivered_at IS NOT NULL AND id > %s",
                (outbox_after,),
            ).fetchall()
        ]
        answered: dict[str, int] = defaultdict(int)
        for (response,) in connection.execute(
            "SELECT response FROM controcc_sync_outboxmessage WHERE state = 'delivered' AND id > %s",
            (outbox_after,),
        ).fetchall():
            for line in (response or {}).get("lines", []):
                answered[line.get("status", "?")] += 1
    return {
        "weeks_by_state": by_state,
        "weeks_late": late,
        "lines_by_status": lines,
        "outbox_by_state": outbox,
        "delivery_seconds_p50": round(float(percentile([float(x) for x in lags], 50) or 0), 2)
        if lags
        else None,
        "delivery_seconds_p95": round(float(percentile([float(x) for x in lags], 95) or 0), 2)
        if lags
        else None,
        "delivery_seconds_max": round(max(float(x) for x in lags), 2) if lags else None,
        "backoffice_answers": dict(answered),
    }


ACCESS_LINE = re.compile(
    r'\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(\w+) (\S+) HTTP/[\d.]+" (\d{3}) .* (\d+)$'
)
ROUTES = [
    ("GET", re.compile(r"^/accounts/login/$"), "sign-in: login page"),
    ("POST", re.compile(r"^/accounts/login/$"), "sign-in: password"),
    ("GET", re.compile(r"^/accounts/code/"), "sign-in: code page"),
    ("POST", re.compile(r"^/accounts/code/"), "sign-in: code"),
    ("GET", re.compile(r"^/$"), "checklist"),
    ("GET", re.compile(r"^/actuals/[\d-]+/$"), "week"),
    ("GET", re.compile(r"^/actuals/[\d-]+/lines/\d+/$"), "line: open"),
    ("POST", re.compile(r"^/actuals/[\d-]+/lines/\d+/$"), "line: save"),
    ("GET", re.compile(r"^/actuals/[\d-]+/claim-form\.xlsx$"), "claim form"),
    ("GET", re.compile(r"^/actuals/[\d-]+/confirm/$"), "confirm page"),
    ("POST", re.compile(r"^/actuals/[\d-]+/confirm/$"), "confirm"),
    ("GET", re.compile(r"^/payments/scheduled/$"), "scheduled payments"),
]


def server_times(start: float, end: float) -> dict[str, dict[str, float | None]]:
    """p50 / p95 of the time gunicorn spent on each page's requests between `start` and `end` (epoch)."""
    times: dict[str, list[float]] = defaultdict(list)
    log = LOGS / "web.log"
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        found = ACCESS_LINE.search(line)
        if not found:
            continue
        moment = dt.datetime.strptime(found.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()
        if not start - 1 <= moment <= end + 1:
            continue
        method, path = found.group(2), found.group(3).split("?", 1)[0]
        for route_method, pattern, name in ROUTES:
            if method == route_method and pattern.match(path):
                times[name].append(int(found.group(5)) / 1000)
                break
    return {
        name: {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95), "n": len(values)}
        for name, values in times.items()
    }


def log_problems() -> dict[str, int]:
    """Tracebacks and 5xx answers in the server processes' logs."""
    found = {}
    for log in sorted(LOGS.glob("*.log")):
        if log.name.startswith("locust"):
            continue  # the client's own (a user that could not sign in stops with a traceback): counted above
        text = log.read_text(errors="replace")
        count = text.count("Traceback (most recent call last)")
        if log.name == "web.log":  # the run's own probes of /healthz are not the users' requests
            count += len(re.findall(r'"[A-Z]+ (?!/healthz)\S* HTTP/[\d.]+" 5\d\d ', text))
        if count:
            found[log.name] = count
    return found


# Report ------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def render(report: dict[str, Any]) -> str:
    peak = report.get("peak")
    knee = report.get("knee")
    lines = [
        MARK_START,
        "",
        f"Run of {report['date']} on {report['machine']}; commit {report['commit']}; load average "
        f"{report['load_start']} at the start, {report['load_end']} at the end (other engineers share the "
        f"machine). A person's pace: {report['think']} s reading each page, {report['typing']} s filling in a "
        f"line; {report['web_workers']} gunicorn workers. "
        f"Set-up took {report['setup_seconds']:.0f} s.",
        "",
    ]
    if peak:
        met = report["goals"]
        lines += [
            f"**The peak**: {report['users']} users arriving at 10 a second for {peak['seconds']:.0f} s. "
            f"{peak['users_signed_in']} signed in (the last at {peak['sign_ins_done_at_s']} s); "
            f"**{peak['weeks_confirmed']} of {peak['weeks_expected']} weeks confirmed**"
            + (f", the last at {peak['all_confirmed_at_s']} s" if peak["all_confirmed_at_s"] else "")
            + f": **{peak['confirmed_weeks_a_minute']} confirmed weeks a minute** "
            f"(goal ≥ {GOAL_WEEKS_A_MINUTE}: {'met' if met['throughput'] else 'missed'}; the busiest minute "
            f"{peak['busiest_minute_weeks']}); {peak['requests']:,} requests ({peak['requests_a_second']} a "
            f"second), **{peak['errors']} errors** (goal none: {'met' if met['errors'] else 'missed'}); p95 under "
            f"{GOAL_P95_MS} ms on every page but sign-in: **{'met' if met['p95'] else 'missed'}**.",
            "",
            "| page | requests | errors | p50 ms | p95 ms | p99 ms | max ms | served in, p50 / p95 ms | goal |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in peak["pages"]:
            goal = (
                "–"
                if row["goal_p95_ms"] is None
                else (
                    f"p95 < {row['goal_p95_ms']}: {'met' if (row['p95_ms'] or 0) < row['goal_p95_ms'] else 'missed'}"
                )
            )
            lines.append(
                f"| {row['page']} | {row['requests']:,} | {row['errors']} | {_ms(row['p50_ms'])} | "
                f"{_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} | "
                f"{_ms(row.get('server_p50_ms'))} / {_ms(row.get('server_p95_ms'))} | {goal} |"
            )
        errors = [
            f"{row['page']}: {'; '.join(row['error_examples'])}" for row in peak["pages"] if row["errors"]
        ]
        if errors:
            lines += ["", "Errors: " + " · ".join(errors)]
        lines += [
            "",
            "Over time (15 s buckets from the first request):",
            "",
            "| from s | requests/s | sign-ins | weeks confirmed | p95 ms, pages but sign-in | errors |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in peak["timeline"]:
            lines.append(
                f"| {row['from_s']} | {row['requests_a_second']} | {row['sign_ins']} | {row['confirmed']} | "
                f"{_ms(row['pages_p95_ms'])} | {row['errors']} |"
            )
        lines += ["", _cpu_text("the peak", peak["cpu_seconds"], peak["seconds"])]
        server = report["server"]
        lines += [
            "",
            f"Afterwards in the portal: weeks {server['weeks_by_state']} ({server['weeks_late']} late); "
            f"lines {server['lines_by_status']}; outbox {server['outbox_by_state']}, delivered "
            f"{server['delivery_seconds_p50']} s after the confirmation at the median, "
            f"{server['delivery_seconds_p95']} s at p95, {server['delivery_seconds_max']} s at most; the back "
            f"office answered {server['backoffice_answers']} for the lines. Tracebacks or 5xx in the logs: "
            f"{report['log_problems'] or 'none'}.",
        ]
    if knee:
        lines += [
            "",
            f"**The knee** ({knee['knee_rule']}): signed-in users working steadily, "
            + (
                f"**{knee['knee_users']} users**"
                if knee["knee_users"]
                else f"**not reached up to {knee['steps'][-1]['users']} users**"
            )
            + "; counting the step's own arrivals (their sign-in), "
            + (
                f"**{knee['knee_users_with_arrivals']} users**."
                if knee["knee_users_with_arrivals"]
                else f"not reached up to {knee['steps'][-1]['users']} users."
            ),
            "",
            "| users | seconds | new sign-ins | p50 / p95 ms, whole step | steady s | steady requests/s | steady p50 / p95 / p99 ms | errors |",
            "|---:|---:|---:|---|---:|---:|---|---:|",
        ]
        for row in knee["steps"]:
            lines.append(
                f"| {row['users']} | {row['seconds']:.0f} | {row['new_sign_ins']} | {_ms(row['pages_p50_ms'])} / "
                f"{_ms(row['pages_p95_ms'])} | {row['steady_seconds']} | {row['steady_requests_a_second']} | "
                f"{_ms(row['steady_pages_p50_ms'])} / {_ms(row['steady_pages_p95_ms'])} / "
                f"{_ms(row['steady_pages_p99_ms'])} | {row['errors']} |"
            )
        lines += ["", _cpu_text("the knee run", knee["cpu_seconds"], knee["seconds"])]
    lines += ["", MARK_END]
    return "\n".join(lines)


def _cpu_text(what: str, cpu: dict[str, float], seconds: float) -> str:
    total = cpu.get("machine") or 1
    return (
        f"CPU during {what} ({seconds:.0f} s, so at most {2 * seconds:.0f} core-seconds on 2 cores), "
        "in core-seconds and shares of what the machine used: "
        + ", ".join(
            f"{name} {value:.0f} ({100 * value / total:.0f} %)"
            for name, value in sorted(cpu.items(), key=lambda item: -item[1])
            if name != "machine"
        )
        + f"; the machine {total:.0f} in all (PostgreSQL counts the whole server; the rest is other work)."
    )


def rewrite_docs(block: str, path: Path = DOCS_PATH) -> None:
    text = path.read_text()
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start == -1 or end == -1:
        raise SystemExit(f"load: the load markers are missing from {path}")
    path.write_text(text[:start] + block + text[end + len(MARK_END) :])


# The run -----------------------------------------------------------------------------------------


def _steps(text: str) -> list[tuple[int, float]]:
    return [(int(users), float(seconds)) for users, seconds in (part.split(":") for part in text.split(","))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load.run", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--run-time", type=float, default=165, help="seconds of the peak run")
    parser.add_argument("--knee-steps", default="200:25,400:35,600:35,800:35", help="users:seconds,...")
    parser.add_argument("--no-knee", action="store_true")
    parser.add_argument("--think", default="2,6", help="reading a page before acting: min,max seconds")
    parser.add_argument("--typing", default="6,14", help="filling in a line's form: min,max seconds")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no files")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="gunicorn workers of the portal (docker-compose: 2)"
    )
    args = parser.parse_args(argv)
    steps = _steps(args.knee_steps)
    if not args.no_knee and sum(seconds for _users, seconds in steps) + args.run_time > 300:
        raise SystemExit("load: the two locust runs must fit in 5 minutes together")

    most_users = 0 if args.no_knee else max(users for users, _seconds in steps)
    colleagues = max(0, -(-most_users // PROVIDERS) - 1)  # the knee's people beyond one per provider
    url, config = _config()
    backoffice_db = f"{config['name']}_backoffice"
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*"):
        old.unlink()
    started_at = dt.datetime.now(dt.UTC)
    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    clock = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    web_port, backoffice_port = free_port(), free_port()
    token = secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(48)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "PORTAL_", "BACKOFFICE_", "CELERY_", "CACHE_", "EMAIL_", "DATABASE_URL")
        )
    }
    stack = Stack()
    try:
        _recreate(config, config["name"], backoffice_db)
        backoffice_env = base | {
            "PORTAL_ENV": "production",
            "SECRET_KEY": secret,
            "BACKOFFICE_DATABASE_URL": _with_name(url, backoffice_db),
            "BACKOFFICE_TOKEN": token,
            "BACKOFFICE_ALLOWED_HOSTS": "127.0.0.1",
            "BACKOFFICE_SIM_CONTROLS": "on",  # the data set's payment run (POST /sim/payment-runs)
            "PORTAL_VAR_DIR": str(folder / "backoffice"),
        }
        stack.redis = Redis.on_free_port(folder / "redis")
        portal_env = base | {
            "PORTAL_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": secret,
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": stack.redis.url(0),
            "CACHE_URL": stack.redis.url(1),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEFAULT_FROM_EMAIL": "Provider portal <no-reply@load.example.org>",
            "PORTAL_BASE_URL": f"https://127.0.0.1:{web_port}",
            "BACKOFFICE_URL": f"http://127.0.0.1:{backoffice_port}",
            "BACKOFFICE_TOKEN": token,
            "TRUSTED_PROXY_COUNT": "1",  # the client stands where the TLS proxy would (locustfile.py)
            "STATIC_ROOT": str(folder / "static"),
            "PORTAL_VAR_DIR": str(folder / "var"),
            "EMAIL_FILE_PATH": str(folder / "mail"),
        }
        sim = [sys.executable, "-m", "contrOCC_sync.simulator.manage"]
        manage = [sys.executable, "manage.py"]
        _parallel(
            (
                "backoffice",
                [
                    [*sim, "migrate", "--no-input", "-v", "0"],
                    [*sim, "seed_backoffice", "--scale", "load", "--seed", str(SEED)],
                ],
                backoffice_env,
            ),
            (
                "portal",
                [
                    [*manage, "migrate", "--no-input", "-v", "0"],
                    [*manage, "collectstatic", "--no-input", "-v", "0"],
                ],
                portal_env,
            ),
        )
        print(f"load: databases created, migrated and seeded in {time.monotonic() - clock:.0f} s")
        stack.start(
            "backoffice",
            [str(BIN / "gunicorn"), "contrOCC_sync.simulator.wsgi", "--bind", f"127.0.0.1:{backoffice_port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
             "--access-logfile", "-"],
            backoffice_env,
        )  # fmt: skip

        def backoffice_up() -> bool:
            if not stack.alive("backoffice"):
                raise SystemExit(f"load: the back office exited:\n{tail(LOGS / 'backoffice.log')}")
            try:
                return requests.get(
                    f"http://127.0.0.1:{backoffice_port}/api/v1/health",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=2,
                ).ok
            except requests.RequestException:
                return False

        wait_until(backoffice_up, seconds=60, what="the back office", every=0.3)
        logins = folder / "logins.json"
        print(
            _run(
                [
                    *(sys.executable, "-m", "tests.load.dataset", "--logins", str(logins)),
                    *("--providers", str(PROVIDERS), "--colleagues", str(colleagues)),
                ],
                portal_env,
                "the data set",
            ).strip()
        )
        with _connect(config, config["name"]) as connection:
            connection.execute("VACUUM ANALYZE")
        with _connect(config, backoffice_db) as connection:
            connection.execute("VACUUM ANALYZE")
        data = json.loads(logins.read_text())
        outbox_after = last_outbox_message(config)  # the data set's own messages are not the runs'

        stack.start(
            "web",
            [str(BIN / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{web_port}",
             "--workers", str(args.web_workers), "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT],
            portal_env,
        )  # fmt: skip
        stack.start(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "--loglevel",
                "INFO",
                "--hostname",
                "load-worker@%h",
            ],
            portal_env,
        )
        stack.start(
            "beat",
            [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO",
             "--schedule", str(folder / "celerybeat-schedule")],
            portal_env,
        )  # fmt: skip

        def web_up() -> bool:
            for name in ("web", "worker", "beat"):
                if not stack.alive(name):
                    raise SystemExit(f"load: {name} exited:\n{tail(LOGS / f'{name}.log')}")
            try:
                requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=2)
            except requests.RequestException:
                return False
            return " ready." in (LOGS / "worker.log").read_text(errors="replace")

        wait_until(web_up, seconds=60, what="the portal's web and worker", every=0.3)
        setup_seconds = time.monotonic() - clock
        print(f"load: the stack is up on 127.0.0.1:{web_port} after {setup_seconds:.0f} s")

        host = f"http://127.0.0.1:{web_port}"
        report: dict[str, Any] = {
            "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_description(_server_version(config)),
            "commit": commit_description(),
            "users": args.users,
            "web_workers": args.web_workers,
            "think": args.think,
            "typing": args.typing,
            "setup_seconds": round(setup_seconds, 1),
            "weeks": data["weeks"],
            "providers": len(data["logins"]),
            "lines_per_week": data["lines_per_week"],
        }
        if not args.no_knee:
            knee_run = _locust(
                mode="knee",
                host=host,
                logins=logins,
                users=max(users for users, _s in steps),
                run_time=sum(seconds for _u, seconds in steps) + 5,
                think=args.think,
                typing=args.typing,
                knee_steps=args.knee_steps,
                stack=stack,
            )
            report["knee"] = knee_figures(knee_run, steps) | {
                "seconds": round(knee_run.seconds, 1),
                "cpu_seconds": _rounded(knee_run.cpu),
                "server_times": server_times(knee_run.started, knee_run.started + knee_run.seconds),
            }
            print(
                f"load: knee run done in {knee_run.seconds:.0f} s: knee at {report['knee']['knee_users']} users"
            )
        peak_run = _locust(
            mode="cycle",
            host=host,
            logins=logins,
            users=args.users,
            run_time=args.run_time,
            think=args.think,
            typing=args.typing,
            knee_steps=args.knee_steps,
            stack=stack,
        )
        weeks_expected = min(args.users, len(data["logins"])) * len(data["weeks"])
        report["peak"] = peak_figures(peak_run, weeks_expected) | {
            "seconds": round(peak_run.seconds, 1),
            "cpu_seconds": _rounded(peak_run.cpu),
        }
        served = server_times(peak_run.started, peak_run.started + peak_run.seconds)
        for row in report["peak"]["pages"]:
            row["server_p50_ms"] = served.get(row["page"], {}).get("p50_ms")
            row["server_p95_ms"] = served.get(row["page"], {}).get("p95_ms")
        # What the worker still has to deliver is delivered within seconds; wait for it, briefly.
        poll(lambda: _pending(config) == 0, seconds=30, every=1)
        report["server"] = server_facts(config, weeks=data["weeks"], outbox_after=outbox_after)
        report["log_problems"] = log_problems()
        report["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        report["load_start"] = load_start
        peak = report["peak"]
        report["goals"] = {
            "throughput": (peak["confirmed_weeks_a_minute"] or 0) >= GOAL_WEEKS_A_MINUTE,
            "p95": all((row["p95_ms"] or 0) < GOAL_P95_MS for row in peak["pages"] if row["goal_p95_ms"]),
            "errors": peak["errors"] == 0 and not report["log_problems"],
        }
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)  # the logins, Redis's folder, collected static files, mail
    block = render(report)
    print(block)
    if not args.no_write:
        JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
        JSON_PATH.write_text(json.dumps(report, indent=2, default=str) + "\n")
        rewrite_docs(block)
        print(f"load: wrote {JSON_PATH.relative_to(ROOT)} and the results in {DOCS_PATH.relative_to(ROOT)}")
    print(
        f"load: {time.monotonic() - clock:.0f} s in all; the processes' logs are in {LOGS.relative_to(ROOT)}/"
    )
    return 0 if all(report["goals"].values()) else 1


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in values.items()}


def _pending(config: dict[str, Any]) -> int:
    with _connect(config, config["name"]) as connection:
        row = connection.execute(
            "SELECT count(*) FROM controcc_sync_outboxmessage WHERE state = 'pending'"
        ).fetchone()
    return int(row[0]) if row else 0


def _server_version(config: dict[str, Any]) -> str:
    with _connect(config, config["name"]) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]).split(" ")[0] if row else "unknown"


if __name__ == "__main__":
    sys.exit(main())
