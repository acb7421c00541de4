"""SIGKILL `python bot.py` in the middle of everything, start it again on the same database, and check that
every job ends once: no job lost, none submitted twice to the provider, each result shown once, quota kept.

At the moment of the kill (checked, not hoped for) the jobs are in these states:

    polling      submitted, provider id stored, the provider keeps answering `in_progress` (on the job's
                 event stream; on polls if the stream fails)
    downloading  the provider finished; the download of the file is in flight (the fake stalls it)
    undelivered  completed in the database; the edit that shows the result is in flight (Discord stalls it)
    submitting   the create request is in flight, so no provider id could be stored
    holding      submitted and polling: it took the slot the undelivered job freed when it finished
                 (a finished job's upload happens outside its slot)
    queued x2    waiting for a slot (one behind a busy worker, one behind its own user's running job)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest

from core.accounts.quotas import to_micro
from tests.conftest import Cluster, eventually, query_database
from tests.fakes import gemini_api
from tests.fakes.discord import DEFERRED_CHANNEL_MESSAGE, FakeInteraction, FakeMessage, Fault
from tests.fakes.gemini_api import FakeGeminiApi, Scenario

LEASE_SECONDS = 3.0
STALL = 60.0  # seconds the fakes hold a stalled request (far longer than the test needs)

# Scenarios this test adds to the fake's table; the test changes a job's scenario once the bot is dead.
CRASH_SCENARIOS = {
    "crash_polling": Scenario(outcome="never_finishes"),
    "crash_downloading": Scenario(delays={"download": STALL}),
    "crash_submitting": Scenario(delays={"create": STALL / 3}),
}


@dataclasses.dataclass
class Job:
    """One /video request of the test and what it expects."""

    key: str
    user: str
    scenario: str
    outcome: str = "completed"
    handle: FakeInteraction | None = None

    @property
    def prompt(self) -> str:
        return f"crash recovery {self.key} [fake:{self.scenario}]"

    @property
    def message(self) -> FakeMessage:
        assert self.handle is not None and self.handle.original is not None
        return self.handle.original


def crash_jobs() -> list[Job]:
    return [
        Job("polling", "alice", "crash_polling"),
        Job("downloading", "bob", "crash_downloading"),
        Job("undelivered", "carol", "success"),
        Job("submitting", "erin", "crash_submitting", outcome="failed"),
        Job("holding", "frank", "crash_polling"),
        Job("queued_slot", "dave", "pending"),  # every worker slot is busy
        Job("queued_user", "alice", "pending"),  # alice already has a job running (USER_MAX_RUNNING=1)
    ]


async def jobs_by_prompt(url: str) -> dict[str, dict[str, Any]]:
    rows = await query_database(url, "SELECT * FROM generations")
    return {row["prompt"]: row for row in rows}


def creates_of(gemini: FakeGeminiApi, prompt: str) -> int:
    """Create POSTs the provider received for this prompt."""
    return sum(prompt in json.dumps(r.json) for r in gemini.creates)


def provider_job(gemini: FakeGeminiApi, prompt: str) -> gemini_api.Job | None:
    return next((j for j in gemini.jobs.values() if prompt in j.prompt), None)


def title(message: FakeMessage) -> str:
    return message.embeds[0].get("title", "") if message.embeds else ""


def uploads(message: FakeMessage) -> list:
    """Writes to the message that carried an mp4."""
    return [w for w in message.history if any(f.filename.endswith(".mp4") for f in w.files)]


@pytest.fixture
def crash_scenarios(monkeypatch):
    for name, scenario in CRASH_SCENARIOS.items():
        monkeypatch.setitem(gemini_api.SCENARIOS, name, scenario)


def bot_env(cluster: Cluster) -> dict[str, str]:
    return cluster.env(
        catalog={"poll_interval_s": 0.2},
        lease_seconds=LEASE_SECONDS,
        max_concurrent_jobs=4,
        user_max_running=1,
        user_max_queued=5,
        quota_daily_videos=10,
        quota_daily_seconds=100,
        daily_spend_cap_usd=0,
        edit_interval=0.3,
        notify_after=0,  # every delivery pings: a second delivery would show as a second ping
    )


async def test_sigkill_mid_flight_then_restart_finishes_every_job_exactly_once(cluster, crash_scenarios):
    discord, gemini, url = cluster.discord, cluster.gemini, cluster.url
    jobs = crash_jobs()
    began = time.monotonic()
    env = bot_env(cluster)
    first = await cluster.start(env=env)  # returns once it is connected, its commands synced

    async def send(job: Job) -> None:
        job.handle = await discord.send_slash_command(
            "video", {"prompt": job.prompt, "duration": 3, "resolution": "360p"}, user=discord.user(job.user)
        )
        assert (await job.handle.wait_callback()).type == DEFERRED_CHANNEL_MESSAGE
        if job.key == "undelivered":
            # From now on Discord holds every edit of this job's message: its result can't be shown.
            stalled.append(
                discord.inject(
                    f"PATCH /webhooks/*/{job.handle.token}/messages/*", Fault.slow(STALL), times=None
                )
            )

    stalled: list = []
    by_key = {job.key: job for job in jobs}
    running, waiting = jobs[:4], jobs[5:]
    for job in running:
        await send(job)

    async def submitted(group) -> bool:
        return all(creates_of(gemini, j.prompt) for j in group)

    await eventually(lambda: submitted(running), 20, "the first four jobs to be claimed and submitted")

    async def undelivered_finished() -> bool:
        rows = await jobs_by_prompt(url)
        return rows[by_key["undelivered"].prompt]["status"] == "completed"

    await eventually(undelivered_finished, 20, "the undelivered job to finish (its slot is free again)")
    await send(by_key["holding"])
    await eventually(lambda: submitted([by_key["holding"]]), 20, "the holding job to take the free slot")
    for job in waiting:
        await send(job)

    async def ready_to_kill() -> dict[str, dict[str, Any]] | None:
        rows = await jobs_by_prompt(url)
        if len(rows) < len(jobs):
            return None
        row = {key: rows[job.prompt] for key, job in by_key.items()}
        polling = provider_job(gemini, by_key["polling"].prompt)
        downloading = provider_job(gemini, by_key["downloading"].prompt)
        token = by_key["undelivered"].handle.token
        final_edit_in_flight = any(
            "Video ready" in json.dumps(r.payload)
            for r in discord.requests_to(f"PATCH /webhooks/*/{token}/messages/*")
        )
        ok = (
            polling is not None
            and (polling.streams >= 1 or polling.polls >= 3)  # waiting on its stream (or polling)
            and row["polling"]["status"] == "processing"
            and downloading is not None
            and downloading.file_id is not None
            and any(downloading.file_id in r.path for r in gemini.requests_to("GET", "/files/"))
            and row["downloading"]["status"] == "processing"
            and row["undelivered"]["status"] == "completed"
            and row["undelivered"]["delivered_at"] is None
            and final_edit_in_flight
            and row["submitting"]["status"] == "processing"
            and row["submitting"]["submit_started_at"] is not None
            and row["submitting"]["provider_job_id"] is None
            and row["holding"]["status"] == "processing"
            and row["queued_slot"]["status"] == "queued"
            and row["queued_user"]["status"] == "queued"
        )
        return row if ok else None

    before = await eventually(ready_to_kill, 30, "every job to reach its state for the kill")
    await cluster.kill(first)
    killed_at = time.monotonic()
    print("killed with", {key: row["status"] for key, row in before.items()}, f"at {killed_at - began:.1f}s")

    # The world moves on while the bot is dead: Discord answers again, the provider finishes its work.
    for rule in stalled:
        discord.faults.remove(rule)
    for key in ("polling", "holding"):
        provider_job(gemini, by_key[key].prompt).scenario = Scenario()
    downloading = provider_job(gemini, by_key["downloading"].prompt)
    gemini.files[downloading.file_id].scenario = Scenario()

    # Restart once the dead worker's leases have run out, so the start-up sweep returns its jobs.
    await asyncio.sleep(LEASE_SECONDS + 1)
    second = await cluster.start(env=env)  # returns once it identified: a new gateway session

    def finished() -> bool:
        return all(
            job.handle.original is not None
            and title(job.message) in ("✅ Video ready", "❌ Video failed")
            and any(c.startswith("video:regen:") for c in job.message.custom_ids())
            for job in jobs
        )

    async def all_delivered() -> bool:
        rows = await jobs_by_prompt(url)
        return finished() and all(rows[job.prompt]["delivered_at"] is not None for job in jobs)

    # The undelivered result is re-delivered by the display sweep (30 s after it finished), so allow 70 s.
    await eventually(all_delivered, 70, "every job's result to be delivered")
    await asyncio.sleep(1.0)  # let the last pings land (they follow the delivered_at update)
    assert await second.stop() == 0
    recovered_in = time.monotonic() - killed_at

    rows = await jobs_by_prompt(url)
    usage = await query_database(url, "SELECT user_id, videos, seconds FROM daily_usage")
    spend = await query_database(url, "SELECT micro_usd FROM daily_spend")

    for job in jobs:
        row = rows[job.prompt]
        # Every job reached a terminal state, the expected one.
        assert row["status"] == job.outcome, (job.key, row["status"], row["error"])
        # Nothing was submitted twice: one create per job, and resumed jobs kept their provider id.
        assert creates_of(gemini, job.prompt) == 1, (job.key, creates_of(gemini, job.prompt))
        if before[job.key]["provider_job_id"]:
            assert row["provider_job_id"] == before[job.key]["provider_job_id"], job.key
        # The result is in the job's own message, uploaded once, with the finished buttons.
        message = job.message
        assert row["message_id"] == message.id, job.key
        assert not message.deleted
        if job.outcome == "completed":
            assert title(message) == "✅ Video ready", job.key
            assert [a.filename for a in message.attachments] == [f"video_{row['id']}.mp4"], job.key
            assert len(uploads(message)) == 1, (job.key, len(uploads(message)))
        else:
            assert title(message) == "❌ Video failed", job.key
            assert not message.attachments and not uploads(message)
        # One ping per job (NOTIFY_AFTER=0), none twice; never a second copy of the result.
        user_id = discord.user(job.user)["id"]
        channel_posts = [m for m in discord.messages.values() if m.kind == "channel" and m.created]
        pings = [m for m in channel_posts if f"/{message.id}" in m.content and f"<@{user_id}>" in m.content]
        assert len(pings) == 1, (job.key, [m.content for m in pings])
        reposts = [m for m in channel_posts if f'"Job #{row["id"]}"' in json.dumps(m.embeds)]
        assert reposts == [], (job.key, [m.content for m in reposts])

    failed = rows[by_key["submitting"].prompt]
    assert failed["error_type"] == "provider_unavailable" and failed["refunded"], failed

    # Quota is conserved: each user is charged exactly for their jobs that were not refunded.
    charged = {int(u["user_id"]): (u["videos"], u["seconds"]) for u in usage}
    for user in {job.user for job in jobs}:
        user_id = int(discord.user(user)["id"])
        kept = [r for r in rows.values() if int(r["user_id"]) == user_id and not r["refunded"]]
        assert charged.get(user_id, (0, 0)) == (len(kept), sum(r["video_seconds"] for r in kept)), user
    # ... and the spend too: every job the provider may bill stays counted.
    billed = sum(to_micro(r["estimated_cost_usd"]) for r in rows.values() if not r["spend_released"])
    assert sum(s["micro_usd"] for s in spend) == billed

    assert "Traceback" not in second.output()
    print(f"kill -> all delivered: {recovered_in:.1f}s; whole test {time.monotonic() - began:.1f}s")
