"""The delivery path after the provider is done, stage by stage: download the video over loopback (a local
aiohttp server, fetched the way the providers stream downloads: aiohttp chunks into `CappedSink`, then the
mp4 check), fit it under the cap (`fit_to_size`), and upload it to the fake Discord as a multipart message
edit through discord.py's own HTTP client (what the bot's final edit does)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import discord
import discord.http
from aiohttp import web

from core.media.transcode import fit_to_size
from core.providers._common import CappedSink, check_mp4
from tests.fakes.discord import FakeDiscord

CHUNK = 256 * 1024  # the fal client's download chunk
MAX_VIDEO_BYTES = 200 * 1024 * 1024  # the download cap (MAX_VIDEO_BYTES' default order of magnitude)


@dataclass(frozen=True)
class Delivery:
    """Seconds per stage of one delivery."""

    download: float
    fit: float
    upload: float
    uploaded_bytes: int

    @property
    def total(self) -> float:
        return self.download + self.fit + self.upload


class Rig:
    """The three stages' endpoints: a file server, a download session, the fake Discord and a client."""

    def __init__(self, video: Path, workdir: Path, cap: int) -> None:
        self.video, self.workdir, self.cap = video, workdir, cap
        self.fake = FakeDiscord(attachment_size_limit=cap)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._http: discord.http.HTTPClient | None = None
        self.url = ""

    async def __aenter__(self) -> Rig:
        app = web.Application()
        app.router.add_get("/video.mp4", lambda _request: web.FileResponse(self.video))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/video.mp4"
        self._session = aiohttp.ClientSession()
        await self.fake.start()
        discord.http.Route.BASE = self.fake.api_base  # this process talks only to the fake
        self._http = discord.http.HTTPClient(asyncio.get_running_loop())
        await self._http.static_login(self.fake.token)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._session is not None:
            await self._session.close()
        await self.fake.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def run(self, index: int) -> Delivery:
        """One delivery, timed per stage."""
        downloaded = self.workdir / f"delivery-{index}.mp4"
        fitted = self.workdir / f"delivery-{index}.upload.mp4"
        t0 = time.monotonic()
        await self._download(downloaded)
        t1 = time.monotonic()
        result = await fit_to_size(downloaded, fitted, self.cap)
        t2 = time.monotonic()
        size = await self._upload(result.path, index)
        t3 = time.monotonic()
        downloaded.unlink(missing_ok=True)
        fitted.unlink(missing_ok=True)
        return Delivery(t1 - t0, t2 - t1, t3 - t2, size)

    async def _download(self, dest: Path) -> None:
        assert self._session is not None
        async with self._session.get(self.url) as resp:
            resp.raise_for_status()
            async with CappedSink(dest, MAX_VIDEO_BYTES) as sink:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    await sink.write(chunk)
        check_mp4(sink.head, "the downloaded file")

    async def _upload(self, path: Path, index: int) -> int:
        assert self._http is not None
        message = self.fake.add_message(content="", embeds=[{"title": "🎬 Generating video"}])
        params = discord.http.handle_message_parameters(
            content="✅ Video ready", attachments=[discord.File(path, filename=f"video_{index}.mp4")]
        )
        with params:
            await self._http.edit_message(self.fake.channel_id, message.id, params=params)
        [attachment] = self.fake.messages[message.id].attachments
        return attachment.size
