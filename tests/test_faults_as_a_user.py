"""`python bot.py` tried as a user would, with ordinary faults on: the first /video replies fail (10062),
one job's message and channel are lost to the bot (404 + 403), and the database is locked for 8 s while
a job runs. Every other job is delivered exactly once, nothing is submitted twice, nobody is locked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from tests.conftest import (
    BotProcess,
    bot_environment,
    create_database,
    drop_database,
    eventually,
    fresh_database_url,
    is_postgres,
    query_database,
)
from tests.fakes.discord import FakeDiscord, FakeInteraction, Fault

VIDEO = {"duration": 2, "resolution": "360p"}
LOCK_SECONDS = 8.0


@contextlib.asynccontextmanager
async def database_locked(url: str, seconds: float):
    """Hold an exclusive lock on the job table for `seconds` (SQLite: the whole file)."""
    if is_postgres():
        import asyncpg

        conn = await asyncpg.connect(url.replace("asyncpg://", "postgres://", 1))
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE generations IN ACCESS EXCLUSIVE MODE")
                yield
                await asyncio.sleep(seconds)
        finally:
            await conn.close()
        return
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        await asyncio.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def mp4_writes(handle: FakeInteraction) -> int:
    message = handle.original
    return (
        sum(1 for w in message.history if any(f.filename.endswith(".mp4") for f in w.files)) if message else 0
    )


async def test_faults_tried_as_a_user_lose_no_job_and_lock_nobody_out(tmp_path: Path):
    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        async with FakeDiscord() as fake:
            env = bot_environment(
                **fake.env,
                DATABASE_URL=url,
                OUTPUT_DIR=str(tmp_path / "videos"),
                DEMO_LATENCY="3",
                EDIT_INTERVAL="0.5",
                QUOTA_DAILY_VIDEOS="5",
                USER_MAX_QUEUED="3",
                MAX_CONCURRENT_JOBS="4",
                LOG_LEVEL="INFO",
            )
            bot = await BotProcess(env, tmp_path / "bot.log").start()
            try:
                await fake.wait_for(lambda: fake.connected and fake.commands, 60, "bot.py to connect")
                await run_scenario(fake, url)
                assert await bot.stop() == 0
            finally:
                await bot.stop()
                print(bot.output()[-20000:])
            output = bot.output()
            assert "database is locked" in output or is_postgres(), "the lock really hit the bot"
            assert fake.token not in output
    finally:
        await drop_database(url)


async def video(fake: FakeDiscord, user: str, prompt: str) -> FakeInteraction:
    handle = await fake.send_slash_command("video", {"prompt": prompt, **VIDEO}, user=fake.user(user))
    await handle.wait_callback()
    return handle


async def run_scenario(fake: FakeDiscord, url: str) -> None:
    # 1. Alice's first two /video meet a slow event loop: Discord answers their defers 404/10062.
    lost = fake.inject("POST /interactions/*/*/callback", Fault.unknown_interaction(), times=None)
    for n in range(2):
        await video(fake, "alice", f"lost {n}")
    fake.faults.remove(lost)
    rows = await eventually(lambda: _withdrawn(url, 2), 20, "both lost jobs to be withdrawn")
    assert all(r["refunded"] for r in rows)

    # 2. Bob's job: its message is deleted and the bot lost access to the channel before the result.
    bob = await video(fake, "bob", "lost channel")
    fake.inject(f"PATCH /webhooks/*/{bob.token}/messages/*", Fault.unknown_message(), times=None)
    fake.inject("POST /channels/*/messages", Fault.missing_access(), times=None)

    # 3. Alice is not locked out: three jobs (her waiting cap) are accepted.
    alice = [await video(fake, "alice", f"fox {n}") for n in range(3)]
    assert all(h.callback.type == 5 for h in alice), [h.callback for h in alice]

    # 4. Carol's job is running when the database is locked for 8 s.
    carol = await video(fake, "carol", "through the lock")
    await eventually(lambda: _status(url, "through the lock", "processing"), 20, "carol's job to start")
    async with database_locked(url, LOCK_SECONDS):
        pass

    delivered = [*alice, carol]
    await eventually(lambda: _all_delivered(url, len(delivered)), 90, "every deliverable job to be delivered")
    await asyncio.sleep(1.0)  # any second (wrong) delivery would land now
    for handle in delivered:
        assert mp4_writes(handle) == 1, handle.original and handle.original.embeds
    rows = await query_database(
        url, "SELECT prompt, status, provider_job_id, refunded, user_id FROM generations"
    )
    ran = [r for r in rows if r["provider_job_id"]]
    assert len({r["provider_job_id"] for r in ran}) == len(ran), "one provider job per job"
    assert {r["prompt"] for r in rows if r["status"] == "completed"} >= {
        "fox 0",
        "fox 1",
        "fox 2",
        "through the lock",
    }
    bob_row = next(r for r in rows if r["prompt"] == "lost channel")
    assert bob_row["status"] == "completed"
    assert mp4_writes(bob) == 0
    usage = await query_database(url, "SELECT user_id, videos FROM daily_usage")
    alice_id = int(fake.user("alice")["id"])
    assert {int(u["user_id"]): u["videos"] for u in usage}[alice_id] == 3, "the two lost jobs cost nothing"


async def _withdrawn(url: str, n: int):
    rows = await query_database(url, "SELECT status, refunded FROM generations WHERE prompt LIKE 'lost %'")
    return (
        rows if len(rows) == n and all(r["status"] == "cancelled" and r["refunded"] for r in rows) else None
    )


async def _status(url: str, prompt: str, status: str) -> bool:
    rows = await query_database(url, f"SELECT status FROM generations WHERE prompt = '{prompt}'")
    return bool(rows) and rows[0]["status"] == status


async def _all_delivered(url: str, n: int) -> bool:
    rows = await query_database(
        url, "SELECT COUNT(*) AS n FROM generations WHERE delivered_at IS NOT NULL AND status = 'completed'"
    )
    return rows[0]["n"] >= n
