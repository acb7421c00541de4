"""Entry point: `python bot.py` runs the Discord bot; `generate` and `doctor` are terminal commands."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import uuid

import discord
import yarl
from discord.ext import commands

from app.cli import main as cli_main
from app.health import Health
from cogs.admin import AdminCog
from cogs.creative import CreativeCog
from cogs.history import HistoryCog, HistoryPageButton
from cogs.presets import PresetsCog
from cogs.privacy import ForgetButton, PrivacyCog
from cogs.quota import QuotaCog
from cogs.ui.buttons import JOB_BUTTONS, CreativeButtonHandler, JobButtonHandler
from cogs.ui.display import JobDisplay
from cogs.ui.errors import on_app_command_error
from cogs.video import VideoCog
from core.catalog import CatalogError
from core.jobs.queue import JobQueue
from core.jobs.worker import Worker
from core.media.retention import retention_loop
from core.platform.db import close_db, init_db
from core.platform.logs import configure_logging
from core.platform.settings import LOG_LEVELS, Settings, SettingsError, load_settings
from core.platform.state import get_state, set_state
from core.platform.supervise import Supervisor
from core.services import Services, build_services

log = logging.getLogger("bot")


class VideoBot(commands.Bot):
    """The Discord adapter: slash commands only, no privileged intents, mentions off unless explicit."""

    def __init__(self, services: Services, **options) -> None:
        # This bot has no voice features: skip discord.py's start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.services = services
        self.settings = services.settings
        self.queue, self.jobs, self.worker = build_job_side(self, services)
        self.loops = Supervisor()
        self.job_buttons: JobButtonHandler | None = None  # the Video cog, once loaded
        self.creative_buttons: CreativeButtonHandler | None = None  # the Creative cog, once loaded
        self.health: Health | None = None  # /healthz, /readyz, /metrics (HTTP_PORT), once set up

    async def setup_hook(self) -> None:
        """Load the cogs and buttons, sync commands if they changed, start the worker and the loops."""
        video = VideoCog(self, self.services, self.jobs)
        await self.add_cog(video)
        self.job_buttons = video
        creative = CreativeCog(self, self.services, video)
        await self.add_cog(creative)
        self.creative_buttons = creative
        await self.add_cog(AdminCog(self, self.services, self.jobs))
        await self.add_cog(PrivacyCog(self, self.services, self.jobs))
        for cog in (HistoryCog, QuotaCog, PresetsCog):
            await self.add_cog(cog(self, self.services))
        self.add_dynamic_items(*JOB_BUTTONS, HistoryPageButton, ForgetButton)
        self.tree.on_error = on_app_command_error
        await self.sync_commands()
        settings = self.settings
        self.loops.start(
            "retention",
            lambda: retention_loop(
                settings.output_dir, settings.output_retention_days, storage=self.services.storage
            ),
        )
        self.loops.start("job display", self.jobs.run)
        if self.worker is not None:
            self.loops.start("worker", self.worker.run)
        self.health = Health.for_bot(self, self.services)
        await self.health.start()

    async def sync_commands(self, *, force: bool = False) -> int:
        """Push the command tree when it differs from the last push (or when forced); return its size."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"command_tree:{guild.id if guild else 'global'}"
        if not force and await get_state(key) == digest:
            log.info("slash commands unchanged; not syncing")
            return len(payload)
        synced = await self.tree.sync(guild=guild)
        await set_state(key, digest)
        log.info("synced %d slash commands (%s)", len(synced), f"guild {guild.id}" if guild else "global")
        return len(synced)

    async def on_ready(self) -> None:
        log.info(
            "logged in as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds)
        )

    async def close(self) -> None:
        """Hand running jobs back to the queue at once (they resume elsewhere or on the next start)."""
        if self.worker is not None:
            await self.worker.stop()
        await self.loops.stop()
        # discord.py waits guild_ready_timeout after READY before announcing `ready`, and close() leaves
        # that wait running: stopped within it (say, just after a reconnect), it would fire into the
        # closed client and log a traceback. End it with the client.
        ready = getattr(self._connection, "_ready_task", None)
        if ready is not None:
            ready.cancel()
        if self.health is not None:
            await self.health.stop()
        await super().close()


def job_slots(settings: Settings) -> int:
    """Jobs this process runs at once: WORKERS, or MAX_CONCURRENT_JOBS when unset; 0 = none (bot only)."""
    return settings.max_concurrent_jobs if settings.workers is None else settings.workers


def build_job_side(client: discord.Client, services: Services) -> tuple[JobQueue, JobDisplay, Worker | None]:
    """This process's queue identity, job display and worker (None with WORKERS=0), on the services' clock."""
    queue = services.job_queue(worker_identity())
    display = JobDisplay(client, services, queue, clock=services.clock)
    slots = job_slots(services.settings)
    worker = services.worker(queue, slots, display.hooks_for) if slots else None
    return queue, display, worker


def on_stop_signals(callback) -> None:
    """Run `callback` in the event loop on SIGINT and SIGTERM."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except NotImplementedError:  # Windows' event loops: a plain handler that hands over to the loop
            signal.signal(sig, lambda _signum, _frame: loop.call_soon_threadsafe(callback))


def worker_identity() -> str:
    """A lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def serve_worker(settings: Settings) -> None:
    """`python bot.py worker`: run jobs with REST only (no gateway), until SIGINT/SIGTERM."""
    if job_slots(settings) == 0:
        raise SettingsError("setting WORKERS is 0: a `bot.py worker` process must run at least one job slot")
    point_at_discord(settings)
    await init_db(settings.database_url)
    services = build_services(settings)
    client = discord.Client(intents=discord.Intents.none(), allowed_mentions=discord.AllowedMentions.none())
    queue, display, worker = build_job_side(client, services)
    assert worker is not None
    stop = asyncio.Event()
    on_stop_signals(stop.set)
    loops = Supervisor()
    health = Health.for_worker(client, loops, worker, services)
    try:
        await client.login(settings.discord_token)
        log.info("worker %s running %d slots (REST only)", queue.owner, worker.slots)
        loops.start("worker", worker.run)
        loops.start("delivery sweep", display.run)
        if services.storage is not None and services.storage.remote:  # OUTPUT_DIR is this host's cache
            loops.start(
                "retention", lambda: retention_loop(settings.output_dir, settings.output_retention_days)
            )
        await health.start()
        await stop.wait()
        await worker.stop()
        await loops.stop()
    finally:
        await health.stop()
        await client.close()
        await services.aclose()
        await close_db()
        log.info("worker stopped")


def point_at_discord(settings: Settings) -> None:
    """Use another Discord endpoint (a local fake in tests) when DISCORD_API_BASE / _GATEWAY_URL are set."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def create_bot(services: Services) -> commands.Bot:
    """A VideoBot, auto-sharded when SHARD_COUNT is set."""
    if services.settings.shard_count:
        cls = type("ShardedVideoBot", (VideoBot, commands.AutoShardedBot), {})
        return cls(services, shard_count=services.settings.shard_count)
    return VideoBot(services)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down cleanly."""
    point_at_discord(settings)
    await init_db(settings.database_url)
    services = build_services(settings)
    bot = create_bot(services)
    closing: set[asyncio.Task] = set()  # kept, so the close task can't be garbage-collected

    def close() -> None:
        task = asyncio.ensure_future(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    on_stop_signals(close)
    try:
        async with bot:
            await bot.start(settings.discord_token)
    finally:
        await services.aclose()
        await close_db()
        log.info("stopped")


def run_bot(worker_only: bool = False) -> int:
    """Start the Discord bot (or, with `worker_only`, a REST-only job worker)."""
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
    configure_logging(settings.log_level, secrets=settings.secret_values(), log_format=settings.log_format)
    try:
        asyncio.run(serve_worker(settings) if worker_only else serve(settings))
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_TOKEN; reset it in the developer portal and update .env")
        return 2
    except (SettingsError, CatalogError) as exc:
        log.error("%s", exc)
        return 2
    return 0


def main(argv: list[str]) -> int:
    """Dispatch on the first argument."""
    if not argv or argv[0] == "run":
        return run_bot()
    if argv[0] == "worker":
        return run_bot(worker_only=True)
    # Terminal commands keep the screen for the progress bar: warnings only unless LOG_LEVEL asks for more.
    level = os.environ.get("LOG_LEVEL", "WARNING").upper()
    configure_logging(level if level in LOG_LEVELS else "WARNING")  # a bad value is reported by settings
    return asyncio.run(cli_main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
