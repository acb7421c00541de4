"""Full-quality links through the real bot against the fake Discord: a video over the upload limit
arrives re-encoded with a `Full quality` link button whose URL, served by the bot's own HTTP server,
gives the original; /history links to the user's gallery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest_asyncio

from models import Generation
from tests.cogs.conftest import open_harness
from tests.cogs.test_delivery import slash_video, status_line
from tests.fakes.discord.records import iter_components

BASE = "https://videos.example.org"


@pytest_asyncio.fixture
async def links_env(db, tmp_path, monkeypatch):
    async with open_harness(
        tmp_path, monkeypatch, http_port=0, public_base_url=BASE, link_secret="cog-test-link-secret-123"
    ) as harness:
        yield harness


def link_buttons(components) -> dict[str, str]:
    """label -> url of the link buttons (style 5) among `components`."""
    return {c["label"]: c["url"] for c in iter_components(components) if c.get("style") == 5}


async def get(h, url: str) -> tuple[int, bytes]:
    local = url.replace(BASE, f"http://127.0.0.1:{h.bot.health.server.port}", 1)
    async with aiohttp.ClientSession() as http, http.get(local) as reply:
        return reply.status, await reply.read()


async def test_reencoded_video_gets_a_full_quality_link_that_serves_the_original(links_env):
    h = links_env
    limit = 100_000  # the demo's 2 s 360p render is about 140 KB
    msg = await h.finished(await slash_video(h, attachment_size_limit=limit))

    [video] = msg.attachments
    assert video.size <= limit and "Re-encoded to" in status_line({"embeds": msg.embeds})
    url = link_buttons(msg.components)["Full quality"]
    assert url.startswith(f"{BASE}/v/")
    gen = await Generation.get(message_id=msg.id)
    original = await asyncio.to_thread(Path(gen.video_path).read_bytes)
    assert len(original) > limit
    assert await get(h, url) == (200, original)
    forged = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    status, body = await get(h, forged)
    assert (status, body) == (403, b"link expired or invalid\n")


async def test_video_too_big_to_attach_gets_a_full_quality_link(links_env):
    h = links_env
    msg = await h.finished(await slash_video(h, attachment_size_limit=20_000))
    assert not msg.attachments
    gen = await Generation.get(message_id=msg.id)
    status, body = await get(h, link_buttons(msg.components)["Full quality"])
    assert status == 200 and body == await asyncio.to_thread(Path(gen.video_path).read_bytes)


async def test_video_attached_as_it_is_gets_no_link(links_env):
    h = links_env
    msg = await h.finished(await slash_video(h))
    assert msg.attachments and "Full quality" not in link_buttons(msg.components)


async def test_history_offers_a_signed_link_to_the_users_own_gallery(links_env):
    h = links_env
    await h.finished(await slash_video(h))
    handle = await h.fake.send_slash_command("history", user=h.fake.user("alice"))
    await handle.wait_callback()
    assert handle.callback.data["flags"] & 64, "ephemeral"
    url = link_buttons(handle.callback.data["components"])["Your gallery"]
    assert url.startswith(f"{BASE}/g/{h.fake.user('alice')['id']}?exp=")
    status, page = await get(h, url)
    assert status == 200 and b"a red fox in snow" in page and b"<video" in page


async def test_without_public_base_url_there_are_no_links(discord_env):
    h = discord_env
    msg = await h.finished(await slash_video(h, attachment_size_limit=100_000))
    assert msg.attachments and link_buttons(msg.components) == {}
    handle = await h.fake.send_slash_command("history", user=h.fake.user("alice"))
    await handle.wait_callback()
    assert link_buttons(handle.callback.data.get("components")) == {}


async def test_each_fitted_variant_gets_its_own_full_quality_link(links_env):
    h = links_env
    handle = await h.fake.send_slash_command(
        "video",
        {"prompt": "a red fox in snow", "duration": 2, "resolution": "360p", "variants": 2},
        user=h.fake.user("alice"),
        attachment_size_limit=100_000,  # each 2 s 360p render is about 140 KB
    )
    await handle.wait_callback()
    msg = await handle.wait_original(lambda m: len(m.attachments) == 2, timeout=60)
    links = link_buttons(msg.components)
    assert sorted(links) == ["Full quality 1", "Full quality 2"]
    for job in await Generation.filter(group_id__isnull=False).order_by("id"):
        original = await asyncio.to_thread(Path(job.video_path).read_bytes)
        assert await get(h, links[f"Full quality {job.config['variant']}"]) == (200, original)
