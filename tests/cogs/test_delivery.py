"""Getting the finished video to the user whatever Discord does: size limits, rate limits, expired
tokens, deleted messages, and a ping when the wait was long. Real discord.py bot against the fake Discord."""

from __future__ import annotations

import datetime as dt
import io
import re

import av
import pytest

from models import Generation, GenerationStatus
from tests.cogs.conftest import eventually, open_harness
from tests.fakes.discord import FakeInteraction, Fault

WEBHOOK_EDITS = "PATCH /webhooks/*/messages/*"
CHANNEL_EDITS = "PATCH /channels/*/messages/*"
CHANNEL_POSTS = "POST /channels/*/messages"


def status_line(payload: dict) -> str:
    for embed in payload.get("embeds") or []:
        for field in embed.get("fields") or []:
            if field.get("name") == "Status":
                return field.get("value", "")
    return ""


def percent(payload: dict) -> int | None:
    m = re.search(r"\] (\d{1,3})%", status_line(payload))
    return int(m.group(1)) if m else None


async def slash_video(h, *, user: str = "alice", **kwargs) -> FakeInteraction:
    """/video (2 s, 360p) with extra interaction fields (created_at, attachment_size_limit, ...)."""
    handle = await h.fake.send_slash_command(
        "video",
        {"prompt": "a red fox in snow", "duration": 2, "resolution": "360p"},
        user=h.fake.user(user),
        **kwargs,
    )
    await handle.wait_callback()
    return handle


def decode(data: bytes) -> tuple[float, int]:
    """(duration in seconds, decoded frames) of an mp4."""
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        return container.duration / 1e6, frames


async def history_lines(h, user: str = "alice") -> list[str]:
    """The field names of the user's /history page (e.g. "✅ #1 · completed")."""
    handle = await h.fake.send_slash_command("history", user=h.fake.user(user))
    await handle.wait_callback()
    assert handle.callback.type == 4 and handle.callback.data["flags"] & 64
    return [f["name"] for f in handle.callback.data["embeds"][0]["fields"]]


# ---- upload size ------------------------------------------------------------------------------------


async def test_video_over_the_upload_limit_is_reencoded_to_fit(discord_env):
    h = discord_env
    limit = 100_000  # the demo's 2 s 360p render is about 140 KB
    handle = await slash_video(h, attachment_size_limit=limit)
    msg = await h.finished(handle)

    [video] = msg.attachments
    assert video.size <= limit
    duration, frames = decode(video.data)
    assert abs(duration - 2.0) < 0.15 and frames >= 40
    assert msg.embeds[0]["title"] == "✅ Video ready"
    assert "Re-encoded to" in status_line({"embeds": msg.embeds})
    assert not [r for r in h.fake.requests if r.status == 413]


async def test_video_too_big_even_reencoded_is_not_uploaded_and_stays_in_history(discord_env):
    h = discord_env
    handle = await slash_video(h, attachment_size_limit=20_000)
    msg = await h.finished(handle)

    assert not [r for r in h.fake.requests if r.files], "no upload was attempted"
    assert not [r for r in h.fake.requests if r.status == 413]
    assert not msg.attachments
    status = status_line({"embeds": msg.embeds})
    assert re.search(r"The video is [\d.]+ KB, more than this channel accepts \(19\.5 KB\)", status), status
    gen = await Generation.get(message_id=handle.original_id)
    assert gen.status is GenerationStatus.COMPLETED
    assert f"✅ #{gen.id} · completed" in await history_lines(h)


# ---- rate limits ------------------------------------------------------------------------------------


async def test_rate_limited_progress_edit_is_retried_and_the_video_still_arrives(discord_env):
    h = discord_env
    h.fake.inject(WEBHOOK_EDITS, Fault.rate_limited(0.05), times=1)  # the first progress edit
    handle = await slash_video(h)
    msg = await h.finished(handle)

    patches = h.fake.requests_to(WEBHOOK_EDITS)
    assert patches[0].status == 429
    assert patches[1].status == 200 and patches[1].payload == patches[0].payload, "the same edit, retried"
    assert msg.edits[0].payload == patches[0].payload, "the retried edit landed first"
    assert msg.edits[-1].files and msg.attachments, "the video is the last write"
    shown = [p for w in msg.edits if (p := percent(w.payload)) is not None]
    assert shown == sorted(shown)


async def test_rate_limit_without_via_fails_only_that_edit(discord_env):
    h = discord_env
    h.fake.inject(WEBHOOK_EDITS, Fault.rate_limited(0.05, via=False), times=1)
    handle = await slash_video(h)
    msg = await h.finished(handle)

    patches = h.fake.requests_to(WEBHOOK_EDITS)
    assert [r.status for r in patches].count(429) == 1
    assert patches[1].payload != patches[0].payload, "the refused edit was not retried"
    assert msg.embeds[0]["title"] == "✅ Video ready" and msg.attachments
    assert await eventually(
        lambda: Generation.filter(status=GenerationStatus.COMPLETED, delivered_at__isnull=False).exists()
    )


# ---- the interaction token --------------------------------------------------------------------------


def assert_edited_only_through_the_channel(h, handle: FakeInteraction) -> None:
    edits = h.fake.requests_to(CHANNEL_EDITS)
    assert edits, "the message was edited through the channel"
    for r in edits:
        assert r.path == f"/channels/{handle.channel_id}/messages/{handle.original_id}"
        assert r.authorization == f"Bot {h.fake.token}"
        assert r.status == 200


async def test_expired_token_edits_through_the_channel_with_the_bot_token(discord_env):
    h = discord_env
    created = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    handle = await slash_video(h, created_at=created)
    try:
        msg = await h.finished(handle, timeout=5)
    except TimeoutError:
        sent = [f"{r.template} -> {r.status}" for r in h.fake.requests if r.at >= handle.callback.at]
        pytest.fail(
            f"the video never arrived (the reply stays 'thinking…'); after the defer the bot sent {sent}"
        )

    assert not h.fake.requests_to(WEBHOOK_EDITS), "nothing was sent with the expired token"
    assert_edited_only_through_the_channel(h, handle)
    assert msg.attachments and msg.embeds[0]["title"] == "✅ Video ready"


async def test_token_inside_the_expiry_margin_is_not_used_for_edits(discord_env):
    h = discord_env
    created = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14, seconds=30)  # valid for 30 s more
    handle = await slash_video(h, created_at=created)
    msg = await h.finished(handle)

    assert not h.fake.requests_to(WEBHOOK_EDITS), "decided by the clock, not by probing"
    assert_edited_only_through_the_channel(h, handle)
    assert msg.attachments and msg.embeds[0]["title"] == "✅ Video ready"


async def test_rejected_token_falls_back_to_the_channel_without_retrying(discord_env):
    h = discord_env
    h.fake.inject(WEBHOOK_EDITS, Fault.invalid_webhook_token(), times=None)
    handle = await slash_video(h)
    msg = await h.finished(handle)

    rejected = h.fake.requests_to(WEBHOOK_EDITS)
    assert [r.status for r in rejected] == [401], "the dead token was tried once"
    assert_edited_only_through_the_channel(h, handle)
    assert msg.attachments and msg.embeds[0]["title"] == "✅ Video ready"


async def test_deleted_message_gets_the_result_in_a_new_message_mentioning_only_the_requester(discord_env):
    h = discord_env
    handle = await slash_video(h)
    original = await handle.wait_original(lambda m: m.edits)
    original.deleted = True  # the user deleted the bot's reply mid-job
    post = await h.fake.wait_for(lambda: h.fake.requests_to(CHANNEL_POSTS), 10, "the result message")

    [request] = post
    alice = int(h.fake.user("alice")["id"])
    mentions = request.payload["allowed_mentions"]
    assert [int(u) for u in mentions["users"]] == [alice]
    assert mentions["parse"] == [] and not mentions.get("roles")
    new = h.fake.messages[int(request.response["id"])]
    assert new.content.startswith(f"<@{alice}>")
    assert new.embeds[0]["title"] == "✅ Video ready" and new.attachments
    assert any(c.startswith("video:delete:") for c in new.custom_ids())
    gone = [r for r in h.fake.requests if r.status == 404]
    assert len(gone) <= 2, "editing the deleted message stopped"
    assert await eventually(
        lambda: Generation.filter(status=GenerationStatus.COMPLETED, message_id=new.id).exists()
    ), "the job now points at the new message"


# ---- telling the requester --------------------------------------------------------------------------


async def test_long_job_pings_the_requester_with_a_link(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, notify_after=0) as h:
        handle = await slash_video(h)
        await h.finished(handle)
        [request] = await h.fake.wait_for(lambda: h.fake.requests_to(CHANNEL_POSTS), 5, "the ping")

        alice = int(h.fake.user("alice")["id"])
        link = f"https://discord.com/channels/{h.fake.guild_id}/{handle.channel_id}/{handle.original_id}"
        ping = h.fake.messages[int(request.response["id"])]
        assert ping.content.startswith(f"<@{alice}>") and link in ping.content
        assert not ping.attachments and not ping.embeds, "a short reply, not a second copy"
        mentions = request.payload["allowed_mentions"]
        assert [int(u) for u in mentions["users"]] == [alice] and mentions["parse"] == []


# ---- hour-old messages ------------------------------------------------------------------------------


async def test_no_more_progress_edits_once_discord_refuses_edits_of_an_hour_old_message(
    db, tmp_path, monkeypatch
):
    async with open_harness(tmp_path, monkeypatch, demo_latency=2) as h:  # several progress stages
        h.fake.inject(WEBHOOK_EDITS, Fault.max_edits_old_message(), times=None)
        handle = await slash_video(h)
        post = await h.fake.wait_for(lambda: h.fake.requests_to(CHANNEL_POSTS), 15, "the result message")

        refused = [r for r in h.fake.requests_to(WEBHOOK_EDITS) if r.status == 429]
        assert len(refused) == 2, "one progress edit, then only the final edit was tried"
        new = h.fake.messages[int(post[0].response["id"])]
        assert new.embeds[0]["title"] == "✅ Video ready" and new.attachments
        assert handle.original_id != new.id
