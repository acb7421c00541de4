"""An in-process VideoBot (the real discord.py) against the fake Discord, with a real database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from bot import VideoBot
from core.services import Services, build_services
from core.settings import load_settings
from tests.fakes.discord_api import FakeDiscord, FakeInteraction

ADMIN_ID = 900_000_000_000_000_001


@dataclass
class Harness:
    fake: FakeDiscord
    bot: VideoBot
    services: Services

    async def video(self, prompt: str, *, user: str = "alice", **options) -> FakeInteraction:
        """Run /video and return the interaction handle once its callback arrived."""
        handle = await self.fake.send_slash_command(
            "video", {"prompt": prompt, **options}, user=self.fake.user(user)
        )
        await handle.wait_callback()
        return handle

    async def finished(self, handle: FakeInteraction, timeout: float = 30.0):  # noqa: ASYNC109
        """The job's message once its final edit (with Regenerate/Delete buttons) arrived."""
        return await handle.wait_original(
            lambda m: any(c.startswith("video:delete:") for c in m.custom_ids()), timeout
        )


async def start_bot(fake: FakeDiscord, services: Services) -> tuple[VideoBot, asyncio.Task]:
    bot = VideoBot(services, guild_ready_timeout=0.05)
    task = asyncio.create_task(bot.start(fake.token))
    await fake.wait_ready()
    await fake.wait_for(lambda: bot.is_ready(), 5.0, "the bot to be ready")
    return bot, task


async def stop_bot(bot: VideoBot, task: asyncio.Task) -> None:
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def make_settings(tmp_path, fake: FakeDiscord, **overrides):
    env = {
        "DISCORD_TOKEN": fake.token,
        "OUTPUT_DIR": str(tmp_path / "videos"),
        "DEMO_LATENCY": "0",
        "EDIT_INTERVAL": "0.3",
        "NOTIFY_AFTER": "600",
        "ADMIN_USER_IDS": str(ADMIN_ID),
        "QUOTA_DAILY_VIDEOS": "5",
        "QUOTA_DAILY_SECONDS": "60",
        "MAX_CONCURRENT_JOBS": "2",
        **{k.upper(): str(v) for k, v in overrides.items()},
    }
    return load_settings(env, env_file=None)


@pytest_asyncio.fixture
async def discord_env(db, tmp_path, monkeypatch) -> AsyncIterator[Harness]:
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        services = build_services(make_settings(tmp_path, fake))
        bot, task = await start_bot(fake, services)
        try:
            yield Harness(fake, bot, services)
        finally:
            await stop_bot(bot, task)
            await services.aclose()
