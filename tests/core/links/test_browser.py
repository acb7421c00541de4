"""The gallery and a video link in a real browser: Debian's headless Chromium, driven over the Chrome
DevTools protocol (aiohttp's websocket client; no browser download, no driver). The <video> elements
reach readyState >= 2 (a decoded frame), and seeking makes the browser ask the server for a byte range."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import aiohttp
import av
import pytest

from tests.core.links.conftest import seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)",
)
FLAGS = [
    *("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--mute-audio"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
    *("--disable-extensions", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1"),
]
SECONDS, FPS = 8, 24


def noise_mp4(path: Path) -> int:
    """A faststart H.264 mp4 of random noise (several MB, so the browser can't take it in one read)."""
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream(
            "libx264", rate=FPS, options={"crf": "8", "preset": "ultrafast", "g": str(FPS)}
        )
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(SECONDS * FPS):
            frame = av.VideoFrame(320, 240, "yuv420p")
            for plane in frame.planes:
                plane.update(os.urandom(plane.buffer_size))
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path.stat().st_size


class Page:
    """One Chromium tab over CDP: evaluate JavaScript and navigate."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params):
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        async for msg in self.ws:
            data = json.loads(msg.data)
            if data.get("id") == msg_id:
                assert "error" not in data, data
                return data["result"]
        raise AssertionError("the browser closed the DevTools connection")

    async def eval(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 20.0):  # noqa: ASYNC109
        """Poll `expression` until it is truthy; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            await asyncio.sleep(0.1)

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.until(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")


@contextlib.asynccontextmanager
async def chromium_page(profile: Path):
    """Headless Chromium with one tab, driven over DevTools (its profile under `profile`)."""
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        port = None
        async with asyncio.timeout(30):
            while port is None:
                line = (await proc.stderr.readline()).decode()
                assert line, "chromium exited before it listened for DevTools"
                if m := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                    port = int(m[1])
        drain = asyncio.create_task(proc.stderr.read())  # keep its pipe from filling up
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as reply:
                targets = await reply.json()
            [tab] = [t for t in targets if t["type"] == "page"]
            async with http.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield Page(ws)
        drain.cancel()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


@pytest.fixture
async def page(tmp_path):
    async with chromium_page(tmp_path / "profile") as opened:
        yield opened


def video_ranges(seen, since: int) -> list[int]:
    """Start offsets of the byte ranges asked for on /v/ after `since` requests."""
    return [int(m[1]) for path, rng, status in seen[since:]
            if path.startswith("/v/") and status == 206 and (m := re.match(r"bytes=(\d+)-", rng or ""))]  # fmt: skip


async def test_gallery_and_video_link_play_and_seek_in_headless_chromium(db, tmp_path, link_server, page):
    video = tmp_path / "noise.mp4"
    size = await asyncio.to_thread(noise_mp4, video)
    assert size > 4_000_000
    job = await seed(3, video, prompt="noise <b>not bold</b>")
    srv = await link_server()

    # A slow link (4 MB/s), as over the internet: the browser can't have read ahead to the seek point.
    await page.call("Network.enable")
    await page.call(
        "Network.emulateNetworkConditions",
        offline=False, latency=0, downloadThroughput=4_000_000, uploadThroughput=-1,
    )  # fmt: skip
    await page.open(srv.local(srv.signer.gallery_url(3)))
    assert await page.eval("document.querySelector('li p').textContent") == "noise <b>not bold</b>"
    assert await page.eval("document.scripts.length") == 0
    await page.until("document.querySelector('video').readyState >= 2")
    # preload="metadata": the browser read the start of the file; a seek near the end needs a byte range
    before = len(srv.seen)
    await page.eval("document.querySelector('video').currentTime = 7.5")
    await page.until(
        "(v => !v.seeking && v.readyState >= 2 && v.currentTime > 7)(document.querySelector('video'))"
    )
    assert [start for start in video_ranges(srv.seen, before) if start > size // 2], srv.seen

    await page.open(srv.local(srv.signer.video_url(job.id)))  # the Full quality link itself
    await page.until("document.querySelector('video') && document.querySelector('video').readyState >= 2")
    assert await page.eval("Math.round(document.querySelector('video').duration)") == SECONDS
