"""Standalone fake Discord for subprocess runs: `python -m tests.fakes.discord --port 8090 [--token TOKEN]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from tests.fakes.discord.constants import DEFAULT_TOKEN
from tests.fakes.discord.server import FakeDiscord


async def _serve(port: int, token: str) -> None:
    async with FakeDiscord(port=port, token=token) as fake:
        print(f"REST base:   {fake.api_base}")
        print(f"Gateway URL: {fake.gateway_url}")
        for key, value in fake.env.items():
            print(f"{key}={value}")
        print(
            f"guild {fake.guild_id}, channel {fake.channel_id}, application {fake.application_id}", flush=True
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, print the addresses and serve until killed."""
    parser = argparse.ArgumentParser(description="Fake Discord (REST v10 + gateway) for local runs")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
