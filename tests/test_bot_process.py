"""`python bot.py` as a server owner runs it, against an independent fake Discord, with the demo model."""

from __future__ import annotations

import io

import av
import pytest

from tests.conftest import BotProcess, bot_environment, create_database, drop_database, fresh_database_url
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord

ADMIN = 700_000_000_000_000_007


@pytest.fixture
async def running_bot(tmp_path):
    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        async with FakeDiscord() as fake:
            env = bot_environment(
                **fake.env,
                DATABASE_URL=url,
                OUTPUT_DIR=str(tmp_path / "videos"),
                DEMO_LATENCY="1",
                EDIT_INTERVAL="0.5",
                ADMIN_USER_IDS=str(ADMIN),
                LOG_LEVEL="INFO",
                QUOTA_DAILY_VIDEOS="5",
            )
            bot = await BotProcess(env, tmp_path / "bot.log").start()
            try:

                def connected() -> bool:
                    assert bot.running, f"bot.py exited:\n{bot.output()[-5000:]}"
                    return fake.connected and bool(fake.commands)

                await fake.wait_for(connected, 60, "bot.py to connect and sync")
                yield fake, bot
            finally:
                await bot.stop()
    finally:
        await drop_database(url)


async def test_bot_process_end_to_end(running_bot):
    fake, bot = running_bot
    alice = fake.user("alice")

    # /video: deferred, one message edited in place with a rising bar, ends with a playable 4 s mp4.
    handle = await fake.send_slash_command(
        "video", {"prompt": "a red fox in snow @everyone", "duration": 4, "resolution": "360p"}, user=alice
    )
    assert (await handle.wait_callback()).type == 5
    msg = await handle.wait_original(lambda m: m.attachments, timeout=60)
    with av.open(io.BytesIO(msg.attachments[0].data)) as container:
        assert abs(container.duration / 1e6 - 4.0) < 0.1
    bars = [str(w.payload) for w in msg.edits if "░" in str(w.payload)]
    assert bars, "progress edits carry a bar"
    assert all(
        p.get("allowed_mentions") == {"parse": []}
        for _, p in fake.message_payloads()
        if "allowed_mentions" in p
    )

    # /history and /quota: ephemeral, the requester's own.
    hist = await fake.send_slash_command("history", {}, user=alice)
    assert (await hist.wait_callback()).data["flags"] & FLAG_EPHEMERAL
    assert "a red fox in snow" in str(hist.callback.data)
    quota = await fake.send_slash_command("quota", {}, user=alice)
    assert (await quota.wait_callback()).data["flags"] & FLAG_EPHEMERAL
    assert "1 video of 5" in str(quota.callback.data)

    # /videoadmin quota set: refused for a non-admin, effective for an admin.
    bob = fake.user("bob")
    refused = await fake.send_slash_command(
        "videoadmin quota set", {"user": alice, "daily_videos": 1}, user=bob
    )
    assert (await refused.wait_callback()).data["flags"] & FLAG_EPHEMERAL
    assert "Admins only" in str(refused.callback.data)
    admin = fake.user("admin", id=ADMIN)
    done = await fake.send_slash_command(
        "videoadmin quota set", {"user": alice, "daily_videos": 1}, user=admin
    )
    assert "Quota set" in str((await done.wait_callback()).data)
    again = await fake.send_slash_command("video", {"prompt": "another fox"}, user=alice)
    cb = await again.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL and "1 of 1 videos" in str(cb.data)

    # SIGTERM: a clean shutdown (stop() would SIGKILL after 30 s, and that exit code is not 0).
    assert await bot.stop() == 0
    output = bot.output()
    assert "Traceback" not in output and fake.token not in output
