"""An in-process VideoBot (the real discord.py) against the fake Discord, with a real database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from bot import VideoBot
from core.platform.clock import REAL_CLOCK
from core.platform.settings import load_settings
from core.services import Services, build_services
from tests.conftest import eventually  # noqa: F401 - re-exported for the cog tests
from tests.fakes.discord import FakeDiscord, FakeInteraction

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
    """The default harness: a fresh fake Discord and a bot with the harness settings."""
    async with open_harness(tmp_path, monkeypatch) as harness:
        yield harness


# ---- appended for the history/quota/admin/safety tests ----------------------------------------------


@contextlib.asynccontextmanager
async def open_harness(tmp_path, monkeypatch, *, clock=REAL_CLOCK, **overrides) -> AsyncIterator[Harness]:
    """A Harness like `discord_env`'s, with settings overrides (e.g. demo_latency=30); the bot's Discord
    layer (display, pacing, sweeps) runs on `clock` (e.g. a tests.fakes.clock.ManualClock)."""
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, tmp_path, clock=clock, **overrides) as harness:
            yield harness


@pytest_asyncio.fixture
async def slow_discord_env(db, tmp_path, monkeypatch) -> AsyncIterator[Harness]:
    """Demo jobs take 30 s: they stay processing (or queued) for the whole test unless cancelled."""
    async with open_harness(tmp_path, monkeypatch, demo_latency=30) as harness:
        yield harness


# ---- appended for the video flow/delivery/buttons tests ----------------------------------------------


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord, tmp_path, *, clock=REAL_CLOCK, **overrides
) -> AsyncIterator[Harness]:
    """A VideoBot with its own services (settings from make_settings + `overrides`) on `fake`; stopped on
    exit. Two in a row on the same fake and database are a restart. Needs the `db` fixture."""
    services = build_services(make_settings(tmp_path, fake, **overrides), clock=clock)
    bot, task = await start_bot(fake, services)
    try:
        yield Harness(fake, bot, services)
    finally:
        await stop_bot(bot, task)
        await services.aclose()


MANAGE_GUILD = 0x20


def member_permissions(*extra: int) -> int:
    """An ordinary member's permission bits, plus `extra` (e.g. MANAGE_GUILD)."""
    from tests.fakes.discord import MEMBER_PERMISSIONS

    bits = int(MEMBER_PERMISSIONS)
    for bit in extra:
        bits |= bit
    return bits


def embeds_text(embeds: list[dict] | None) -> str:
    """Every visible string of some embeds (title, description, field names/values, footer), joined."""
    parts: list[str] = []
    for e in embeds or []:
        parts += [e.get("title") or "", e.get("description") or ""]
        for f in e.get("fields") or []:
            parts += [f.get("name") or "", f.get("value") or ""]
        parts.append((e.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


async def seed_job(
    user_id: int,
    *,
    prompt: str = "a seeded job",
    status: str = "completed",
    created_at=None,
    seconds: int = 4,
    model: str = "demo",
    **fields,
):
    """A job record written straight into the database (no Discord, no quota)."""
    import datetime as dt

    from models import Generation, GenerationStatus, User

    await User.bulk_create([User(id=user_id)], ignore_conflicts=True)
    created = created_at or dt.datetime.now(dt.UTC)
    return await Generation.create(
        user_id=user_id,
        prompt=prompt,
        model=model,
        provider="demo",
        provider_model_id="demo-renderer",
        config={"duration": seconds, "aspect_ratio": "16:9", "resolution": "360p"},
        video_seconds=seconds,
        status=GenerationStatus(status),
        quota_day=created.date(),
        created_at=created,
        **fields,
    )
