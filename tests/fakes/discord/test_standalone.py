"""Standalone mode: `python -m tests.fakes.discord` prints its addresses and serves."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp


async def test_standalone_prints_urls() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.discord", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip() for _ in range(2)]
        assert lines[0].startswith("REST base:   http://127.0.0.1:") and lines[0].endswith("/api/v10")
        assert lines[1].startswith("Gateway URL: ws://127.0.0.1:") and lines[1].endswith("/gateway")
        base = lines[0].split()[-1]
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bot fake-bot-token.discord"}
            async with http.get(f"{base}/gateway/bot", headers=headers) as resp:
                body = json.loads(await resp.read())
                assert body["url"] == lines[1].split()[-1]
    finally:
        proc.terminate()
        await proc.wait()
