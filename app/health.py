"""The HTTP server of `python bot.py` and `python bot.py worker` (HTTP_PORT): what each process calls
alive and ready, and the Discord side of the metrics (429s, seen in discord.py's own log)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping

import discord

from core.jobs import store
from core.jobs.worker import Worker
from core.links.routes import LinkRoutes, add_link_routes
from core.links.signing import link_signer
from core.platform.clock import utc_day
from core.platform.http_server import Check, HttpServer, database_check, flag_check
from core.platform.metrics import Metrics
from core.services import Services

log = logging.getLogger(__name__)

RATE_LIMITED = "We are being rate limited."  # how discord.http's warning about a 429 begins


class DiscordRateLimits(logging.Filter):
    """Counts the 429s discord.py reports on its `discord.http` logger (it waits and retries by itself)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def filter(self, record: logging.LogRecord) -> bool:
        """Count the record if it is a 429; always let it through."""
        if isinstance(record.msg, str) and record.msg.startswith(RATE_LIMITED):
            self.metrics.discord_rate_limited()
        return True


def gateway_ready(bot: discord.Client) -> bool:
    """The gateway is connected and READY, with a measured heartbeat latency."""
    return not bot.is_closed() and bot.is_ready() and math.isfinite(bot.latency)


def rest_ready(client: discord.Client) -> bool:
    """A REST-only client that logged in (its token worked) and has not been closed."""
    return not client.is_closed() and client.user is not None


def all_alive(*sources: Callable[[], Mapping[str, bool]]) -> Callable[[], dict[str, bool]]:
    """One `alive()` over several supervisors."""
    return lambda: {name: up for source in sources for name, up in source().items()}


def readiness(services: Services, discord_check: Check, worker: Worker | None) -> dict[str, Check]:
    """The database answers, Discord is reachable, and (with a worker) its claim loop is recent."""
    checks = {"database": database_check(), "discord": discord_check}
    if worker is not None:

        async def claims() -> str | None:
            return worker.claim_problem()

        checks["worker"] = claims
    return checks


def scrape_queue(services: Services) -> Callable[[], object]:
    """Before each scrape: the queue's depth per model and today's spend, from the database."""

    async def refresh() -> None:
        rows = await store.queue_depths()
        spent = await services.quotas.spent_today(utc_day(services.clock.now()))
        services.metrics.set_queue(rows, spent)

    return refresh


class Health:
    """This process's HTTP server and the 429 counter, started and stopped together (nothing when HTTP_PORT
    is unset)."""

    def __init__(self, services: Services, alive, checks: dict[str, Check]) -> None:
        self.services = services
        self.server = HttpServer(
            services.metrics, alive=alive, checks=checks, before_scrape=scrape_queue(services)
        )
        self.rate_limits = DiscordRateLimits(services.metrics)

    @classmethod
    def for_bot(cls, bot, services: Services) -> Health:
        """The bot: its loops and its worker's, the gateway, the database, the claim loop."""
        worker = bot.worker
        sources = [bot.loops.alive] + ([worker.loops.alive] if worker is not None else [])
        checks = readiness(services, flag_check(lambda: gateway_ready(bot), "gateway not connected"), worker)
        health = cls(services, all_alive(*sources), checks)
        signer = link_signer(services.settings, services.clock)
        if signer is not None:  # PUBLIC_BASE_URL: the bot serves the full-quality links and the gallery
            add_link_routes(health.server.app, LinkRoutes(signer, storage=services.storage))
        return health

    @classmethod
    def for_worker(cls, client: discord.Client, loops, worker: Worker, services: Services) -> Health:
        """A `bot.py worker`: its loops, the REST session, the database, the claim loop."""
        checks = readiness(
            services, flag_check(lambda: rest_ready(client), "not logged in to Discord"), worker
        )
        return cls(services, all_alive(loops.alive, worker.loops.alive), checks)

    async def start(self) -> None:
        """Listen on HTTP_HOST:HTTP_PORT when HTTP_PORT is set."""
        settings = self.services.settings
        if settings.http_port is None:
            return
        logging.getLogger("discord.http").addFilter(self.rate_limits)
        await self.server.start(settings.http_host, settings.http_port)

    async def stop(self) -> None:
        """Stop listening."""
        logging.getLogger("discord.http").removeFilter(self.rate_limits)
        await self.server.stop()
