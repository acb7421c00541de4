"""Queue benchmark: N /video jobs in flight at once through the real VideoBot, against FakeDiscord.

    python -m benchmarks.queue_bench --jobs 100 500 1000
    python -m benchmarks.queue_bench --jobs 100 1000 --database-url postgres://postgres@127.0.0.1:5432/postgres

Every N runs in its own child process (so the peak RSS, the event loop and discord.py's globals belong
to that N alone); the parent prints one markdown table row per N and checks the targets. See
benchmarks/README.md for what each column means and how it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import functools
import importlib
import json
import logging
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
LAG_TICK = 0.05  # seconds: the loop-lag ticker sleeps this long and records the oversleep
SAMPLE_EVERY = 0.25  # seconds between RSS / in-flight samples
# Edits are timed when they arrive at the fake; the bot spaces them when it starts sending them. An edit
# arriving less than this much early is jitter of the shared event loop (the lag target), not a 2nd edit.
EDIT_GAP_TOLERANCE = 0.1
BOT_GAP_TOLERANCE = 0.001  # the same, for the bot-side send times (float noise only)
PROMPT = "bench job {}"

# Targets (see the README).
TARGET_RSS_MB = 300.0
TARGET_LAG_P99_MS = 100.0
TARGET_EDITS_PER_INTERVAL = 1

log = logging.getLogger("benchmarks.queue_bench")


# ------------------------------------------------------------------------------------------- helpers


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def current_rss_mb() -> float | None:
    """Resident set size now (Linux /proc), in MiB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mb() -> float:
    """The process's peak RSS so far (getrusage; KiB on Linux, bytes on macOS), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


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


def deep_size_mb(root: Any, *, exclude: Any = None) -> float:
    """Approximate MiB held by `root` and everything it references (containers, objects), not
    counting `exclude` (e.g. the owner that every record points back to)."""
    seen: set[int] = {id(exclude)} if exclude is not None else set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name))
    return total / (1024 * 1024)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def describe_db(url: str) -> str:
    return "PostgreSQL" if is_postgres(url) else "SQLite"


# ------------------------------------------------------------------------------------ fake provider


@dataclass
class BenchJob:
    index: int
    job_id: str
    submitted_at: float  # time.monotonic()
    done_at: float  # submitted_at + latency: when the provider has the video
    reported_at: float | None = None  # first poll that answered SUCCEEDED
    polls: int = 0


class FixedLatencyProvider:
    """Every job SUCCEEDS `latency` seconds (wall time) after its submit; counts polls. No network."""

    name = "bench"
    supports_cancel = False

    def __init__(self, latency: float, poll_interval: float, video: bytes) -> None:
        from core.providers.base import VideoSource

        self.latency = latency
        self.poll_interval = poll_interval
        self._video = VideoSource(data=video, size_hint=len(video))
        self.jobs: dict[str, BenchJob] = {}
        self.by_index: dict[int, BenchJob] = {}
        self.polls = 0
        self.submits = 0
        self.fetches = 0

    @property
    def in_flight(self) -> int:
        """Submitted jobs whose success has not been reported yet."""
        return sum(1 for job in self.jobs.values() if job.reported_at is None)

    async def submit(self, request) -> str:
        self.submits += 1
        index = int(request.prompt.rsplit(" ", 1)[1])
        now = time.monotonic()
        job = BenchJob(index, f"bench-{index}-{uuid.uuid4().hex[:8]}", now, now + self.latency)
        self.jobs[job.job_id] = job
        self.by_index[index] = job
        return job.job_id

    async def poll(self, ref):
        from core.providers.base import JobState, PollResult

        self.polls += 1
        job = self.jobs[ref.job_id]
        job.polls += 1
        now = time.monotonic()
        if now >= job.done_at:
            if job.reported_at is None:
                job.reported_at = now
            return PollResult(JobState.SUCCEEDED, video=self._video)
        return PollResult(JobState.RUNNING, progress=(now - job.submitted_at) / self.latency)

    async def fetch(self, ref, video, dest: Path, max_bytes: int) -> int:
        self.fetches += 1
        dest.write_bytes(video.data)  # noqa: ASYNC240 - a few KiB
        return len(video.data)

    async def cancel(self, ref) -> bool:
        return False

    async def list_models(self) -> list[str] | None:
        return None

    async def aclose(self) -> None:
        return None


def bench_catalog(latency: float, poll_interval: float):
    """A one-model catalog whose model is served by FixedLatencyProvider."""
    from core.catalog import Catalog, ModelSpec

    spec = ModelSpec(
        name="bench",
        provider="bench",
        provider_model_id="bench-fixed-latency",
        label="Benchmark (fixed latency)",
        durations=(4,),
        aspect_ratios=("16:9",),
        resolutions=("720p",),
        default_duration=4,
        default_aspect_ratio="16:9",
        default_resolution="720p",
        audio="none",
        seed=True,
        negative_prompt=False,
        image_input=False,
        usd_per_second={"default": 0.05},  # a real price: the spend bookkeeping runs (cap 0 = no cap)
        expected_latency_s=latency,
        poll_interval_s=poll_interval,
    )
    return Catalog({"bench": spec})


# --------------------------------------------------------------------------------------- DB counting


class QueryCounter:
    """Counts every statement the ORM sends: wraps the execute_* methods of every Tortoise client class
    (SQLite, asyncpg, and their transaction wrappers); nested calls (one method calling another) count once."""

    METHODS = (
        "execute_insert",
        "execute_many",
        "execute_query",
        "execute_query_dict",
        "execute_query_dict_with_affected",
        "execute_script",
    )

    def __init__(self) -> None:
        self.enabled = False
        self.total = 0
        self.shapes: Counter[str] = Counter()
        self._shape_of: dict[str, str] = {}
        self._inside: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_in_query", default=False)

    def install(self) -> QueryCounter:
        from tortoise.backends.base.client import BaseDBAsyncClient

        for backend in ("tortoise.backends.sqlite.client", "tortoise.backends.asyncpg.client"):
            with contextlib.suppress(ImportError):  # so their client classes exist and get patched
                importlib.import_module(backend)

        pending, seen = [BaseDBAsyncClient], set()
        while pending:
            cls = pending.pop()
            if cls in seen:
                continue
            seen.add(cls)
            pending.extend(cls.__subclasses__())
            for name in self.METHODS:
                if name in cls.__dict__:
                    setattr(cls, name, self._wrap(cls.__dict__[name]))
        return self

    def _wrap(self, method):
        counter = self

        @functools.wraps(method)
        async def counted(client, query, *args, **kwargs):
            if counter._inside.get():
                return await method(client, query, *args, **kwargs)
            token = counter._inside.set(True)
            try:
                if counter.enabled:
                    counter.total += 1
                    shape = counter._shape_of.get(query)
                    if shape is None:
                        shape = counter._shape_of[query] = _shape(query)
                    counter.shapes[shape] += 1
                return await method(client, query, *args, **kwargs)
            finally:
                counter._inside.reset(token)

        return counted


def _shape(sql: str) -> str:
    sql = re.sub(r"'[^']*'", "'?'", sql)
    sql = re.sub(r"\$\d+|\b\d+\b", "?", sql)
    sql = re.sub(r"(\?,\s*)+\?", "?…", sql)
    return re.sub(r"\s+", " ", sql).strip()[:150]


# ------------------------------------------------------------------------------------- fake Discord


def _slim_payload(payload: Any) -> dict[str, Any] | None:
    """What the benchmark reads back from a message write: its buttons and the embed's Status line."""
    if not isinstance(payload, dict):
        return None
    return {"custom_ids": _custom_ids(payload), "status": _status_line(payload)}


def _custom_ids(payload: Any) -> list[str]:
    """The custom ids of a write's buttons (full or slim payload)."""
    if not isinstance(payload, dict):
        return []
    if "custom_ids" in payload:
        return payload["custom_ids"]
    out: list[str] = []
    stack = list(payload.get("components") or [])
    while stack:
        comp = stack.pop()
        if "custom_id" in comp:
            out.append(comp["custom_id"])
        stack.extend(comp.get("components") or [])
    return out


def _status_line(payload: Any) -> str:
    """The Status field of a write's embed (full or slim payload)."""
    if not isinstance(payload, dict):
        return ""
    if "status" in payload:
        return payload["status"]
    fields = (payload.get("embeds") or [{}])[0].get("fields") or []
    return next((f.get("value") or "" for f in fields if f.get("name") == "Status"), "")


def make_fake():
    """A FakeDiscord that signals callbacks and final edits (instead of being polled) and, unless the
    bench runs with --full-records, keeps only slim copies of what it recorded: its full records of
    25 000 message edits would otherwise be most of this process's RSS."""
    from tests.fakes.discord import FakeDiscord, UploadedFile, Write

    def slim_files(files: list) -> list:
        return [UploadedFile(f.field, f.filename, f.content_type, b"") for f in files]

    class SlimWrites(list):
        def append(self, write: Write) -> None:
            super().append(Write(write.at, _slim_payload(write.payload), slim_files(write.files)))

    class BenchDiscord(FakeDiscord):
        def __init__(self, *, slim: bool, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.slim = slim
            self.callback_events: dict[int, asyncio.Event] = {}
            self.final_messages: set[int] = set()
            self.expected_finals: int | None = None
            self.all_final = asyncio.Event()

        def callback_event(self, iid: int) -> asyncio.Event:
            return self.callback_events.setdefault(iid, asyncio.Event())

        async def _callback(self, rec, iid, token):
            try:
                return await super()._callback(rec, iid, token)
            finally:
                self.callback_event(int(iid)).set()

        def _new_message(self, **kwargs: Any):
            msg = super()._new_message(**kwargs)
            if self.slim:
                msg.edits = SlimWrites()
            return msg

        def _finish(self, rec, response):
            response = super()._finish(rec, response)
            if self.slim:
                # the benchmark reads only at, method, template and status of a request
                rec.payload, rec.files, rec.headers, rec.response, rec.query = None, [], {}, None, {}
                rec.path = rec.template or rec.path
            return response

        def _apply(self, msg, payload, files, *, creating=False) -> None:
            super()._apply(msg, payload, files, creating=creating)
            if msg.id not in self.final_messages and any(
                c.startswith("video:delete:") for c in msg.custom_ids()
            ):
                self.final_messages.add(msg.id)
                self._check_done()

        def _check_done(self) -> None:
            if self.expected_finals is not None and len(self.final_messages) >= self.expected_finals:
                self.all_final.set()

    return BenchDiscord


# ------------------------------------------------------------------------------------ one run (child)


@contextlib.contextmanager
def recording_edit_sends():
    """{message id: [time.monotonic() of each edit the bot decided to send]}: progress edits when the
    throttle (CoalescingUpdater) hands a state to its send function, the final edit when discord.py
    builds its PATCH (the display reaches it without awaiting anything). Free of the arrival jitter of
    the shared event loop that the fake's own timestamps carry."""
    from discord.webhook.async_ import AsyncWebhookAdapter

    from core.platform.throttle import CoalescingUpdater

    sends: dict[int, list[float]] = {}
    throttled: set[int] = set()  # ids whose throttle is sending right now
    original_init = CoalescingUpdater.__init__
    original_edit = AsyncWebhookAdapter.edit_webhook_message

    def init(self, send, interval, **kwargs):
        message_id = getattr(getattr(getattr(send, "__self__", None), "message", None), "message_id", None)

        async def recorded(state):
            if message_id is None:
                return await send(state)
            sends.setdefault(message_id, []).append(time.monotonic())
            throttled.add(message_id)
            try:
                return await send(state)
            finally:
                throttled.discard(message_id)

        original_init(self, recorded, interval, **kwargs)

    def edit_webhook_message(self, webhook_id, token, message_id, **kwargs):
        if int(message_id) not in throttled:  # not a progress edit: the final one
            sends.setdefault(int(message_id), []).append(time.monotonic())
        return original_edit(self, webhook_id, token, message_id, **kwargs)

    CoalescingUpdater.__init__ = init
    AsyncWebhookAdapter.edit_webhook_message = edit_webhook_message
    try:
        yield sends
    finally:
        CoalescingUpdater.__init__ = original_init
        AsyncWebhookAdapter.edit_webhook_message = original_edit


@dataclass
class Samples:
    lag: list[float] = field(default_factory=list)
    lag_running: list[int] = field(default_factory=list)  # jobs running when each lag sample was taken
    rss: list[float] = field(default_factory=list)
    peak_running: int = 0
    peak_provider_in_flight: int = 0


async def lag_ticker(samples: Samples, stop: asyncio.Event, running) -> None:
    """Sleep LAG_TICK again and again; the oversleep is the event loop's lag. Each sample also notes how
    many jobs were running (`running()`), to tell the steady state from the ramp."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        began = loop.time()
        await asyncio.sleep(LAG_TICK)
        samples.lag.append(max(0.0, loop.time() - began - LAG_TICK))
        samples.lag_running.append(running())


async def sampler(samples: Samples, stop: asyncio.Event, bot, provider: FixedLatencyProvider) -> None:
    while not stop.is_set():
        rss = current_rss_mb()
        if rss is not None:
            samples.rss.append(rss)
        if bot.worker is not None:
            samples.peak_running = max(samples.peak_running, len(bot.worker.running))
        samples.peak_provider_in_flight = max(samples.peak_provider_in_flight, provider.in_flight)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)


async def fresh_database(url: str | None, workdir: Path) -> tuple[str, str | None]:
    """(url to use, postgres database to drop afterwards or None)."""
    if url and is_postgres(url):
        import asyncpg

        address, _, query = url.partition("?")  # keep options such as ?maxsize=20 (the pool size)
        base = address.rpartition("/")[0]
        name = f"vb_bench_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(base.replace("asyncpg://", "postgres://") + "/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return f"{base}/{name}" + (f"?{query}" if query else ""), name
    if url:
        return url, None
    return f"sqlite://{workdir / 'bench.sqlite3'}", None


async def drop_database(url: str, name: str) -> None:
    import asyncpg

    base = url.partition("?")[0].rpartition("/")[0]
    admin = await asyncpg.connect(base.replace("asyncpg://", "postgres://") + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def submit_all(fake, n: int, users: int, concurrency: int, handles: list, ack_timeout: float) -> int:
    """Send N /video commands, at most `concurrency` without a callback yet; returns how many got none."""
    indices = iter(range(n))
    missing = 0

    async def submitter() -> None:
        nonlocal missing
        for i in indices:
            user = fake.user(f"bench-user-{i % users}")
            handle = await fake.send_slash_command("video", {"prompt": PROMPT.format(i)}, user=user)
            handles[i] = handle
            if not handle.attempts:
                try:
                    await asyncio.wait_for(fake.callback_event(handle.id).wait(), ack_timeout)
                except TimeoutError:
                    missing += 1

    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return missing


async def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One N, in this process: start everything, run the jobs, measure, tear down."""
    n = args.single
    users = args.users or n
    with recording_edit_sends() as sends:
        return await _run_once(args, n, users, sends)


async def _run_once(args: argparse.Namespace, n: int, users: int, sends: dict[int, list[float]]) -> dict:
    from bot import VideoBot, point_at_discord
    from core.platform.db import close_db, init_db
    from core.platform.settings import load_settings
    from core.services import build_services
    from tests.fakes.sample_video import sample_mp4

    workdir = Path(tempfile.mkdtemp(prefix="vb_bench_"))
    db_url, pg_name = await fresh_database(args.database_url, workdir)
    counter = QueryCounter().install()
    provider = FixedLatencyProvider(args.latency, args.poll_interval, sample_mp4())
    samples = Samples()
    stop = asyncio.Event()
    background: list[asyncio.Task] = []
    bot = bot_task = services = None
    result: dict[str, Any] = {}
    try:
        await init_db(db_url)
        fake = make_fake()(slim=not args.full_records)
        await fake.start()
        try:
            settings = load_settings(
                {
                    "DISCORD_TOKEN": fake.token,
                    "DISCORD_API_BASE": fake.api_base,
                    "DISCORD_GATEWAY_URL": fake.gateway_url,
                    "DATABASE_URL": db_url,
                    "OUTPUT_DIR": str(workdir / "videos"),
                    "DEFAULT_MODEL": "bench",
                    "MAX_CONCURRENT_JOBS": str(args.slots or n),
                    "USER_MAX_RUNNING": str(n),
                    "USER_MAX_QUEUED": str(n),
                    "QUOTA_DAILY_VIDEOS": "0",
                    "QUOTA_DAILY_SECONDS": "0",
                    "DAILY_SPEND_CAP_USD": "0",
                    "EDIT_INTERVAL": str(args.edit_interval),
                    "LOG_LEVEL": args.log_level,
                },
                env_file=None,
            )
            point_at_discord(settings)
            services = build_services(settings, bench_catalog(args.latency, args.poll_interval))
            services.providers["bench"] = provider  # the intake and runner share this dict
            bot = VideoBot(services, guild_ready_timeout=0.05)
            bot_task = asyncio.create_task(bot.start(fake.token))
            await fake.wait_ready(10.0)
            await fake.wait_for(bot.is_ready, 10.0, "the bot to be ready")

            # ---- the measured window ----
            rss_before = current_rss_mb()
            handles: list = [None] * n
            requests_before = len(fake.requests)
            background = [
                asyncio.create_task(
                    lag_ticker(samples, stop, lambda: len(bot.worker.running) if bot.worker else 0)
                ),
                asyncio.create_task(sampler(samples, stop, bot, provider)),
            ]
            counter.enabled = True
            load_before = os.getloadavg()[0]
            cpu_before = _cpu_seconds()
            t0 = time.monotonic()
            log.warning("N=%d: sending %d /video commands (%d at a time)", n, n, args.submit_concurrency)
            missing_acks = await submit_all(fake, n, users, args.submit_concurrency, handles, 10.0)
            submit_s = time.monotonic() - t0
            accepted = [h for h in handles if h is not None and h.callback_type == 5]
            fake.expected_finals = len(accepted)
            fake._check_done()
            log.warning(
                "N=%d: %d accepted in %.1fs (%.0f/s); waiting for the results",
                n,
                len(accepted),
                submit_s,
                len(accepted) / submit_s if submit_s else 0,
            )
            timed_out = False
            try:
                await asyncio.wait_for(fake.all_final.wait(), args.timeout)
            except TimeoutError:
                timed_out = True
            wall_s = time.monotonic() - t0
            cpu_s = _cpu_seconds() - cpu_before
            load_after = os.getloadavg()[0]
            counter.enabled = False
            stop.set()
            await asyncio.gather(*background)
            peak_rss = max([peak_rss_mb(), *samples.rss])
            result = collect(
                args,
                n,
                fake,
                provider,
                counter,
                samples,
                handles,
                requests_before=requests_before,
                submit_s=submit_s,
                wall_s=wall_s,
                missing_acks=missing_acks,
                timed_out=timed_out,
                rss_before=rss_before,
                peak_rss=peak_rss,
                cpu_s=cpu_s,
                load=(load_before, load_after),
                sends=sends,
            )
        finally:
            stop.set()
            for task in background:
                task.cancel()
            if bot is not None:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await bot_task
            if services is not None:
                await services.aclose()
            await fake.stop()
        # What the fake itself keeps (requests, message writes, gateway frames, interactions) is in this
        # process's RSS but is not the bot's; measured after the bot stopped (the walk blocks the loop).
        result["fake_retained_mb"] = {
            name: round(deep_size_mb(root, exclude=fake), 1)
            for name, root in (
                ("requests", fake.requests),
                ("messages", fake.messages),
                ("gateway", (fake.gateway_sent, fake._sessions)),
                ("interactions", fake.interactions),
            )
        }
        return result
    finally:
        await close_db()
        if pg_name is not None:
            await drop_database(db_url, pg_name)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def collect(
    args: argparse.Namespace,
    n: int,
    fake,
    provider: FixedLatencyProvider,
    counter: QueryCounter,
    samples: Samples,
    handles: list,
    *,
    requests_before: int,
    submit_s: float,
    wall_s: float,
    missing_acks: int,
    timed_out: bool,
    rss_before: float | None,
    peak_rss: float,
    cpu_s: float,
    load: tuple[float, float],
    sends: dict[int, list[float]],
) -> dict[str, Any]:
    """Turn what the fake, the provider and the samplers saw into one result dict."""
    interval = args.edit_interval
    acks = [h.attempts[0] for h in handles if h is not None and h.attempts]
    ack_latency = [a.latency for a in acks if a.latency is not None]
    accepted = [h for h in handles if h is not None and h.callback_type == 5]
    refused = sum(1 for h in handles if h is not None and h.callback_type == 4)
    rejected_acks = sum(1 for a in acks if not a.accepted)

    def timeline(i: int) -> list:
        """[seconds after the job's provider submit, Status field, files] for each edit of job i."""
        job, out = provider.by_index.get(i), []
        if job is None or handles[i] is None or handles[i].original is None:
            return out
        for w in handles[i].original.edits:
            out.append([round(w.at - job.submitted_at, 3), _status_line(w.payload)[:80], len(w.files)])
        return out

    lag_done, lag_reported, edits_max, progress_max = [], [], [], []
    bot_max, bot_progress_max = [], []
    bot_examples: dict[str, Any] = {}
    min_gaps, final_gaps = [], []
    over_limit = over_limit_progress = delivered = succeeded = 0
    progress_examples: list[int] = []
    for i, handle in enumerate(handles):
        if handle is None or handle.callback_type != 5 or handle.original is None:
            continue
        msg = handle.original
        writes = msg.edits
        final = next(
            (w for w in writes if any(c.startswith("video:delete:") for c in _custom_ids(w.payload))), None
        )
        times = [w.at for w in writes]
        if times:
            most = max_in_window(times, interval)
            edits_max.append(most)
            over_limit += most > TARGET_EDITS_PER_INTERVAL
            gaps = [b - a for a, b in pairwise(times)]
            if gaps:
                min_gaps.append(min(gaps))
        progress_times = [w.at for w in writes if w is not final]
        if progress_times:
            most = max_in_window(progress_times, interval)
            progress_max.append(most)
            over_limit_progress += most > TARGET_EDITS_PER_INTERVAL
            if most > TARGET_EDITS_PER_INTERVAL and len(progress_examples) < 3:
                progress_examples.append(i)
        bot_times = sends.get(msg.id, [])
        if bot_times:
            bot_max.append(max_in_window(bot_times, interval, tolerance=BOT_GAP_TOLERANCE))
            progress_sends = bot_times[:-1] if final is not None else bot_times
            bot_progress_max.append(max_in_window(progress_sends, interval, tolerance=BOT_GAP_TOLERANCE))
            job = provider.by_index.get(i)
            if bot_progress_max[-1] > TARGET_EDITS_PER_INTERVAL and len(bot_examples) < 3 and job:
                bot_examples[str(i)] = {
                    "sent": [round(t - job.submitted_at, 3) for t in bot_times],
                    "arrived": timeline(i),
                }
        if final is None:
            continue
        delivered += 1
        before = [w.at for w in writes if w.at < final.at]
        if before:
            final_gaps.append(final.at - before[-1])
        job = provider.by_index.get(i)
        if final.files and job is not None:
            succeeded += 1
            lag_done.append(final.at - job.done_at)
            if job.reported_at is not None:
                lag_reported.append(final.at - job.reported_at)

    # From the slash command going out to the provider submit: time spent before a worker claimed the job.
    waits = [
        job.submitted_at - handles[job.index].dispatched_at
        for job in provider.by_index.values()
        if handles[job.index] is not None and handles[job.index].dispatched_at is not None
    ]
    steady = [
        lag
        for lag, running in zip(samples.lag, samples.lag_running, strict=True)
        if running >= 0.95 * min(n, args.slots or n)
    ]
    window = fake.requests[requests_before:]
    per_second = Counter(int(rec.at) for rec in window)
    by_route = Counter((r.template or f"{r.method} {r.path}") for r in window)
    statuses = Counter(r.status for r in fake.requests)
    jobs = max(1, len(accepted))
    ms = 1000.0
    return {
        "jobs": n,
        "db": describe_db(args.database_url or "sqlite"),
        "latency_s": args.latency,
        "poll_interval_s": args.poll_interval,
        "edit_interval_s": interval,
        "users": args.users or n,
        "submit_concurrency": args.submit_concurrency,
        "accepted": len(accepted),
        "refused": refused,
        "missing_acks": missing_acks,
        "rejected_acks": rejected_acks,
        "delivered": delivered,
        "succeeded": succeeded,
        "timed_out": timed_out,
        "submit_s": round(submit_s, 2),
        "accept_rate_per_s": round(len(accepted) / submit_s, 1) if submit_s else None,
        "wall_s": round(wall_s, 2),
        "cpu_s": round(cpu_s, 2),  # user + system CPU of this process (bot, fake, bench) in the window
        "cpu_ms_per_job": round(1000 * cpu_s / jobs, 1),
        "loadavg_1m": [round(load[0], 2), round(load[1], 2)],  # before / after: others sharing the CPUs?
        "ack_p50_ms": _round(percentile(ack_latency, 50), ms),
        "ack_p99_ms": _round(percentile(ack_latency, 99), ms),
        "ack_max_ms": _round(max(ack_latency, default=None), ms),
        "queue_wait_p50_s": _round(percentile(waits, 50)),
        "queue_wait_p99_s": _round(percentile(waits, 99)),
        "queue_wait_max_s": _round(max(waits, default=None)),
        "peak_running": samples.peak_running,
        "peak_provider_in_flight": samples.peak_provider_in_flight,
        "lag_p50_ms": _round(percentile(samples.lag, 50), ms),
        "lag_p99_ms": _round(percentile(samples.lag, 99), ms),
        "lag_max_ms": _round(max(samples.lag, default=None), ms),
        "lag_samples": len(samples.lag),
        # while at least 95 % of N were running: the steady state with (nearly) all N in flight
        "lag_all_in_flight_p99_ms": _round(percentile(steady, 99), ms),
        "lag_all_in_flight_samples": len(steady),
        "rss_before_mb": _round(rss_before, 1),
        "rss_peak_mb": _round(peak_rss, 1),
        "discord_requests": len(window),
        "slots": args.slots or n,
        "discord_req_per_s_mean": round(len(window) / wall_s, 1) if wall_s else None,
        "discord_req_per_s_peak": max(per_second.values(), default=0),
        "discord_req_per_s": [
            per_second.get(t, 0) for t in range(min(per_second, default=0), max(per_second, default=-1) + 1)
        ],
        "discord_requests_per_job": round(len(window) / jobs, 2),
        "discord_routes": dict(by_route.most_common()),
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "http_429": statuses.get(429, 0),
        "db_queries": counter.total,
        "db_queries_per_job": round(counter.total / jobs, 2),
        "db_top_queries": [[shape, count] for shape, count in counter.shapes.most_common(args.top_queries)],
        "polls": provider.polls,
        "polls_per_job": round(provider.polls / jobs, 2),
        "notify_lag_p50_s": _round(percentile(lag_done, 50)),
        "notify_lag_p99_s": _round(percentile(lag_done, 99)),
        "notify_lag_max_s": _round(max(lag_done, default=None)),
        "notify_lag_from_report_p50_s": _round(percentile(lag_reported, 50)),
        "notify_lag_from_report_p99_s": _round(percentile(lag_reported, 99)),
        "max_edits_per_interval": max(edits_max, default=0),
        "messages_over_edit_limit": over_limit,
        "max_progress_edits_per_interval": max(progress_max, default=0),
        "messages_over_edit_limit_progress_only": over_limit_progress,
        "bot_side_max_edits_per_interval": max(bot_max, default=0),
        "bot_side_messages_over_edit_limit": sum(1 for m in bot_max if m > TARGET_EDITS_PER_INTERVAL),
        "bot_side_max_progress_edits_per_interval": max(bot_progress_max, default=0),
        "bot_side_messages_over_edit_limit_progress_only": sum(
            1 for m in bot_progress_max if m > TARGET_EDITS_PER_INTERVAL
        ),
        "edits_per_job": round(sum(len(h.original.edits) for h in accepted if h.original) / jobs, 2),
        "min_edit_gap_s": _round(min(min_gaps, default=None)),
        "final_edit_gap_p50_s": _round(percentile(final_gaps, 50)),
        "final_edit_gap_min_s": _round(min(final_gaps, default=None)),
        "job0_edits": timeline(0),
        "last_job_edits": timeline(n - 1),
        "progress_over_limit_examples": {str(i): timeline(i) for i in progress_examples},
        "bot_side_over_limit_examples": bot_examples,
    }


def _round(value: float | None, scale: float = 1.0, digits: int = 3) -> float | None:
    return None if value is None else round(value * scale, digits)


def child_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    log.setLevel(logging.INFO)
    for key in ("NO_PROXY", "no_proxy"):
        os.environ[key] = ",".join(filter(None, [os.environ.get(key, ""), "127.0.0.1,localhost"]))
    result = asyncio.run(run_once(args))
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# ------------------------------------------------------------------------------------- parent (table)


def child_command(args: argparse.Namespace, n: int) -> list[str]:
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
    if args.users:
        cmd += ["--users", str(args.users)]
    if args.slots:
        cmd += ["--slots", str(args.slots)]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    if args.keep:
        cmd.append("--keep")
    if args.full_records:
        cmd.append("--full-records")
    if args.py_spy:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        Path(args.py_spy).mkdir(parents=True, exist_ok=True)
        db = describe_db(args.database_url or "sqlite").lower()
        out = Path(args.py_spy) / f"queue_bench_{db}_{n}.txt"
        cmd = [spy, "record", "--format", "raw", "--rate", "200", "-o", str(out), "--", *cmd]
    return cmd


def run_child(args: argparse.Namespace, n: int) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(child_command(args, n), cwd=root, stdout=subprocess.PIPE, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"N={n}: the benchmark child exited with {proc.returncode} and no result")


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
    notify_target = r["poll_interval_s"] / 2 + 1
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


def parent_main(args: argparse.Namespace) -> int:
    results = []
    for n in args.jobs:
        began = time.monotonic()
        print(f"# N={n} on {describe_db(args.database_url or 'sqlite')} ...", file=sys.stderr, flush=True)
        result = run_child(args, n)
        print(f"# N={n} done in {time.monotonic() - began:.0f}s", file=sys.stderr, flush=True)
        results.append(result)
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


def summarize_profile(path: str, top: int = 40) -> int:
    """The event loop's hottest frames in a py-spy `--format raw` (collapsed stacks) file: only stacks
    under `run_forever` (other threads mostly wait), idle `select()` reported separately."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = idle = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any("run_forever" in f for f in frames):
            continue
        if "select (selectors.py" in frames[-1]:
            idle += int(count)
            continue
        busy += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not busy:
        print("no event-loop samples")
        return 1
    print(f"event loop: {busy} busy samples, {idle} idle ({100 * busy / (busy + idle):.0f}% busy)")
    print("inclusive (share of busy samples):")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / busy:5.1f}%  {frame}")
    print("self:")
    for frame, count in own.most_common(top // 2):
        print(f"  {100 * count / busy:5.1f}%  {frame}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.queue_bench", description=__doc__.split("\n")[0]
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
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)  # internal: run one N in this process
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summarize_profile:
        return summarize_profile(args.summarize_profile)
    if args.single:
        return child_main(args)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
