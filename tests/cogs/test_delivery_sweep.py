"""Results that finished while the bot was down are delivered at the next start, exactly once."""

from __future__ import annotations

import datetime as dt

from models import Generation
from tests.cogs.conftest import eventually, running_bot, seed_job
from tests.fakes.discord import FakeDiscord
from tests.fakes.sample_video import sample_mp4


async def test_a_result_finished_while_down_is_delivered_once_at_the_next_starts(db, tmp_path, monkeypatch):
    video = tmp_path / "done.mp4"
    video.write_bytes(sample_mp4())
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        alice = int(fake.user("alice")["id"])
        message = fake.add_message(content="", embeds=[{"title": "🎬 Generating video"}])
        finished = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        gen = await seed_job(
            alice,
            prompt="finished while the bot was down",
            created_at=finished - dt.timedelta(minutes=1),
            video_path=str(video),
            channel_id=fake.channel_id,
            message_id=message.id,
            completed_at=finished,
        )
        for _ in range(2):  # two starts: the second must not deliver again
            async with running_bot(fake, tmp_path):
                await eventually(lambda: Generation.get_or_none(id=gen.id, delivered_at__isnull=False))
        assert message.attachments and message.embeds[0]["title"] == "✅ Video ready"
        finals = [w for w in message.edits if w.files]
        assert len(finals) == 1, "the result was uploaded once"
        pings = [r for r in fake.requests_to("POST /channels/*/messages")]
        assert pings == [], "nobody is pinged for a quick job"
