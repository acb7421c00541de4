"""One run's result: what the fake, the provider and the probes saw, turned into one flat dict (one group of
metrics per function), plus the targets and the line the child prints it on."""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from benchmarks.queue_bench.fake import is_final, status_line
from core.platform.db import POSTGRES_SCHEMES

if TYPE_CHECKING:
    from benchmarks.queue_bench.fake import BenchDiscord
    from benchmarks.queue_bench.probes import QueryCounter, Samples
    from benchmarks.queue_bench.provider import FixedLatencyProvider
    from tests.fakes.discord import FakeInteraction, FakeMessage, Write

RESULT_PREFIX = "BENCH_RESULT "  # the child prints its result as one JSON line after this

# Targets (see the README).
TARGET_RSS_MB = 300.0
TARGET_LAG_P99_MS = 100.0
TARGET_EDITS_PER_INTERVAL = 1

# Edits are timed when they arrive at the fake; the bot spaces them when it starts sending them. An edit
# arriving less than this much early is jitter of the shared event loop (the lag target), not a 2nd edit.
EDIT_GAP_TOLERANCE = 0.1
BOT_GAP_TOLERANCE = 0.001  # the same, for the bot-side send times (float noise only)
DEFERRED = 5  # the interaction callback type that accepts a /video command
REFUSED = 4  # ... and the one that answers it at once (a refusal)
MS = 1000.0


@dataclass
class Observed:
    """What one run saw, from the first /video command to the last final edit (`run.measure` fills it in)."""

    n: int
    fake: BenchDiscord
    provider: FixedLatencyProvider
    counter: QueryCounter
    samples: Samples
    handles: list[FakeInteraction | None]  # by job index
    sends: dict[int, list[float]]  # EditRecorder.sends
    requests_before: int = 0  # len(fake.requests) when the window began
    submit_s: float = 0.0
    wall_s: float = 0.0
    missing_acks: int = 0
    timed_out: bool = False
    rss_before: float | None = None
    peak_rss: float = 0.0
    cpu_s: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average before / after

    @property
    def accepted(self) -> list[FakeInteraction]:
        """The commands that were deferred (became jobs)."""
        return [h for h in self.handles if h is not None and h.callback_type == DEFERRED]

    def messages(self) -> Iterator[tuple[int, FakeMessage, Write | None]]:
        """(job index, message, its final write or None) of every accepted job that has a message."""
        for i, handle in enumerate(self.handles):
            if handle is None or handle.callback_type != DEFERRED or handle.original is None:
                continue
            msg = handle.original
            yield i, msg, next((w for w in msg.edits if is_final(w)), None)

    def timeline(self, i: int) -> list:
        """[seconds after the job's provider submit, Status field, files] for each edit of job i."""
        job, handle = self.provider.by_index.get(i), self.handles[i]
        if job is None or handle is None or handle.original is None:
            return []
        return [
            [round(w.at - job.submitted_at, 3), status_line(w.payload)[:80], len(w.files)]
            for w in handle.original.edits
        ]


def collect(args: argparse.Namespace, o: Observed) -> dict[str, Any]:
    """Turn what the fake, the provider and the probes saw into one result dict."""
    jobs = max(1, len(o.accepted))
    return {
        **_setup(args, o.n),
        **_intake(o),
        **_cost(o, jobs),
        **_loop_lag(o, min(o.n, args.slots or o.n)),
        **_discord(o, jobs),
        **_database(o, jobs, args.top_queries),
        **_delivery(o, jobs),
        **_edits_as_arrived(o, args.edit_interval, jobs),
        **_edits_as_sent(o, args.edit_interval),
    }


def _setup(args: argparse.Namespace, n: int) -> dict[str, Any]:
    return {
        "jobs": n,
        "db": describe_db(args.database_url or "sqlite"),
        "latency_s": args.latency,
        "poll_interval_s": args.poll_interval,
        "push": bool(getattr(args, "push", False)),
        "edit_interval_s": args.edit_interval,
        "users": args.users or n,
        "submit_concurrency": args.submit_concurrency,
        "slots": args.slots or n,
    }


def _intake(o: Observed) -> dict[str, Any]:
    """Commands accepted, how fast, and how long jobs waited for a worker."""
    acks = [h.attempts[0] for h in o.handles if h is not None and h.attempts]
    ack_latency = [a.latency for a in acks if a.latency is not None]
    accepted = len(o.accepted)
    # From the slash command going out to the provider submit: time spent before a worker claimed the job.
    waits = [
        job.submitted_at - o.handles[job.index].dispatched_at
        for job in o.provider.by_index.values()
        if o.handles[job.index] is not None and o.handles[job.index].dispatched_at is not None
    ]
    return {
        "accepted": accepted,
        "refused": sum(1 for h in o.handles if h is not None and h.callback_type == REFUSED),
        "missing_acks": o.missing_acks,
        "rejected_acks": sum(1 for a in acks if not a.accepted),
        "timed_out": o.timed_out,
        "submit_s": round(o.submit_s, 2),
        "accept_rate_per_s": round(accepted / o.submit_s, 1) if o.submit_s else None,
        "ack_p50_ms": _round(percentile(ack_latency, 50), MS),
        "ack_p99_ms": _round(percentile(ack_latency, 99), MS),
        "ack_max_ms": _round(max(ack_latency, default=None), MS),
        "queue_wait_p50_s": _round(percentile(waits, 50)),
        "queue_wait_p99_s": _round(percentile(waits, 99)),
        "queue_wait_max_s": _round(max(waits, default=None)),
        "peak_running": o.samples.peak_running,
        "peak_provider_in_flight": o.samples.peak_provider_in_flight,
    }


def _cost(o: Observed, jobs: int) -> dict[str, Any]:
    """Wall time, CPU and memory."""
    return {
        "wall_s": round(o.wall_s, 2),
        "cpu_s": round(o.cpu_s, 2),  # user + system CPU of this process (bot, fake, bench) in the window
        "cpu_ms_per_job": round(1000 * o.cpu_s / jobs, 1),
        "loadavg_1m": [round(o.load[0], 2), round(o.load[1], 2)],  # before / after: others sharing the CPUs?
        "rss_before_mb": _round(o.rss_before, 1),
        "rss_peak_mb": _round(o.peak_rss, 1),
    }


def _loop_lag(o: Observed, want_running: int) -> dict[str, Any]:
    """The lag ticker's samples, over the window and while at least 95 % of N were running."""
    lag = o.samples.lag
    steady = [
        sample
        for sample, running in zip(lag, o.samples.lag_running, strict=True)
        if running >= 0.95 * want_running
    ]
    return {
        "lag_p50_ms": _round(percentile(lag, 50), MS),
        "lag_p99_ms": _round(percentile(lag, 99), MS),
        "lag_max_ms": _round(max(lag, default=None), MS),
        "lag_samples": len(lag),
        # while at least 95 % of N were running: the steady state with (nearly) all N in flight
        "lag_all_in_flight_p99_ms": _round(percentile(steady, 99), MS),
        "lag_all_in_flight_samples": len(steady),
    }


def _discord(o: Observed, jobs: int) -> dict[str, Any]:
    """The REST requests the fake received in the window (statuses: all it answered)."""
    window = o.fake.requests[o.requests_before :]
    per_second = Counter(int(rec.at) for rec in window)
    by_route = Counter((r.template or f"{r.method} {r.path}") for r in window)
    statuses = Counter(r.status for r in o.fake.requests)
    return {
        "discord_requests": len(window),
        "discord_req_per_s_mean": round(len(window) / o.wall_s, 1) if o.wall_s else None,
        "discord_req_per_s_peak": max(per_second.values(), default=0),
        "discord_req_per_s": [
            per_second.get(t, 0) for t in range(min(per_second, default=0), max(per_second, default=-1) + 1)
        ],
        "discord_requests_per_job": round(len(window) / jobs, 2),
        "discord_routes": dict(by_route.most_common()),
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "http_429": statuses.get(429, 0),
    }


def _database(o: Observed, jobs: int, top: int) -> dict[str, Any]:
    """The SQL statements of the window."""
    return {
        "db_queries": o.counter.total,
        "db_queries_per_job": round(o.counter.total / jobs, 2),
        "db_top_queries": [[shape, count] for shape, count in o.counter.shapes.most_common(top)],
    }


def _delivery(o: Observed, jobs: int) -> dict[str, Any]:
    """Final edits, polls, and the notification lag: final edit at the fake − when the provider had it."""
    delivered = succeeded = 0
    lag_done, lag_reported, final_gaps = [], [], []
    for i, msg, final in o.messages():
        if final is None:
            continue
        delivered += 1
        before = [w.at for w in msg.edits if w.at < final.at]
        if before:
            final_gaps.append(final.at - before[-1])
        job = o.provider.by_index.get(i)
        if final.files and job is not None:
            succeeded += 1
            lag_done.append(final.at - job.done_at)
            if job.reported_at is not None:
                lag_reported.append(final.at - job.reported_at)
    return {
        "delivered": delivered,
        "succeeded": succeeded,
        "polls": o.provider.polls,
        "polls_per_job": round(o.provider.polls / jobs, 2),
        "notify_lag_p50_s": _round(percentile(lag_done, 50)),
        "notify_lag_p99_s": _round(percentile(lag_done, 99)),
        "notify_lag_max_s": _round(max(lag_done, default=None)),
        "notify_lag_from_report_p50_s": _round(percentile(lag_reported, 50)),
        "notify_lag_from_report_p99_s": _round(percentile(lag_reported, 99)),
        "final_edit_gap_p50_s": _round(percentile(final_gaps, 50)),
        "final_edit_gap_min_s": _round(min(final_gaps, default=None)),
    }


def _edits_as_arrived(o: Observed, interval: float, jobs: int) -> dict[str, Any]:
    """Edits per EDIT_INTERVAL per message as the fake timed their arrival: all, and progress edits only."""
    edits_max, progress_max, min_gaps, progress_examples = [], [], [], []
    for i, msg, final in o.messages():
        times = [w.at for w in msg.edits]
        if times:
            edits_max.append(max_in_window(times, interval))
            gaps = [b - a for a, b in pairwise(times)]
            if gaps:
                min_gaps.append(min(gaps))
        progress_times = [w.at for w in msg.edits if w is not final]
        if progress_times:
            progress_max.append(max_in_window(progress_times, interval))
            if progress_max[-1] > TARGET_EDITS_PER_INTERVAL and len(progress_examples) < 3:
                progress_examples.append(i)
    return {
        "max_edits_per_interval": max(edits_max, default=0),
        "messages_over_edit_limit": _over_limit(edits_max),
        "max_progress_edits_per_interval": max(progress_max, default=0),
        "messages_over_edit_limit_progress_only": _over_limit(progress_max),
        "edits_per_job": round(sum(len(h.original.edits) for h in o.accepted if h.original) / jobs, 2),
        "min_edit_gap_s": _round(min(min_gaps, default=None)),
        "job0_edits": o.timeline(0),
        "last_job_edits": o.timeline(o.n - 1),
        "progress_over_limit_examples": {str(i): o.timeline(i) for i in progress_examples},
    }


def _edits_as_sent(o: Observed, interval: float) -> dict[str, Any]:
    """The same as the bot decided to send them (EditRecorder): free of the loop's arrival jitter."""
    bot_max, bot_progress_max = [], []
    examples: dict[str, Any] = {}
    for i, msg, final in o.messages():
        sent = o.sends.get(msg.id, [])
        if not sent:
            continue
        bot_max.append(max_in_window(sent, interval, tolerance=BOT_GAP_TOLERANCE))
        progress_sent = sent[:-1] if final is not None else sent
        bot_progress_max.append(max_in_window(progress_sent, interval, tolerance=BOT_GAP_TOLERANCE))
        job = o.provider.by_index.get(i)
        if bot_progress_max[-1] > TARGET_EDITS_PER_INTERVAL and len(examples) < 3 and job:
            examples[str(i)] = {
                "sent": [round(t - job.submitted_at, 3) for t in sent],
                "arrived": o.timeline(i),
            }
    return {
        "bot_side_max_edits_per_interval": max(bot_max, default=0),
        "bot_side_messages_over_edit_limit": _over_limit(bot_max),
        "bot_side_max_progress_edits_per_interval": max(bot_progress_max, default=0),
        "bot_side_messages_over_edit_limit_progress_only": _over_limit(bot_progress_max),
        "bot_side_over_limit_examples": examples,
    }


# ---- helpers -------------------------------------------------------------------------------------------


def describe_db(url: str) -> str:
    """The table's name for the database of `url`."""
    return "PostgreSQL" if url.startswith(POSTGRES_SCHEMES) else "SQLite"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def max_in_window(times: list[float], window: float, tolerance: float = EDIT_GAP_TOLERANCE) -> int:
    """The most timestamps in any interval [t, t + window - tolerance): two edits exactly one
    EDIT_INTERVAL apart (the coalescer's own cadence) count as one per interval."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window + tolerance:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _over_limit(per_message_max: list[int]) -> int:
    return sum(1 for most in per_message_max if most > TARGET_EDITS_PER_INTERVAL)


def _round(value: float | None, scale: float = 1.0, digits: int = 3) -> float | None:
    return None if value is None else round(value * scale, digits)
