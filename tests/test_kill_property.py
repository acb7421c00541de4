"""A seeded property test of crashes: users send /video (some over their quota, some cancelled with the Cancel
button) while `python bot.py` is SIGKILLed at random moments and started again once its leases expired.
Whatever the moments, the end state must keep the promises of the queue:

- every job a user was shown ends `completed`, `failed` or `cancelled`, its result in its own message,
  shown once: one upload per completed job (a second only if a kill fell between the upload and the
  `delivered` mark, which is the documented at-least-once window), failed and cancelled jobs show their
  state, nothing is reposted, nobody is pinged twice; no job is left `pending`, `queued` or `processing`;
- nothing is submitted twice to the provider: at most one create per job, and a job keeps the provider id
  it had at any kill;
- the money adds up: each user's usage is the count and seconds of their jobs not refunded, the day's
  spend the estimated cost of the jobs whose spend was not released, and refunds follow the rules.

The seed fixes the schedule (who sends what when, the provider's behaviour per job, which jobs are
cancelled and when, when the kills happen); the operating system still decides the exact interleaving.
Each run prints its seed. KILL_SEED=<n>[,<n>...] runs those seeds; KILL_SEED=random a fresh one.

On PostgreSQL a `python bot.py worker` runs beside the bot and is sometimes the one killed; the last kill
takes down both (SQLite is for one process), and one bot starts to recover everything. One wait of the
product is longer than this test: a job left `pending` by an admission that died is withdrawn after 5
minutes. While everything is down after the last kill, the test moves those rows' creation time back by
that much, so the last start shows what the sweep does without waiting for it. (Results nobody delivered
are re-delivered half a lease after they ended: 1.5 s here.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from core.accounts.quotas import to_micro
from core.errors import REFUNDED_CATEGORIES
from tests.conftest import Cluster, eventually, execute_database, is_postgres, query_database
from tests.fakes import gemini_api
from tests.fakes.discord import (
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    FLAG_EPHEMERAL,
    UPDATE_MESSAGE,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.gemini_api import FakeGeminiApi, Scenario

LEASE_SECONDS = 3.0
DEFAULT_SEEDS = [20261207]
USERS = 5
VIDEOS_PER_DAY = 5  # per user; each sends 5-8 requests, so some are over quota
SECONDS_PER_DAY = 20
STARTUP = 1.5  # seconds `python bot.py` takes to connect, about
STALE_PENDING_AFTER = dt.timedelta(minutes=6)  # core.jobs.intake.STALE_PENDING_AFTER (5 min), plus a margin
ANSWER_WITHIN = 10.0  # seconds: a request the bot neither answered nor refused by then was lost
NOTICED_WITHIN = 1.0  # seconds the fake Discord may take to notice a killed bot's connection is gone
TERMINAL = ("completed", "failed", "cancelled")
TITLES = {"completed": "✅ Video ready", "failed": "❌ Video failed", "cancelled": "🚫 Video cancelled"}

# How the provider treats a job (picked per request by the seed): quick, slow to accept (a kill lands
# while the create is in flight), slow to download (a kill lands mid-download), long (a kill lands while
# it is polled), or ending in the provider's failure or a safety block.
SCENARIOS = {
    "kp_quick": Scenario(pending_polls=2, delivery="uri"),
    "kp_slow_create": Scenario(pending_polls=3, delays={"create": 0.8}),
    "kp_slow_download": Scenario(pending_polls=3, delivery="uri", delays={"download": 0.8}),
    "kp_long": Scenario(queued_polls=2, pending_polls=10),
    "kp_failed": Scenario(pending_polls=2, outcome="failed"),
    "kp_safety": Scenario(pending_polls=1, outcome="safety"),
}
WEIGHTS = {
    "kp_quick": 3,
    "kp_slow_create": 2,
    "kp_slow_download": 2,
    "kp_long": 2,
    "kp_failed": 1,
    "kp_safety": 1,
}


def seeds() -> list[int]:
    """The seeds to run: KILL_SEED (comma-separated, or `random`), else the default ones."""
    value = os.environ.get("KILL_SEED", "").strip()
    if value == "random":
        return [random.SystemRandom().randrange(2**32)]
    return [int(s) for s in value.split(",") if s.strip()] or DEFAULT_SEEDS


@dataclasses.dataclass
class Request:
    """One /video command of the plan, and what became of it."""

    n: int
    user: str
    at: float  # seconds after the traffic starts
    scenario: str
    duration: int
    cancel_after: float | None  # click Cancel this long after the reply, or never
    handle: FakeInteraction | None = None
    clicked: FakeInteraction | None = None

    @property
    def prompt(self) -> str:
        return f"kill property {self.n} of {self.user} [fake:{self.scenario}]"


@dataclasses.dataclass
class Plan:
    """Everything the seed decides."""

    seed: int
    requests: list[Request]
    lives: list[float]  # how long each run lives before it is killed (the last kill takes everything)
    victims: list[str]  # which process each intermediate kill takes: "bot" or "worker"
    downtimes: list[float]  # seconds each kill's process stays dead

    @classmethod
    def of(cls, seed: int, *, with_worker: bool) -> Plan:
        rng = random.Random(seed)
        kills = rng.randint(3, 5)
        lives = [rng.uniform(1.5, 5.0) for _ in range(kills)]
        victims = [rng.choice(["bot", "worker"]) if with_worker else "bot" for _ in range(kills - 1)]
        downtimes = [LEASE_SECONDS + rng.uniform(0.2, 1.0) for _ in range(kills)]
        # Requests come in until about the last kill (a few reach the last start instead).
        window = sum(lives) + sum(downtimes[:-1]) + STARTUP * (kills - 1)
        requests = []
        for u in range(USERS):
            for _ in range(rng.randint(5, 8)):
                scenario = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
                cancel = rng.uniform(0.0, 2.0) if rng.random() < 0.3 else None
                requests.append(
                    Request(0, f"user{u}", rng.uniform(0, window), scenario, rng.choice([3, 4, 5]), cancel)
                )
        requests.sort(key=lambda r: r.at)
        for n, request in enumerate(requests, start=1):
            request.n = n
        return cls(seed, requests, lives, victims, downtimes)

    def describe(self) -> str:
        scenarios = Counter(r.scenario for r in self.requests)
        return (
            f"seed {self.seed}: {len(self.requests)} requests {dict(scenarios)},"
            f" {sum(r.cancel_after is not None for r in self.requests)} to cancel;"
            f" {len(self.lives)} kills after {[round(x, 1) for x in self.lives]} s of life"
            f" (victims {[*self.victims, 'all']})"
        )


def as_utc(value: Any) -> dt.datetime | None:
    """A timestamp column as read by query_database (a string on SQLite, a datetime on PostgreSQL)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def title(message: FakeMessage) -> str:
    return message.embeds[0].get("title", "") if message.embeds else ""


def uploads(message: FakeMessage) -> list:
    """Writes to the message that carried an mp4."""
    return [w for w in message.history if any(f.filename.endswith(".mp4") for f in w.files)]


def creates_of(gemini: FakeGeminiApi, prompt: str) -> int:
    return sum(prompt in json.dumps(r.json) for r in gemini.creates)


def provider_jobs(gemini: FakeGeminiApi, prompt: str) -> list[gemini_api.Job]:
    return [j for j in gemini.jobs.values() if j.prompt == prompt]


async def jobs_by_prompt(url: str) -> dict[str, dict[str, Any]]:
    rows = await query_database(url, "SELECT * FROM generations")
    by_prompt = {row["prompt"]: row for row in rows}
    assert len(by_prompt) == len(rows), "a request was recorded twice"
    return by_prompt


async def age(url: str, column: str, by: dt.timedelta, where: str) -> list[int]:
    """Move `column` back by `by` in the rows matching `where` (the product's clock for them jumps ahead)."""
    rows = await query_database(url, f"SELECT id, {column} FROM generations WHERE {where}")
    await execute_database(
        url,
        *(
            f"UPDATE generations SET {column} = '{(as_utc(r[column]) - by).isoformat(' ', 'microseconds')}'"
            f" WHERE id = {r['id']}"
            for r in rows
        ),
    )
    return [r["id"] for r in rows]


class Chaos:
    """Runs the plan: the traffic, the kills and restarts, and the final recovery."""

    def __init__(self, cluster: Cluster, plan: Plan, with_worker: bool) -> None:
        self.cluster = cluster
        self.discord = cluster.discord
        self.plan = plan
        self.with_worker = with_worker
        self.env = cluster.env(
            catalog={"poll_interval_s": 0.2, "requests_per_minute": None},
            lease_seconds=LEASE_SECONDS,
            max_concurrent_jobs=4,
            user_max_running=2,
            user_max_queued=3,
            quota_daily_videos=VIDEOS_PER_DAY,
            quota_daily_seconds=SECONDS_PER_DAY,
            daily_spend_cap_usd=0,
            edit_interval=0.3,
            notify_after=0,  # every delivery pings: a second delivery would show as a second ping
        )
        self.worker_env = {**self.env, "WORKERS": "2"}
        self.bot = None
        self.worker = None
        self.traffic: asyncio.Task[None] | None = None
        self.provider_ids: dict[int, str] = {}  # job id -> provider id, as seen right after each kill
        self.interrupted: set[int] = set()  # jobs the provider had when their worker was killed
        self.began = time.monotonic()

    def note(self, text: str) -> None:
        """Print what happened when (shown for a failed test, even one stopped by pytest-timeout)."""
        print(f"{time.monotonic() - self.began:6.1f}s {text}")

    async def start(self, which: str) -> None:
        if which == "bot":
            self.bot = await self.cluster.start(env=self.env)
        else:
            self.worker = await self.cluster.start("worker", env=self.worker_env)
        self.note(f"{which} started")

    async def kill(self, *which: str) -> None:
        await self.cluster.kill(*(self.bot if w == "bot" else self.worker for w in which))
        rows = await query_database(self.cluster.url, "SELECT id, status, provider_job_id FROM generations")
        for row in rows:
            if row["provider_job_id"]:
                self.provider_ids.setdefault(row["id"], row["provider_job_id"])
                if row["status"] == "processing":
                    self.interrupted.add(row["id"])
        self.note(f"killed {'+'.join(which)}: {dict(Counter(r['status'] for r in rows))}")

    async def run(self) -> None:
        """Start; live, kill, wait for the leases to expire, start again; the last kill takes everything, and
        one bot starts to recover it all."""
        await self.start("bot")
        if self.with_worker:
            await self.start("worker")
        self.traffic = asyncio.create_task(self.send_requests())
        for life, victim, down in zip(self.plan.lives, self.plan.victims, self.plan.downtimes, strict=False):
            await asyncio.sleep(life)
            await self.kill(victim)
            await asyncio.sleep(down)
            await self.start(victim)
        await asyncio.sleep(self.plan.lives[-1])
        await self.kill(*(["bot", "worker"] if self.with_worker else ["bot"]))
        await asyncio.sleep(self.plan.downtimes[-1])
        # Everything is down: a job left pending is withdrawn only 5 minutes on (see the module docstring).
        url = self.cluster.url
        stale = await age(url, "created_at", STALE_PENDING_AFTER, "status = 'pending'")
        rows = await query_database(
            url, "SELECT id FROM generations WHERE delivered_at IS NULL AND status IN ('completed', 'failed')"
        )
        self.note(f"all down; left pending: {stale}; finished, not shown yet: {[r['id'] for r in rows]}")
        await self.start("bot")  # the recovery: one process picks up everything

    async def send_requests(self) -> None:
        """Send the requests at their planned moments (waiting for a connected bot), and click Cancel."""
        began = time.monotonic()
        tasks = []
        for request in self.plan.requests:
            await asyncio.sleep(max(0.0, began + request.at - time.monotonic()))
            await until(lambda: self.discord.connected, 30, "a connected bot")
            options = {"prompt": request.prompt, "duration": request.duration, "resolution": "360p"}
            user = self.discord.user(request.user)
            request.handle = await self.discord.send_slash_command("video", options, user=user)
            if request.cancel_after is not None:
                tasks.append(asyncio.create_task(self.cancel_later(request)))
        await asyncio.gather(*tasks)

    async def cancel_later(self, request: Request) -> None:
        """Click the job's Cancel button `cancel_after` seconds after the reply, if it still has one."""
        handle = request.handle
        if not await until(lambda: handle.attempts, 4, None):
            self.note(f"request {request.n}: no answer, no Cancel")
            return  # the bot died before it answered
        await asyncio.sleep(request.cancel_after)

        def cancel_button() -> str | None:
            message = handle.original
            if message is None or message.deleted:
                return None
            return next((c for c in message.custom_ids() if c.startswith("video:cancel:")), None)

        if not await until(lambda: cancel_button() and self.discord.connected, 5, None):
            self.note(f"request {request.n}: no Cancel button (refused, or over)")
            return
        button = cancel_button()
        user = self.discord.user(request.user)
        request.clicked = await self.discord.send_component_click(handle.original.id, button, user=user)
        self.note(f"request {request.n}: Cancel clicked ({button})")


async def until(predicate: Callable[[], Any], timeout: float, what: str | None) -> Any:  # noqa: ASYNC109
    """`predicate()` once it is truthy, polled every 20 ms. After `timeout` seconds: an AssertionError naming
    `what`, or a falsy value when `what` is None.

    Not FakeDiscord.wait_for: on Python 3.11 its deadline can be lost (asyncio.wait_for swallows the
    cancellation of the enclosing asyncio.timeout when the condition was notified at the same moment),
    so a predicate that never holds would wait forever instead of failing.
    """

    async def check() -> Any:
        return predicate()

    try:
        return await eventually(check, timeout, what or "")
    except AssertionError:
        if what is not None:
            raise
        return None


def killed_between(cluster: Cluster, since: float, until: float | dt.datetime) -> bool:
    """Whether a kill came after `since` (time.monotonic(), the fake's clock too) and before `until` (the
    same clock, or a wall-clock time written by the product)."""
    return any(
        since <= at and (at <= until if isinstance(until, float) else wall <= until)
        for _, at, wall in cluster.kills
    )


@pytest.fixture
def kill_scenarios(monkeypatch):
    for name, scenario in SCENARIOS.items():
        monkeypatch.setitem(gemini_api.SCENARIOS, name, scenario)


@pytest.mark.parametrize("seed", seeds(), ids=lambda s: f"seed={s}")
async def test_repeated_sigkills_keep_every_promise(cluster, kill_scenarios, seed):
    with_worker = is_postgres()  # several processes need PostgreSQL
    plan = Plan.of(seed, with_worker=with_worker)
    print(f"KILL_SEED={seed}  ({plan.describe()})")
    chaos = Chaos(cluster, plan, with_worker)
    discord, gemini, url = cluster.discord, cluster.gemini, cluster.url
    try:
        await chaos.run()
        await chaos.traffic  # the requests planned after the last kill went to the last start
    finally:
        if chaos.traffic is not None and not chaos.traffic.done():
            chaos.traffic.cancel()
    requests = plan.requests

    async def settled() -> bool:
        rows = await jobs_by_prompt(url)
        if any(row["status"] not in TERMINAL for row in rows.values()):
            return False
        for request in requests:
            row = rows.get(request.prompt)
            if row is None or row["message_id"] is None:
                continue
            message = request.handle.original
            if row["delivered_at"] is None or message is None or title(message) != TITLES[row["status"]]:
                return False
        return True

    await eventually(settled, 30, "every job to end, its result shown")
    await asyncio.sleep(1.0)  # let the last pings land (they follow the delivered_at update)
    await cluster.stop_all()
    took = time.monotonic() - chaos.began

    rows = await jobs_by_prompt(url)
    usage = await query_database(url, "SELECT user_id, videos, seconds FROM daily_usage")
    spend = await query_database(url, "SELECT micro_usd FROM daily_spend")
    channel_posts = [m for m in discord.messages.values() if m.kind == "channel" and m.created]
    outcomes: Counter[str] = Counter()
    why = f"(KILL_SEED={seed})"

    for request in requests:
        handle, row = request.handle, rows.get(request.prompt)
        creates = creates_of(gemini, request.prompt)
        assert creates <= 1, (request.n, creates, why)  # never submitted twice
        if row is None:
            # Refused (privately), or the bot died before it recorded the request: nothing charged, nothing run.
            assert creates == 0, (request.n, why)
            callback, original, sent = handle.callback, handle.original, handle.dispatched_at
            died_meanwhile = sent is None or killed_between(
                cluster, sent - NOTICED_WITHIN, sent + ANSWER_WITHIN
            )
            if callback is None:  # never answered: only if the bot died before it could
                outcomes["never answered (killed)"] += 1
                assert died_meanwhile, (request.n, why)
            elif callback.type == CHANNEL_MESSAGE:
                outcomes["refused"] += 1
                assert callback.data["flags"] & FLAG_EPHEMERAL, (request.n, callback.data, why)
            elif original.deleted:  # refused after the defer: the reply deleted, the refusal sent privately
                outcomes["refused after the defer"] += 1
                assert any(m.ephemeral for m in handle.followups), (request.n, why)
            else:  # the public "thinking…" reply stays only when the bot died before it could say more
                outcomes["left thinking (killed)"] += 1
                assert callback.type == DEFERRED_CHANNEL_MESSAGE and original.loading, (request.n, why)
                assert died_meanwhile, (request.n, why)
            continue

        job = f"job {row['id']} (request {request.n}, {request.scenario}) {why}"
        assert row["status"] in TERMINAL, (job, row["status"])  # nothing pending, queued or processing
        outcomes[row["status"] if row["status"] != "failed" else f"failed ({row['error_type']})"] += 1
        if row["id"] in chaos.interrupted:
            outcomes[f"resumed by polling, then {row['status']}"] += 1
        if row["submit_started_at"] is None:
            assert creates == 0, job
        if row["provider_job_id"]:
            # One create, and the id stored is the one the provider gave (kept across every restart).
            assert creates == 1, job
            assert [j.id for j in provider_jobs(gemini, request.prompt)] == [row["provider_job_id"]], job
        if row["id"] in chaos.provider_ids:
            assert row["provider_job_id"] == chaos.provider_ids[row["id"]], job

        if row["message_id"] is None:
            # Recorded, but the bot died before it was published: the sweep withdrew it and gave everything back.
            outcomes["withdrawn"] += 1
            assert row["status"] == "cancelled" and row["refunded"] and row["spend_released"], (job, row)
            assert creates == 0, job
            continue

        # The result is in the job's own message, once.
        message = handle.original
        assert message is not None and row["message_id"] == message.id, job
        assert not message.deleted, job
        assert title(message) == TITLES[row["status"]], (job, title(message))
        assert any(c == f"video:regen:{row['id']}" for c in message.custom_ids()), (job, message.custom_ids())
        shown = uploads(message)
        if row["status"] == "completed":
            assert [a.filename for a in message.attachments] == [f"video_{row['id']}.mp4"], job
            assert shown, job
            if len(shown) > 1:  # shown again only if a kill came between the upload and the delivered mark
                assert killed_between(cluster, shown[0].at, as_utc(row["delivered_at"])), (job, len(shown))
                outcomes["re-uploaded after a kill"] += 1
        else:
            assert not message.attachments and not shown, job
        pings = [m for m in channel_posts if f"/{message.id}" in m.content]
        assert len(pings) <= 1, (job, [m.content for m in pings])
        assert all(m.content.startswith(f"<@{row['user_id']}> ") for m in pings), (job, pings)
        if request.clicked is not None:  # the Cancel click was answered, or the bot died before it could
            click = request.clicked.callback
            if click is None:
                sent = request.clicked.dispatched_at
                assert sent is None or killed_between(cluster, sent - NOTICED_WITHIN, sent + ANSWER_WITHIN), (
                    job
                )
            elif click.type == UPDATE_MESSAGE:  # answered by editing the message to the cancelled state
                assert row["status"] == "cancelled", job
        at_provider = provider_jobs(gemini, request.prompt)
        if row["status"] == "cancelled" and at_provider and not any(j.cancelled for j in at_provider):
            outcomes["cancelled, but not at the provider"] += 1
            print(f"{job}: cancelled, its provider job {at_provider[0].id} never cancelled")
        reposts = [m for m in channel_posts if f'"Job #{row["id"]}"' in json.dumps(m.embeds)]
        assert reposts == [], (job, [m.content for m in reposts])

        # Refunds and spend follow the rules.
        if row["status"] == "completed":
            assert not row["refunded"] and not row["spend_released"], job
        elif row["status"] == "cancelled":
            never_sent = row["submit_started_at"] is None
            assert bool(row["refunded"]) == never_sent and bool(row["spend_released"]) == never_sent, (
                job,
                row,
            )
        else:
            assert row["error_type"] in {c.value for c in REFUNDED_CATEGORIES} and row["refunded"], (job, row)
            # Spend is released only if the provider cannot have billed: never sent, or safety-blocked.
            # (Killed while the create was in flight, the provider may have made the job: it stays counted.)
            unbilled = row["submit_started_at"] is None or row["error_type"] == "safety_blocked"
            assert bool(row["spend_released"]) == unbilled, (job, row)

    # Nobody was charged for a job that is not theirs, and nothing else was recorded.
    assert set(rows) <= {r.prompt for r in requests}
    charged = {int(u["user_id"]): (u["videos"], u["seconds"]) for u in usage}
    for user in {r.user for r in requests}:
        user_id = int(discord.user(user)["id"])
        kept = [r for r in rows.values() if int(r["user_id"]) == user_id and not r["refunded"]]
        assert charged.get(user_id, (0, 0)) == (len(kept), sum(r["video_seconds"] for r in kept)), (user, why)
        assert len(kept) <= VIDEOS_PER_DAY and sum(r["video_seconds"] for r in kept) <= SECONDS_PER_DAY
    billed = sum(to_micro(r["estimated_cost_usd"]) for r in rows.values() if not r["spend_released"])
    assert sum(s["micro_usd"] for s in spend) == billed, why
    assert not [p.log_path.name for p in cluster.processes if "Traceback" in p.output()], why

    clicks = sum(r.clicked is not None for r in requests)
    print(
        f"KILL_SEED={seed}: {dict(outcomes)}, {clicks} Cancel clicks, {len(cluster.kills)} kills; {took:.1f}s"
    )
