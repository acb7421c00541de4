"""One N, in the child process: the real VideoBot against BenchDiscord and the fixed-latency provider, N /video
commands, the measured window, the result printed as one JSON line for the parent."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.queue_bench.fake import BenchDiscord
from benchmarks.queue_bench.probes import (
    EditRecorder,
    QueryCounter,
    Samples,
    cpu_seconds,
    current_rss_mb,
    deep_size_mb,
    lag_ticker,
    peak_rss_mb,
    sampler,
)
from benchmarks.queue_bench.provider import FixedLatencyProvider, PushingProvider, bench_catalog
from benchmarks.queue_bench.report import RESULT_PREFIX, Observed, collect
from bot import VideoBot, point_at_discord
from core.platform.db import close_db, init_db
from core.platform.settings import load_settings
from core.services import build_services
from tests.fakes.sample_video import sample_mp4

log = logging.getLogger(__name__)

PROMPT = "bench job {}"  # FixedLatencyProvider reads the job's index back from it
ACK_TIMEOUT = 10.0  # seconds a submitter waits for one command's callback


def child_main(args: argparse.Namespace) -> int:
    """Run N = args.single and print the result line."""
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    log.setLevel(logging.INFO)
    for key in ("NO_PROXY", "no_proxy"):
        os.environ[key] = ",".join(filter(None, [os.environ.get(key, ""), "127.0.0.1,localhost"]))
    result = asyncio.run(run_once(args))
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


async def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One N, in this process: start everything, run the jobs, measure, tear down.

    The database is `--database-url` as given (the parent made it fresh), else a new SQLite file.
    """
    n = args.single
    workdir = Path(tempfile.mkdtemp(prefix="vb_bench_"))
    db_url = args.database_url or f"sqlite://{workdir / 'bench.sqlite3'}"
    counter = QueryCounter().install()
    kind = PushingProvider if args.push else FixedLatencyProvider
    provider = kind(args.latency, args.poll_interval, sample_mp4())
    try:
        await init_db(db_url)
        fake = BenchDiscord(slim=not args.full_records)
        await fake.start()
        try:
            async with running_bot(args, n, fake, provider, db_url, workdir) as bot:
                result = collect(args, await measure(args, n, fake, bot, provider, counter))
        finally:
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
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def running_bot(
    args: argparse.Namespace,
    n: int,
    fake: BenchDiscord,
    provider: FixedLatencyProvider,
    db_url: str,
    workdir: Path,
) -> AsyncIterator[VideoBot]:
    """The real bot, connected to the fake and ready, with `provider` serving the one model; closed after."""
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
    try:
        services.providers["bench"] = provider  # the intake and runner share this dict
        bot = VideoBot(services, guild_ready_timeout=0.05)
        bot_task = asyncio.create_task(bot.start(fake.token))
        try:
            await fake.wait_ready(10.0)
            await fake.wait_for(bot.is_ready, 10.0, "the bot to be ready")
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await bot_task
    finally:
        await services.aclose()


async def measure(
    args: argparse.Namespace,
    n: int,
    fake: BenchDiscord,
    bot: VideoBot,
    provider: FixedLatencyProvider,
    counter: QueryCounter,
) -> Observed:
    """The measured window: from the first /video command to the last final edit (or the timeout)."""
    edits = EditRecorder()
    bot.jobs.edit_observers.append(edits)
    o = Observed(n, fake, provider, counter, Samples(), [None] * n, edits.sends)
    stop = asyncio.Event()
    o.rss_before = current_rss_mb()
    o.requests_before = len(fake.requests)
    background = [
        asyncio.create_task(
            lag_ticker(o.samples, stop, lambda: len(bot.worker.running) if bot.worker else 0)
        ),
        asyncio.create_task(sampler(o.samples, stop, bot, provider)),
    ]
    try:
        counter.enabled = True
        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds()
        t0 = time.monotonic()
        log.warning("N=%d: sending %d /video commands (%d at a time)", n, n, args.submit_concurrency)
        o.missing_acks = await submit_all(fake, n, args.users or n, args.submit_concurrency, o.handles)
        o.submit_s = time.monotonic() - t0
        accepted = len(o.accepted)
        fake.expect_finals(accepted)
        log.warning(
            "N=%d: %d accepted in %.1fs (%.0f/s); waiting for the results",
            n,
            accepted,
            o.submit_s,
            accepted / o.submit_s if o.submit_s else 0,
        )
        try:
            await asyncio.wait_for(fake.all_final.wait(), args.timeout)
        except TimeoutError:
            o.timed_out = True
        o.wall_s = time.monotonic() - t0
        o.cpu_s = cpu_seconds() - cpu_before
        o.load = (load_before, os.getloadavg()[0])
        counter.enabled = False
        stop.set()
        await asyncio.gather(*background)
    finally:
        stop.set()
        for task in background:
            task.cancel()
    o.peak_rss = max([peak_rss_mb(), *o.samples.rss])
    return o


async def submit_all(fake: BenchDiscord, n: int, users: int, concurrency: int, handles: list) -> int:
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
                    await asyncio.wait_for(fake.callback_event(handle.id).wait(), ACK_TIMEOUT)
                except TimeoutError:
                    missing += 1

    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return missing
