"""`python bot.py` as a server owner runs it, against an independent fake Discord, with the demo model."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator

import av
import pytest

from tests.conftest import BotProcess, bot_environment, create_database, drop_database, fresh_database_url
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, FakeMessage

ADMIN = 700_000_000_000_000_007


@contextlib.asynccontextmanager
async def bot_process(tmp_path, **env: str) -> AsyncIterator[tuple[FakeDiscord, BotProcess]]:
    """`python bot.py` on a fresh database against a new fake Discord, with the demo model; `env` adds
    or replaces settings."""
    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        async with FakeDiscord() as fake:
            defaults = {
                "DEMO_LATENCY": "1",
                "EDIT_INTERVAL": "0.5",
                "LOG_LEVEL": "INFO",
                "QUOTA_DAILY_VIDEOS": "5",
            }
            settings = bot_environment(
                **fake.env,
                DATABASE_URL=url,
                OUTPUT_DIR=str(tmp_path / "videos"),
                ADMIN_USER_IDS=str(ADMIN),
                **{**defaults, **env},
            )
            bot = await BotProcess(settings, tmp_path / "bot.log").start()
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


@pytest.fixture
async def running_bot(tmp_path):
    async with bot_process(tmp_path) as running:
        yield running


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


async def test_the_creative_loop_as_a_server_owner_runs_it(tmp_path):
    """The issue's "done when": Extend (prompt edited) → Extend again is one clip of the three lengths'
    sum and Info names its seed; Remix, Animate and variants:2 deliver; a preset applies."""
    async with bot_process(tmp_path, QUOTA_DAILY_VIDEOS="20", QUOTA_DAILY_SECONDS="0") as (fake, bot):
        alice = fake.user("alice")

        async def finished(handle) -> FakeMessage:
            return await handle.wait_original(lambda m: any("video:delete:" in c for c in m.custom_ids()), 60)

        async def press(msg: FakeMessage, action: str):
            custom_id = next(c for c in msg.custom_ids() if c.startswith(f"video:{action}:"))
            handle = await fake.send_component_click(msg.id, custom_id, user=alice)
            await handle.wait_callback()
            return handle

        async def submit(opened, values: dict[str, str]):
            await opened.wait_modal()
            handle = await fake.submit_modal(opened, values, user=alice)
            assert (await handle.wait_callback()).type == 5
            return handle

        first = await finished(await fake.send_slash_command(
            "video", {"prompt": "a red fox in snow", "duration": 2, "resolution": "360p"}, user=alice
        ))  # fmt: skip
        once = await finished(await submit(await press(first, "extend"), {"prompt": "the fox runs"}))
        twice = await finished(await submit(await press(once, "extend"), {}))
        assert abs(seconds(twice.attachments[0].data) - 6.0) < 1 / 24 + 0.01
        info = await press(twice, "info")
        fields = {f["name"]: f["value"] for f in info.callback.data["embeds"][0]["fields"]}
        assert fields["Seed"].isdigit() and fields["Length"].endswith("6 s in all")
        assert f"seed:{fields['Seed']}" in fields["Ask for it again"]

        remixed = await finished(await submit(await press(first, "remix"), {"prompt": "a grey fox"}))
        assert remixed.attachments and "a grey fox" in str(remixed.embeds)

        post = fake.add_member_message("bob", "my cat", attachments=[("cat.png", png_bytes())])
        animated = await finished(await submit(await fake.send_message_command("Animate", post, user=alice), {
            "prompt": "the cat waves"
        }))  # fmt: skip
        assert animated.attachments and animated.channel_id == post.channel_id

        pair = await fake.send_slash_command(
            "video", {"prompt": "two foxes", "duration": 2, "resolution": "360p", "variants": 2}, user=alice
        )
        both = await pair.wait_original(lambda m: len(m.attachments) == 2, 60)
        assert all(abs(seconds(a.data) - 2.0) < 0.1 for a in both.attachments)

        saved = await fake.send_slash_command(
            "presets save",
            {"name": "tall", "model": "demo", "aspect_ratio": "9:16", "duration": 2},
            user=alice,
        )
        assert "Preset saved" in str((await saved.wait_callback()).data)
        tall = await finished(await fake.send_slash_command(
            "video", {"prompt": "a tall fox", "preset": "tall", "resolution": "360p"}, user=alice
        ))  # fmt: skip
        with av.open(io.BytesIO(tall.attachments[0].data)) as container:
            stream = container.streams.video[0]
            assert stream.height > stream.width  # 9:16 from the preset

        assert await bot.stop() == 0
        assert "Traceback" not in bot.output()


def seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        return container.duration / 1e6


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 180), (230, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_server_policy_moderation_and_forget_as_a_server_owner_runs_them(tmp_path):
    """Issue 11's "Done when", through `python bot.py`: an allowed channel, a disguised blocklisted word, a
    server cap of 2 videos a day that refuses the third for another member, and /forget."""
    async with bot_process(tmp_path, QUOTA_DAILY_VIDEOS="20") as (fake, bot):
        alice, admin = fake.user("alice"), fake.user("admin", id=ADMIN)

        async def ask(name: str, options: dict, user, **where):
            handle = await fake.send_slash_command(name, options, user=user, **where)
            await handle.wait_callback()
            return handle

        lab = fake.add_text_channel("video-lab")
        await ask("videoadmin channel allow", {"channel": lab}, admin)
        elsewhere = await ask("video", {"prompt": "a fox", "duration": 2, "resolution": "360p"}, alice)
        assert elsewhere.callback.type == 4 and elsewhere.callback.data["flags"] & FLAG_EPHEMERAL
        assert f"<#{lab['id']}>" in str(elsewhere.callback.data)
        there = await ask(
            "video",
            {"prompt": "a fox", "duration": 2, "resolution": "360p"},
            alice,
            channel_id=int(lab["id"]),
        )
        made = await there.wait_original(lambda m: m.attachments, 60)

        await ask("videoadmin blocklist add", {"pattern": "gore"}, admin)
        blocked = await ask(
            "video", {"prompt": "so much g\u200bore", "duration": 2}, alice, channel_id=int(lab["id"])
        )
        assert blocked.callback.type == 4 and blocked.callback.data["flags"] & FLAG_EPHEMERAL
        assert "does not allow" in str(blocked.callback.data)

        await ask("videoadmin server set", {"daily_videos": 2}, admin)
        for who in ("bob", "carol"):  # alice's video counts too: the third of the day is carol's
            handle = await ask(
                "video", {"prompt": "a hare", "duration": 2, "resolution": "360p"}, fake.user(who),
                channel_id=int(lab["id"]),
            )  # fmt: skip
            if who == "bob":
                await handle.wait_original(lambda m: m.attachments, 60)
        assert handle.callback.type == 4 and handle.callback.data["flags"] & FLAG_EPHEMERAL
        assert "2 of the 2 videos its admins allow a day" in str(handle.callback.data)

        asked = await ask("forget", {}, alice, channel_id=int(lab["id"]))
        button = asked.original.custom_ids()[0]
        confirmed = await fake.send_component_click(asked.original.id, button, user=alice)
        report = await confirmed.wait_original(lambda m: "Forgotten" in str(m.embeds), 30)
        assert "Removed the content of 1 jobs" in str(report.embeds)
        assert made.content == "🗑️ Removed at the user's request." and not made.attachments
        videos = await asyncio.to_thread(lambda: [p.name for p in (tmp_path / "videos").rglob("*.mp4")])
        assert [v for v in videos if "fox" in v] == [] and len(videos) == 1  # alice's gone, bob's kept

        assert await bot.stop() == 0
        assert "Traceback" not in bot.output()
