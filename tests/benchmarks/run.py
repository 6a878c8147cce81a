"""`make bench`: seed the `large` council into a database of its own (and the simulated back office's
`large` council into a template database beside it, for the sync benchmarks), run every benchmark in
tests/benchmarks/bench_*.py in a fresh process of its own, write var/benchmarks.json and the table in
docs/benchmarks.md, and exit non-zero when a figure misses its goal (1) or a benchmark fails to run (2).

    python -m tests.benchmarks.run [--repetitions N] [--only TEXT] [--reuse-db]

`--only` runs the benchmarks whose name contains TEXT and prints them, writing nothing. `--reuse-db`
skips dropping and seeding the databases (for working on a benchmark; the numbers `make bench` records
always come from fresh ones).

The database comes from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portal_bench),
never from DATABASE_URL, and its name must contain "bench": it is dropped at the start of every run, and
so are `<name>_backoffice_template` and `<name>_backoffice` (tests/benchmarks/backoffice.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from tests.benchmarks.backoffice import PID_FILE_VARIABLE, connect, prepare_template, stop_leftover
from tests.benchmarks.harness import (
    DOCS_PATH,
    JSON_PATH,
    REGISTRY,
    ROOT,
    SCALE,
    SEED,
    TODAY,
    Benchmark,
    Result,
    commit_description,
    current_rss_mb,
    machine_description,
    peak_rss_mb,
    render_table,
    rewrite_docs_table,
    row_met,
    rows_for,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
DEFAULT_REPETITIONS = 50
SETUP_TIMEOUT_SECONDS = 300  # migrate and seed


def _environment() -> None:
    """Settings for every process of the run (read by portal.settings at import)."""
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    os.environ.setdefault("PORTAL_ENV", "test")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/12")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _database() -> dict[str, Any]:
    import dj_database_url

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("The benchmarks run on PostgreSQL: BENCH_DATABASE_URL must be a postgres:// URL.")
    if "bench" not in config["NAME"]:
        raise SystemExit(
            f"Refusing to drop database {config['NAME']!r}: a benchmark database's name contains 'bench'."
        )
    return dict(config)


def _database_version(config: dict[str, Any]) -> str:
    with connect(config, config["NAME"]) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]).split(" ")[0] if row else "unknown"


def _manage(*args: str) -> None:
    """A management command, quiet unless it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench: manage.py {' '.join(args)} failed ({done.returncode})")


def _prepare_database(config: dict[str, Any]) -> None:
    from psycopg import sql

    name = config["NAME"]
    started = time.monotonic()
    with connect(config, "postgres") as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _manage("migrate", "--no-input", "--verbosity", "0")
    _manage("seed_council", "--scale", SCALE, "--seed", str(SEED), "--today", TODAY)
    # Planner statistics now, as autovacuum would have made them on a live database by the time anyone
    # reads it; otherwise plans depend on whether autovacuum happened to run before the timing.
    with connect(config, name) as connection:
        connection.execute("VACUUM ANALYZE")
    print(
        f"bench: created {name}, migrated and seeded the {SCALE} council in {time.monotonic() - started:.0f} s"
    )


def _load_benchmarks() -> dict[str, Benchmark]:
    """Import every tests/benchmarks/bench_*.py; each registers its benchmarks."""
    import django

    django.setup()
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        importlib.import_module(f"tests.benchmarks.{path.stem}")
    return REGISTRY


# One benchmark, in a process of its own ---------------------------------------------------------


def _child(name: str, result_path: Path, repetitions: int) -> int:
    benchmarks = _load_benchmarks()
    start_mb = current_rss_mb()
    started = time.monotonic()
    try:
        samples = benchmarks[name].run(repetitions)
        result = Result(
            name=name,
            values=samples.values,
            floor=samples.floor,
            peak_mb=peak_rss_mb(),
            start_mb=start_mb,
            notes=samples.notes,
            seconds=time.monotonic() - started,
        )
    except Exception:
        result = Result(
            name, [], None, peak_rss_mb(), start_mb, [], time.monotonic() - started, traceback.format_exc()
        )
    result_path.write_text(json.dumps(result.to_json()))
    return 1 if result.error else 0


def _run_in_fresh_process(
    name: str, repetitions: int, timeout_seconds: int, config: dict[str, Any]
) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        result_path = Path(folder) / "result.json"
        pid_file = Path(folder) / "backoffice.pid"
        command = [sys.executable, "-m", "tests.benchmarks.run", "--child", name]
        command += ["--result", str(result_path), "--repetitions", str(repetitions)]
        env = os.environ | {PID_FILE_VARIABLE: str(pid_file)}
        started = time.monotonic()
        try:
            subprocess.run(command, cwd=ROOT, env=env, timeout=timeout_seconds, check=False)
        except subprocess.TimeoutExpired:
            return Result(
                name,
                [],
                None,
                0.0,
                0.0,
                [],
                time.monotonic() - started,
                f"timed out after {timeout_seconds} s",
            )
        finally:
            stop_leftover(pid_file, config)
        if not result_path.exists():
            return Result(name, [], None, 0.0, 0.0, [], time.monotonic() - started, "no result written")
        return Result.from_json(json.loads(result_path.read_text()))


# The run ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS)
    parser.add_argument(
        "--only", default="", help="run the benchmarks whose name contains this; write nothing"
    )
    parser.add_argument("--reuse-db", action="store_true", help="do not drop and seed the database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _environment()
    if args.child:
        return _child(args.child, Path(args.result), args.repetitions)

    started_at = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()
    config = _database()
    if not args.reuse_db:
        _prepare_database(config)
    benchmarks = [bench for name, bench in _load_benchmarks().items() if args.only in name]
    if not benchmarks:
        print(f"bench: no benchmark's name contains {args.only!r}", file=sys.stderr)
        return 2
    if any(bench.uses_backoffice for bench in benchmarks):
        prepare_template(config, reuse=args.reuse_db)

    rows: list[dict[str, Any]] = []
    results: dict[str, Result] = {}
    for bench in benchmarks:
        result = _run_in_fresh_process(bench.name, args.repetitions, bench.timeout_seconds, config)
        results[bench.name] = result
        rows += rows_for(bench, result)  # a benchmark that failed still has its rows, with null figures
        if result.error:
            print(
                f"bench: {bench.name}: FAILED after {result.seconds:.0f} s\n{result.error}", file=sys.stderr
            )
            continue
        for note in result.notes:
            print(f"bench: {bench.name}: {note}")
        print(f"bench: {bench.name}: {len(result.values)} repetitions in {result.seconds:.1f} s")

    failed = any(result.error for result in results.values())
    table = render_table(
        rows,
        results,
        machine=machine_description(_database_version(config)),
        started=started_at,
        commit=commit_description(),
        repetitions=args.repetitions,
        load_start=load_start,
        load_end=os.getloadavg(),
    )
    print(table)
    if not args.only:
        JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
        JSON_PATH.write_text(json.dumps(rows, indent=2) + "\n")
        rewrite_docs_table(table, DOCS_PATH)
        print(f"bench: wrote {JSON_PATH.relative_to(ROOT)} and the table in {DOCS_PATH.relative_to(ROOT)}")
    missed = [row["name"] for row in rows if row["value"] is not None and not row_met(row)]
    if failed:
        return 2
    if missed:
        print(f"bench: {len(missed)} figure(s) missed their goal: {'; '.join(missed)}", file=sys.stderr)
        return 1
    print("bench: every figure met its goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
