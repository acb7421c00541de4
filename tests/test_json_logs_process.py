"""`python bot.py` with LOG_FORMAT=json at DEBUG, one /video job to delivery against the fake Discord: every
line of its output is one JSON object, the job's lines name it, and no secret the run used is anywhere."""

from __future__ import annotations

import json
import re

from tests.conftest import BotProcess, bot_environment, create_database, drop_database, fresh_database_url
from tests.fakes.discord import FakeDiscord

CLOSED = "http://127.0.0.1:9"  # providers are configured (their keys are secrets to look for), never called
GEMINI_KEY = "gemini-SECRET-key-5f3a9c"
FAL_KEY = "fal-SECRET-key-8b21d4:0c9e77"
VERTEX_KEY = "vertex-SECRET-key-41aa0e"
DB_PASSWORD = "db-SECRET-pw-77c1"  # PostgreSQL here trusts local connections: any password works


async def test_json_logs_of_a_full_job_at_debug_name_the_job_and_hold_no_secret(tmp_path):
    url = fresh_database_url(tmp_path)
    await create_database(url)
    if url.startswith("postgres://postgres@"):
        url = url.replace("postgres://postgres@", f"postgres://postgres:{DB_PASSWORD}@", 1)
    log_path = tmp_path / "bot.log"
    try:
        async with FakeDiscord() as fake:
            env = bot_environment(
                **fake.env,
                DATABASE_URL=url,
                OUTPUT_DIR=str(tmp_path / "videos"),
                LOG_LEVEL="DEBUG",
                LOG_FORMAT="json",
                DEMO_LATENCY="1",
                EDIT_INTERVAL="0.5",
                DEFAULT_MODEL="demo",
                GEMINI_API_KEY=GEMINI_KEY,
                GOOGLE_GEMINI_BASE_URL=CLOSED,
                FAL_KEY=FAL_KEY,
                FAL_QUEUE_URL=CLOSED,
                VERTEX_API_KEY=VERTEX_KEY,
                GOOGLE_VERTEX_BASE_URL=CLOSED,
            )
            bot = await BotProcess(env, log_path).start()
            try:

                def connected() -> bool:
                    assert bot.running, f"bot.py exited:\n{bot.output()[-5000:]}"
                    return fake.connected and bool(fake.commands)

                await fake.wait_for(connected, 60, "bot.py to connect and sync")
                alice = fake.user("alice")
                handle = await fake.send_slash_command(
                    "video",
                    {"prompt": "a red fox", "model": "demo", "duration": 2, "resolution": "360p"},
                    user=alice,
                )
                await handle.wait_original(lambda m: m.attachments, timeout=60)
                history = await fake.send_slash_command("history", {}, user=alice)
                await history.wait_callback()
                interaction_tokens = [handle.token, history.token]
            finally:
                assert await bot.stop() == 0
    finally:
        await drop_database(url)

    output = log_path.read_text()
    secrets = [fake.token, GEMINI_KEY, FAL_KEY, VERTEX_KEY, *interaction_tokens]
    if DB_PASSWORD in url:
        secrets.append(DB_PASSWORD)
    assert all(len(s) >= 6 for s in secrets)
    leaked = [s for s in secrets if s in output]
    assert not leaked, f"{len(leaked)} secrets in the log"

    lines = [json.loads(text) for text in output.splitlines()]  # every line is one JSON object
    assert len(lines) > 100 and {line["level"] for line in lines} >= {"DEBUG", "INFO"}
    assert all(line.keys() >= {"time", "level", "logger", "message"} for line in lines)

    named = [(int(m.group(1)), line) for line in lines if (m := re.match(r"job (\d+)\b", line["message"]))]
    assert named, "the job's transitions are logged"
    job_id = named[0][0]
    assert all(line.get("job_id") == n for n, line in named)
    of_job = [line for line in lines if line.get("job_id") == job_id]
    loggers = {line["logger"] for line in of_job}
    assert {"core.jobs.runner", "core.providers.demo"} <= loggers  # the run, and the provider's own lines
    assert any(name.startswith("discord.webhook") for name in loggers)  # the delivery's upload
    completed = next(line for line in named if line[1]["message"].startswith(f"job {job_id}: completed"))[1]
    assert completed["user_id"] == int(alice["id"]) and completed["provider_job_id"]
    demo = [line for line in of_job if line["logger"] == "core.providers.demo"]
    assert all(line["provider_job_id"] in line["message"] for line in demo if "provider_job_id" in line)
