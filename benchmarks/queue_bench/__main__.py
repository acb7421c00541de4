"""`python -m benchmarks.queue_bench`: the arguments, and the parent that runs one child per N, prints the
tables and checks the targets (see the package docstring and benchmarks/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.queue_bench import __doc__ as package_doc
from benchmarks.queue_bench import pyspy, run
from benchmarks.queue_bench.report import (
    RESULT_PREFIX,
    TARGET_EDITS_PER_INTERVAL,
    TARGET_LAG_P99_MS,
    TARGET_RSS_MB,
    describe_db,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (the parent's, and the child's with the internal --single)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.queue_bench", description=(package_doc or "").split("\n")[0]
    )
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[100, 500, 1000], help="N values (default 100 500 1000)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file; postgres://user@host:port/any: a fresh database there, dropped after",
    )
    parser.add_argument(
        "--latency", type=float, default=20.0, help="seconds each provider job takes (default 20)"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=5.0, help="catalog poll_interval_s (default 5)"
    )
    parser.add_argument(
        "--edit-interval", type=float, default=3.0, help="EDIT_INTERVAL (default 3, as shipped)"
    )
    parser.add_argument("--push", action="store_true", help="the provider pushes results (no polls)")
    parser.add_argument("--users", type=int, default=0, help="distinct users (default: one per job)")
    parser.add_argument(
        "--slots",
        type=int,
        default=0,
        help="MAX_CONCURRENT_JOBS (default: N, so every job runs at once; fewer makes a line)",
    )
    parser.add_argument(
        "--submit-concurrency",
        type=int,
        default=8,
        help="slash commands awaiting their ack at once (default 8)",
    )
    parser.add_argument(
        "--timeout", type=float, default=240.0, help="seconds to wait for all results (default 240)"
    )
    parser.add_argument("--log-level", default="WARNING", help="the bot's log level (default WARNING)")
    parser.add_argument("--top-queries", type=int, default=15, help="query shapes kept in the result")
    parser.add_argument("--details", action="store_true", help="also print requests by route and top queries")
    parser.add_argument("--json", help="also write every result to this JSON file")
    parser.add_argument("--py-spy", metavar="DIR", help="record each child with py-spy (raw stacks) into DIR")
    parser.add_argument(
        "--summarize-profile", metavar="FILE", help="print the hottest frames of a py-spy raw file"
    )
    parser.add_argument(
        "--full-records", action="store_true", help="let the fake keep full request bodies (costs RSS)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (SQLite file, videos)")
    # internal: run one N in this process, on --database-url as given (the parent makes it fresh)
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Summarise a profile, run one N (the child), or run every N and report (the parent)."""
    args = parse_args(argv)
    if args.summarize_profile:
        return pyspy.summarize_profile(args.summarize_profile)
    if args.single:
        return run.child_main(args)
    return parent_main(args)


# ---- the parent ----------------------------------------------------------------------------------------


def parent_main(args: argparse.Namespace) -> int:
    """One child per N, then the tables and the target checklist; 0 only when every target is met."""
    results = []
    for n in args.jobs:
        began = time.monotonic()
        print(f"# N={n} on {describe_db(args.database_url or 'sqlite')} ...", file=sys.stderr, flush=True)
        with fresh_database(args.database_url) as database_url:
            results.append(run_child(args, n, database_url))
        print(f"# N={n} done in {time.monotonic() - began:.0f}s", file=sys.stderr, flush=True)
    print(HEADER)
    for r in results:
        print(table_row(r))
    print()
    print(DETAIL_HEADER)
    for r in results:
        print(detail_row(r))
    print()
    all_met = True
    for r in results:
        print(f"Targets, N={r['jobs']} ({r['db']}):")
        for text, met in target_checks(r):
            all_met &= met
            print(f"  [{'x' if met else ' '}] {text}")
    if args.details:
        for r in results:
            print(f"\nN={r['jobs']} ({r['db']}): Discord requests by route")
            for route, count in r["discord_routes"].items():
                print(f"  {count:7d}  {route}")
            print(f"N={r['jobs']} ({r['db']}): most frequent database queries")
            for shape, count in r["db_top_queries"]:
                print(f"  {count:7d}  ({count / max(1, r['accepted']):.2f}/job)  {shape}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all_met else 1


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str | None]:
    """For a PostgreSQL URL, a new empty database `vb_bench_<random>` next to the URL's own (which is only
    used to connect), with the URL's options (e.g. ?maxsize=20); dropped afterwards. Other URLs as given."""
    if url is None or describe_db(url) != "PostgreSQL":
        yield url
        return
    # Imported here, not in the child: pytest and its plugins would count in the child's RSS.
    from tests.conftest import create_database, drop_database

    address, _, query = url.partition("?")
    fresh = f"{address.rpartition('/')[0]}/vb_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(create_database(fresh))
    try:
        yield fresh + (f"?{query}" if query else "")
    finally:
        asyncio.run(drop_database(fresh))


def child_command(args: argparse.Namespace, n: int, database_url: str | None) -> list[str]:
    """The command line of the child that runs N (under py-spy with --py-spy)."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.queue_bench",
        "--single",
        str(n),
        "--latency",
        str(args.latency),
        "--poll-interval",
        str(args.poll_interval),
        "--edit-interval",
        str(args.edit_interval),
        "--submit-concurrency",
        str(args.submit_concurrency),
        "--timeout",
        str(args.timeout),
        "--log-level",
        args.log_level,
        "--top-queries",
        str(args.top_queries),
    ]
    if args.push:
        cmd.append("--push")
    if args.users:
        cmd += ["--users", str(args.users)]
    if args.slots:
        cmd += ["--slots", str(args.slots)]
    if database_url:
        cmd += ["--database-url", database_url]
    if args.keep:
        cmd.append("--keep")
    if args.full_records:
        cmd.append("--full-records")
    if args.py_spy:
        db = describe_db(args.database_url or "sqlite").lower()
        cmd = pyspy.under_py_spy(cmd, Path(args.py_spy) / f"queue_bench_{db}_{n}.txt")
    return cmd


def run_child(args: argparse.Namespace, n: int, database_url: str | None) -> dict[str, Any]:
    """Run the child for N and return the result it printed."""
    cmd = child_command(args, n, database_url)
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"N={n}: the benchmark child exited with {proc.returncode} and no result")


# ---- the tables and the targets ------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


HEADER = (
    "| N | DB | peak in flight | loop lag p50 / p99 (ms) | peak RSS (MB) | Discord req/job | DB queries/job"
    " | polls/job | notify lag p50 / p99 (s) | 429s | max edits per EDIT_INTERVAL per message |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def table_row(r: dict[str, Any]) -> str:
    """The main table's row for one result."""
    return (
        f"| {r['jobs']} | {r['db']} | {r['peak_running']} | {_fmt(r['lag_p50_ms'])} / {_fmt(r['lag_p99_ms'])}"
        f" | {_fmt(r['rss_peak_mb'])} | {_fmt(r['discord_requests_per_job'], 2)}"
        f" | {_fmt(r['db_queries_per_job'], 1)} | {_fmt(r['polls_per_job'], 2)}"
        f" | {_fmt(r['notify_lag_p50_s'], 2)} / {_fmt(r['notify_lag_p99_s'], 2)} | {r['http_429']}"
        f" | {r['max_edits_per_interval']} ({r['messages_over_edit_limit']} msgs over) |"
    )


DETAIL_HEADER = (
    "| N | DB | accepted / delivered / ok | accept rate (/s) | ack p50 / p99 (ms) | queue wait p50 / max (s)"
    " | wall (s) | CPU ms/job | load 1m | lag max (ms) | lag p99 with >=95% of N running (ms, samples) | RSS before (MB) | fake keeps (MB) | edits/job"
    " | msgs over 1 edit/interval: fake all / progress; bot-side all / progress | min edit gap (s)"
    " | notify lag from SUCCEEDED poll p50 / p99 (s) | slots | Discord req/s mean / peak |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def detail_row(r: dict[str, Any]) -> str:
    """The detail table's row for one result."""
    fake_mb = sum((r.get("fake_retained_mb") or {}).values())
    return (
        f"| {r['jobs']} | {r['db']} | {r['accepted']} / {r['delivered']} / {r['succeeded']}"
        f" | {_fmt(r['accept_rate_per_s'])} | {_fmt(r['ack_p50_ms'], 0)} / {_fmt(r['ack_p99_ms'], 0)}"
        f" | {_fmt(r['queue_wait_p50_s'], 2)} / {_fmt(r['queue_wait_max_s'], 2)}"
        f" | {_fmt(r['wall_s'])} | {_fmt(r['cpu_ms_per_job'])}"
        f" | {r['loadavg_1m'][0]:.1f}→{r['loadavg_1m'][1]:.1f} | {_fmt(r['lag_max_ms'], 0)}"
        f" | {_fmt(r['lag_all_in_flight_p99_ms'])} ({r['lag_all_in_flight_samples']})"
        f" | {_fmt(r['rss_before_mb'])} | {fake_mb:.0f} | {_fmt(r['edits_per_job'], 2)}"
        f" | {r['messages_over_edit_limit']} / {r['messages_over_edit_limit_progress_only']};"
        f" {r['bot_side_messages_over_edit_limit']} / {r['bot_side_messages_over_edit_limit_progress_only']}"
        f" | {_fmt(r['min_edit_gap_s'], 3)}"
        f" | {_fmt(r['notify_lag_from_report_p50_s'], 2)} / {_fmt(r['notify_lag_from_report_p99_s'], 2)}"
        f" | {r['slots']} | {_fmt(r['discord_req_per_s_mean'])} / {r['discord_req_per_s_peak']} |"
    )


def target_checks(r: dict[str, Any]) -> list[tuple[str, bool]]:
    """(what, met) for every target of one result."""
    # Polled: half a poll interval late on average, plus a second. Pushed: the final edit still keeps
    # the message's EDIT_INTERVAL pace, so half an edit interval, plus a second.
    notify_target = (r["edit_interval_s"] if r.get("push") else r["poll_interval_s"]) / 2 + 1
    p50 = r["notify_lag_p50_s"]
    want = min(r["jobs"], r["slots"])
    return [
        (
            (f"all {want} jobs" if want == r["jobs"] else f"all {want} slots")
            + f" in flight at once (peak {r['peak_running']}"
            + (
                ""
                if r["peak_running"] >= want
                else f"; the first jobs finished before the last started: queue wait up to"
                f" {_fmt(r['queue_wait_max_s'])} s, accepting took {_fmt(r['submit_s'])} s"
                f" against a {_fmt(r['latency_s'], 0)} s job (see README: --latency)"
            )
            + ")",
            r["peak_running"] >= want,
        ),
        (
            f"peak RSS {_fmt(r['rss_peak_mb'])} MB <= {TARGET_RSS_MB:.0f} MB",
            r["rss_peak_mb"] <= TARGET_RSS_MB,
        ),
        (
            f"loop lag p99 {_fmt(r['lag_p99_ms'])} ms <= {TARGET_LAG_P99_MS:.0f} ms",
            r["lag_p99_ms"] is not None and r["lag_p99_ms"] <= TARGET_LAG_P99_MS,
        ),
        (
            f"<= 1 edit per EDIT_INTERVAL per message, final edit included (max {r['max_edits_per_interval']},"
            f" {r['messages_over_edit_limit']} messages over; progress edits alone:"
            f" {r['messages_over_edit_limit_progress_only']} over as the fake timed them,"
            f" {r['bot_side_messages_over_edit_limit_progress_only']} as the bot sent them)",
            r["max_edits_per_interval"] <= TARGET_EDITS_PER_INTERVAL,
        ),
        (
            f"notification lag p50 {_fmt(p50, 2)} s <= {notify_target:.1f} s",
            p50 is not None and p50 <= notify_target,
        ),
        (f"no 429s ({r['http_429']})", r["http_429"] == 0),
        (
            f"every job delivered ({r['delivered']} of {r['jobs']})",
            r["delivered"] == r["jobs"] and r["succeeded"] == r["jobs"],
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
