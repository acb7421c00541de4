"""/video end to end: the real discord.py bot against the fake Discord with the demo model."""

from __future__ import annotations

import io

import av

NO_MENTIONS = {"parse": []}


async def test_video_defers_edits_one_message_and_attaches_a_playable_mp4(discord_env):
    h = discord_env
    handle = await h.video("a red fox in snow", duration=2, resolution="360p", aspect_ratio="9:16")
    assert handle.callback.type == 5 and handle.callback.latency < 3
    msg = await h.finished(handle)
    assert msg.id == handle.original_id and not msg.ephemeral
    video = msg.attachments[0]
    with av.open(io.BytesIO(video.data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (360, 640)
        assert abs(float(container.duration / 1e6) - 2.0) < 0.1
    embed = msg.embeds[0]
    assert embed["title"] == "✅ Video ready"
    assert "a red fox in snow" in str(embed)
    bars = [str(w.payload) for w in msg.edits if "█" in str(w.payload) or "░" in str(w.payload)]
    assert bars, "progress edits show a bar"
