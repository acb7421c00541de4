"""Entry point: `python bot.py` runs the Discord bot; `generate` and `doctor` are terminal commands."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from core.cli import main as cli_main
from core.settings import LOG_LEVELS, SettingsError, load_settings


def configure_logging(level: str) -> None:
    """Root logging at `level`; discord.http at WARNING so rate-limit waits stay visible."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("discord.http").setLevel(logging.WARNING)


def run_bot() -> int:
    """Start the Discord bot (see cogs/)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not settings.discord_token:
        print(
            "error: DISCORD_TOKEN is not set. Put DISCORD_TOKEN=<your bot token> in .env (see .env.example)"
            " or the environment.",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level)
    print(
        "error: the Discord adapter is not part of this build yet; use `python bot.py generate` meanwhile.",
        file=sys.stderr,
    )
    return 2


def main(argv: list[str]) -> int:
    """Dispatch on the first argument."""
    if not argv or argv[0] == "run":
        return run_bot()
    # Terminal commands keep the screen for the progress bar: warnings only unless LOG_LEVEL asks for more.
    level = os.environ.get("LOG_LEVEL", "WARNING").upper()
    configure_logging(level if level in LOG_LEVELS else "WARNING")  # a bad value is reported by settings
    return asyncio.run(cli_main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
