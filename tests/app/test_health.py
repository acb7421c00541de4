"""/healthz, /readyz and /metrics: the server with injected checks, the worker's claim-loop clock, and the
metrics a real job moves (through the services as the product wires them)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.health import DiscordRateLimits, gateway_ready, scrape_queue
from core.accounts.quotas import QuotaService
from core.jobs.views import Requester
from core.jobs.worker import CLAIM_STALE_AFTER, JobHooks, Worker
from core.platform.clock import REAL_CLOCK
from core.platform.http_server import HttpServer, database_check, flag_check, ping_database
from core.platform.metrics import Metrics
from core.platform.state import PAUSED_KEY, set_state
from core.validation import GenerationParams
from models import Generation, GenerationStatus
from tests.conftest import eventually
from tests.core.jobs.conftest import make_services, pinned_cadence
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_provider import ScriptedProvider

ROOT = Path(__file__).resolve().parents[2]


async def get(server: HttpServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}{path}") as reply:
        return reply.status, await reply.text()


@pytest.fixture
async def serve():
    servers: list[HttpServer] = []

    async def start(server: HttpServer) -> HttpServer:
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus exposition, keyed by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_names_a_dead_loop_and_recovers(serve):
    loops = {"worker": True, "job display": True}
    server = await serve(HttpServer(Metrics(), alive=lambda: loops, checks={}))
    status, body = await get(server, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    loops["job display"] = False
    status, body = await get(server, "/healthz")
    assert status == 503 and json.loads(body)["dead"] == ["job display"]
    loops["job display"] = True
    assert (await get(server, "/healthz"))[0] == 200


async def test_readyz_fails_while_the_database_is_gone_and_comes_back(db, serve):
    gone = asyncio.Event()

    async def ping():
        if gone.is_set():
            await asyncio.Event().wait()  # a database that never answers
        await ping_database()

    checks = {"database": database_check(ping, timeout=0.05)}
    server = await serve(HttpServer(Metrics(), alive=dict, checks=checks))
    assert (await get(server, "/readyz"))[0] == 200
    gone.set()
    status, body = await get(server, "/readyz")
    assert status == 503
    assert json.loads(body)["failing"] == {"database": "no answer within 0.05 s"}
    gone.clear()
    assert (await get(server, "/readyz"))[0] == 200


async def test_readyz_fails_while_the_gateway_is_disconnected(serve):
    class Bot:  # what gateway_ready reads of a discord.Client
        closed, ready, latency = False, True, 0.04

        def is_closed(self):
            return self.closed

        def is_ready(self):
            return self.ready

    bot = Bot()
    checks = {"discord": flag_check(lambda: gateway_ready(bot), "gateway not connected")}
    server = await serve(HttpServer(Metrics(), alive=dict, checks=checks))
    assert (await get(server, "/readyz"))[0] == 200
    bot.latency = float("inf")  # discord.py's latency before the first heartbeat is acknowledged
    status, body = await get(server, "/readyz")
    assert status == 503 and json.loads(body)["failing"] == {"discord": "gateway not connected"}
    bot.latency, bot.closed = 0.04, True
    assert (await get(server, "/readyz"))[0] == 503
    bot.closed = False
    assert (await get(server, "/readyz"))[0] == 200


async def test_readyz_fails_when_the_worker_s_claim_loop_stalls(db, tmp_path):
    clock = FakeClock()  # the worker's monotonic clock only: its loops sleep for real (briefly)
    jobs = make_services(tmp_path, REAL_CLOCK, {"demo": ScriptedProvider(name="demo")}, default_model="demo")
    queue = jobs.job_queue("w1")
    worker = Worker(jobs.runner, queue, slots=1, idle_wait=0.01, monotonic=clock.monotonic)
    assert worker.claim_problem() == "no claim cycle yet"
    stalled = asyncio.Event()
    stalled.set()
    claim_many = queue.claim_many

    async def claims(free):  # a database that stops answering the claim query
        await stalled.wait()
        return await claim_many(free)

    queue.claim_many = claims
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: asyncio.sleep(0, worker.last_claim_cycle is not None), what="a claim cycle")
        assert worker.claim_problem() is None
        stalled.clear()
        await asyncio.sleep(0.05)  # the loop is now stuck in a claim
        clock.advance(CLAIM_STALE_AFTER + 1)
        assert worker.claim_problem() == f"last claim cycle 61 s ago (limit {CLAIM_STALE_AFTER:g} s)"
        stalled.set()
        await eventually(lambda: asyncio.sleep(0, worker.claim_problem() is None), what="claims again")
    finally:
        stalled.set()
        await worker.stop()
        await task


async def test_a_finished_job_moves_the_job_counter_provider_latency_and_spend(db, tmp_path, serve):
    provider = ScriptedProvider(name="gemini", poll_interval=0.01)
    jobs = pinned_cadence(tmp_path, REAL_CLOCK, provider, 0.01)  # a priced model, polled at once

    async def hooks_for(_job_id):
        async def deliver(_result):
            return None

        return JobHooks(None, deliver)

    worker = jobs.worker(jobs.job_queue("w1"), 1, hooks_for)
    worker.idle_wait = 0.02
    job = await jobs.intake.create_job(
        GenerationParams(prompt="a fox", model="omni-1.2-flash", duration=4),
        Requester(user_id=7, guild_id=55),
    )
    await jobs.intake.publish(job.id, None)

    server = await serve(HttpServer(jobs.metrics, alive=dict, checks={}, before_scrape=scrape_queue(jobs)))
    before = samples((await get(server, "/metrics"))[1])
    assert before[("videobot_jobs_waiting", frozenset({("model", "omni-1.2-flash")}))] == 1
    assert before[("videobot_spend_today_usd", frozenset())] == pytest.approx(0.28)

    task = asyncio.create_task(worker.run())
    try:
        await eventually(
            lambda: Generation.filter(id=job.id, status=GenerationStatus.COMPLETED).exists(), what="the job"
        )
        finished = (
            "videobot_jobs_total",
            frozenset({("status", "completed"), ("model", "omni-1.2-flash"), ("provider", "gemini")}),
        )
        await eventually(
            lambda: asyncio.sleep(0, finished in samples(jobs.metrics.exposition().decode())),
            what="the count",
        )
    finally:
        await worker.stop()
        await task
    status, text = await get(server, "/metrics")
    assert status == 200
    after = samples(text)
    done = frozenset({("status", "completed"), ("model", "omni-1.2-flash"), ("provider", "gemini")})
    assert after[("videobot_jobs_total", done)] == 1
    for operation in ("submit", "poll", "download"):
        labels = frozenset({("provider", "gemini"), ("operation", operation), ("outcome", "ok")})
        assert after[("videobot_provider_request_seconds_count", labels)] >= 1
        assert after[("videobot_provider_requests_total", labels)] >= 1
    spend = frozenset({("model", "omni-1.2-flash"), ("server", "55")})
    assert after[("videobot_spend_estimated_usd_total", spend)] == pytest.approx(0.28)
    assert ("videobot_jobs_waiting", frozenset({("model", "omni-1.2-flash")})) not in after


async def test_refusals_are_counted_by_reason(db, tmp_path):
    quotas = QuotaService(daily_videos=1, daily_seconds=0, spend_cap_usd=0)
    jobs = make_services(
        tmp_path, REAL_CLOCK, {"demo": ScriptedProvider(name="demo")}, quotas=quotas, default_model="demo"
    )
    params = GenerationParams(prompt="a fox", duration=4)
    await jobs.intake.admit(params, Requester(user_id=1))
    await jobs.intake.admit(params, Requester(user_id=1))  # over the daily video quota
    await jobs.intake.admit(
        GenerationParams(prompt="a fox", duration=3), Requester(user_id=2)
    )  # odd: invalid
    await set_state(PAUSED_KEY, "1")
    await jobs.intake.admit(params, Requester(user_id=3))
    found = samples(jobs.metrics.exposition().decode())
    counts = {
        dict(labels)["reason"]: v for (name, labels), v in found.items() if name == "videobot_refusals_total"
    }
    assert counts == {"user_quota_exceeded": 1, "invalid_request": 1, "paused": 1}


def test_discord_429s_are_counted_from_discord_s_log():
    metrics = Metrics()
    counter = DiscordRateLimits(metrics)
    import logging

    fmt = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."
    assert counter.filter(logging.LogRecord("discord.http", 30, "", 0, fmt, ("PATCH", "/x", 1.0), None))
    assert counter.filter(logging.LogRecord("discord.http", 30, "", 0, "something else", (), None))
    assert samples(metrics.exposition().decode())[("videobot_discord_rate_limited_total", frozenset())] == 1


def test_the_dashboard_uses_only_exported_metrics_and_the_readme_documents_every_one():
    exported = Metrics().names()
    dashboard = (ROOT / "deploy" / "grafana-dashboard.json").read_text()
    json.loads(dashboard)
    used = set(re.findall(r"videobot_[a-z_]+", dashboard))
    assert used and used <= exported, used - exported
    families = {family.name for family in Metrics().registry.collect()}  # histograms too
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in families if f"`{name}" not in readme)
    assert missing == []


async def test_the_lag_from_a_jobs_end_to_its_result_shown_is_observed_once(db, tmp_path):
    from tests.cogs.conftest import seed_job
    from tests.core.jobs.conftest import make_services
    from tests.fakes.clock import FakeClock

    clock = FakeClock()
    jobs = make_services(tmp_path, clock, {"gemini": ScriptedProvider(name="gemini")})
    gen = await seed_job(7)
    ended = clock.now()
    clock.advance(4.5)  # fitting, pacing and the upload took this long
    assert await jobs.deliveries.delivered(gen.id, ended)
    assert not await jobs.deliveries.delivered(gen.id, ended)  # a second path finds it shown: not counted
    after = samples(jobs.metrics.exposition().decode())
    assert after[("videobot_notification_lag_seconds_count", frozenset())] == 1
    assert after[("videobot_notification_lag_seconds_sum", frozenset())] == pytest.approx(4.5)
