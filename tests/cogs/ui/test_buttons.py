"""The buttons on a job's message (Cancel, Regenerate, Delete): who may press them, what they do, and that
they still work after the bot restarted. Real discord.py bot against the fake Discord."""

from __future__ import annotations

import datetime as dt

from core.platform.clock import utc_day
from models import Generation, GenerationStatus
from tests.cogs.conftest import eventually, open_harness, running_bot
from tests.fakes.discord import MEMBER_PERMISSIONS, FakeDiscord, FakeInteraction, FakeMessage

MANAGE_MESSAGES = 0x2000
VIDEO = {"duration": 2, "resolution": "360p"}


def title(msg: FakeMessage) -> str:
    return msg.embeds[0]["title"] if msg.embeds else ""


def job_id_of(msg: FakeMessage) -> int:
    return int(msg.custom_ids()[0].rsplit(":", 1)[1])


async def click(h, message_id: int, action: str, *, user: str = "alice", **kwargs) -> FakeInteraction:
    """Press the message's `video:<action>:<job>` button and wait for the bot's answer to the click."""
    custom_id = next(c for c in h.fake.messages[message_id].custom_ids() if c.startswith(f"video:{action}:"))
    handle = await h.fake.send_component_click(message_id, custom_id, user=h.fake.user(user), **kwargs)
    callback = await handle.wait_callback()
    assert callback.accepted and callback.latency < 3
    return handle


async def running(h, handle: FakeInteraction) -> FakeMessage:
    """The job's message once it shows the job generating (its Cancel button is there)."""
    return await handle.wait_original(lambda m: title(m) == "🎬 Generating video", 10)


async def delivered(job_id: int) -> Generation:
    """The job once its final message edit was made."""
    return await eventually(lambda: Generation.get_or_none(id=job_id, delivered_at__isnull=False))


def refused(handle: FakeInteraction, words: str) -> bool:
    cb = handle.callback
    return cb.type == 4 and bool(cb.data["flags"] & 64) and words in cb.data["embeds"][0]["description"]


# ---- Cancel -----------------------------------------------------------------------------------------


async def test_cancel_while_queued_refunds_the_quota(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, max_concurrent_jobs=1, demo_latency=30) as h:
        await h.video("holds the only slot", user="bob", **VIDEO)
        handle = await h.video("waits in line", user="alice", **VIDEO)
        msg = await handle.wait_original(lambda m: "Queued · position 1 of 1" in str(m.embeds))
        job_id = job_id_of(msg)

        click_handle = await click(h, msg.id, "cancel")

        assert click_handle.callback.type == 7  # the message itself is updated
        assert title(msg) == "🚫 Video cancelled" and "Your quota was refunded." in str(msg.embeds)
        alice = int(h.fake.user("alice")["id"])
        usage = await h.services.quotas.status(alice, utc_day(dt.datetime.now(dt.UTC)))
        assert (usage.videos_used, usage.seconds_used) == (0, 0)
        gen = await delivered(job_id)
        assert gen.status is GenerationStatus.CANCELLED and gen.submit_started_at is None
        assert title(msg) == "🚫 Video cancelled", "nothing overwrote the cancellation"


async def test_cancel_while_running_ends_the_job_cancelled(slow_discord_env):
    h = slow_discord_env
    handle = await h.video("runs for a long time", **VIDEO)
    msg = await running(h, handle)

    click_handle = await click(h, msg.id, "cancel")

    assert click_handle.callback.type == 7
    assert title(msg) == "🚫 Video cancelled"
    gen = await delivered(job_id_of(msg))
    assert gen.status is GenerationStatus.CANCELLED
    assert title(msg) == "🚫 Video cancelled" and not msg.attachments
    assert not any(c.startswith("video:cancel:") for c in msg.custom_ids())


async def test_cancel_by_another_member_is_refused_ephemerally(slow_discord_env):
    h = slow_discord_env
    handle = await h.video("alice's video", user="alice", **VIDEO)
    msg = await running(h, handle)

    click_handle = await click(h, msg.id, "cancel", user="bob")

    assert refused(click_handle, "Only the person who asked for this video")
    gen = await Generation.get(id=job_id_of(msg))
    assert gen.status is GenerationStatus.PROCESSING
    assert title(msg) == "🎬 Generating video" and "video:cancel:" in str(msg.custom_ids())


# ---- Regenerate -------------------------------------------------------------------------------------


async def test_regenerate_starts_a_new_charged_job_in_a_new_message(discord_env):
    h = discord_env
    first = await h.video("a red fox in snow", duration=2, resolution="360p")
    old = await h.finished(first)
    old_writes = len(old.history)

    again = await click(h, old.id, "regen")

    assert again.callback.type == 5
    new = await h.finished(again)
    child = await Generation.get(id=job_id_of(new))
    assert (child.parent_id, child.relation) == (job_id_of(old), "regenerate")  # the lineage is kept
    parent_info = info_fields(await click(h, old.id, "info"))
    assert parent_info["Made from it"] == f"#{child.id} (regenerate)"
    assert info_fields(await click(h, new.id, "info"))["Made from"] == f"#{job_id_of(old)} (regenerate)"
    assert new.id != old.id and not new.ephemeral
    assert job_id_of(new) != job_id_of(old)
    assert new.attachments and title(new) == "✅ Video ready"
    assert len(old.history) == old_writes and old.attachments, "the first video is untouched"
    alice = int(h.fake.user("alice")["id"])
    usage = await h.services.quotas.status(alice, utc_day(dt.datetime.now(dt.UTC)))
    assert (usage.videos_used, usage.seconds_used) == (2, 4)


# ---- Delete -----------------------------------------------------------------------------------------


async def test_delete_by_the_requester_removes_the_message_and_keeps_the_history_row(discord_env):
    h = discord_env
    msg = await h.finished(await h.video("a red fox in snow", duration=2, resolution="360p"))
    job_id = job_id_of(msg)

    click_handle = await click(h, msg.id, "delete")

    assert click_handle.callback.type == 6
    await h.fake.wait_for(lambda: msg.deleted, 5, "the message to be deleted")
    [request] = h.fake.requests_to("DELETE /channels/*/messages/*")
    assert request.path.endswith(f"/messages/{msg.id}")
    gen = await eventually(lambda: Generation.get_or_none(id=job_id, deleted=True))
    assert gen.status is GenerationStatus.COMPLETED
    history = await h.fake.send_slash_command("history", user=h.fake.user("alice"))
    await history.wait_callback()
    [line] = history.callback.data["embeds"][0]["fields"]
    assert line["name"] == f"✅ #{job_id} · completed" and "message deleted" in line["value"]


async def test_delete_by_another_member_is_refused(discord_env):
    h = discord_env
    msg = await h.finished(await h.video("a red fox in snow", user="alice", duration=2, resolution="360p"))

    click_handle = await click(h, msg.id, "delete", user="bob")

    assert refused(click_handle, "Only the person who asked for this video, or a moderator")
    assert not msg.deleted and not h.fake.requests_to("DELETE /channels/*/messages/*")
    assert not (await Generation.get(id=job_id_of(msg))).deleted


async def test_delete_by_a_member_who_may_manage_messages_is_allowed(discord_env):
    h = discord_env
    msg = await h.finished(await h.video("a red fox in snow", user="alice", duration=2, resolution="360p"))
    moderator = int(MEMBER_PERMISSIONS) | MANAGE_MESSAGES

    await click(h, msg.id, "delete", user="bob", permissions=moderator)

    await h.fake.wait_for(lambda: msg.deleted, 5, "the message to be deleted")
    assert await eventually(lambda: Generation.get_or_none(id=job_id_of(msg), deleted=True))


# ---- after a restart --------------------------------------------------------------------------------


async def test_cancel_button_works_after_a_restart(db, tmp_path, monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, tmp_path, demo_latency=30) as h:
            msg = await running(h, await h.video("outlives its bot", **VIDEO))
        async with running_bot(fake, tmp_path, demo_latency=30) as h:
            click_handle = await click(h, msg.id, "cancel")

            assert click_handle.callback.type == 7
            assert title(msg) == "🚫 Video cancelled"
            gen = await Generation.get(id=job_id_of(msg))
            assert gen.status is GenerationStatus.CANCELLED


async def test_delete_button_works_after_a_restart(db, tmp_path, monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, tmp_path) as h:
            msg = await h.finished(await h.video("a red fox in snow", duration=2, resolution="360p"))
            job_id = job_id_of(msg)
            await delivered(job_id)
        async with running_bot(fake, tmp_path) as h:
            click_handle = await click(h, msg.id, "delete")

            assert click_handle.callback.type == 6
            await h.fake.wait_for(lambda: msg.deleted, 5, "the message to be deleted")
            assert await eventually(lambda: Generation.get_or_none(id=job_id, deleted=True))


# ---- Info -------------------------------------------------------------------------------------------


def info_fields(handle: FakeInteraction) -> dict[str, str]:
    cb = handle.callback
    assert cb.type == 4 and cb.data["flags"] & 64, "Info is shown only to whoever clicks"
    [embed] = cb.data["embeds"]
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_info_names_the_seed_chosen_for_a_request_without_one_and_repeats_it(discord_env):
    h = discord_env
    msg = await h.finished(await h.video("a red fox in snow", duration=2, resolution="360p"))
    gen = await Generation.get(id=job_id_of(msg))
    seed = gen.config["seed"]
    assert isinstance(seed, int)  # chosen and recorded although the user gave none

    writes = len(msg.history)
    fields = info_fields(await click(h, msg.id, "info", user="bob"))  # anyone who sees the message

    assert fields["Seed"] == str(seed) and fields["Model"].startswith("demo")
    assert fields["Length"] == "2 s" and fields["Resolution"] == "360p"
    assert "total" in fields["Timings"] and fields["Cost"] == "est. $0.00"
    command = fields["Ask for it again"]
    assert f"seed:{seed}" in command and "/video prompt:a red fox in snow model:demo duration:2" in command
    assert len(msg.history) == writes  # the message itself is untouched


async def test_info_keeps_the_seed_the_user_gave(discord_env):
    h = discord_env
    msg = await h.finished(await h.video("a red fox in snow", duration=2, resolution="360p", seed=1234))
    assert info_fields(await click(h, msg.id, "info"))["Seed"] == "1234"
