"""Fixtures of the fake's own tests: a started FakeDiscord, the bot's record, the running bot."""

from __future__ import annotations

import pytest_asyncio

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.pingbot import Record, running_bot


@pytest_asyncio.fixture
async def fake(monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        yield fake


@pytest_asyncio.fixture
async def rec() -> Record:
    return Record()


@pytest_asyncio.fixture
async def bot(fake: FakeDiscord, rec: Record):
    async with running_bot(fake, rec) as bot:
        yield bot
