"""The process's small HTTP server (HTTP_HOST / HTTP_PORT): /healthz, /readyz and /metrics.

It asks nothing of Discord itself: whoever starts it passes callables — which supervised loops are
alive, and the readiness checks (each an async callable returning None when fine, else what is wrong).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from tortoise import connections

from core.platform.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT = 2.0  # seconds one readiness check may take before it counts as failing


async def ping_database() -> None:
    """One trivial query on the default connection."""
    await connections.get("default").execute_query("SELECT 1")


def database_check(
    ping: Callable[[], Awaitable[object]] = ping_database, *, timeout: float = CHECK_TIMEOUT
) -> Check:
    """Readiness: the database answers a trivial query within `timeout` seconds."""

    async def check() -> str | None:
        try:
            await asyncio.wait_for(ping(), timeout)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
        return None

    return check


def flag_check(ok: Callable[[], bool], problem: str) -> Check:
    """Readiness from a synchronous test: `problem` when `ok()` is false."""

    async def check() -> str | None:
        return None if ok() else problem

    return check


class HttpServer:
    """/healthz (loops alive), /readyz (checks pass) and /metrics, on one aiohttp site."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        alive: Callable[[], Mapping[str, bool]],
        checks: Mapping[str, Check],
        before_scrape: Callable[[], Awaitable[None]] | None = None,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.metrics = metrics
        self.alive = alive
        self.checks = dict(checks)
        self.before_scrape = before_scrape
        self.timeout = timeout
        self.app = web.Application()
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/readyz", self.readyz)
        self.app.router.add_get("/metrics", self.metrics_page)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: any free port, then in `self.port`)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("health and metrics on http://%s:%s (/healthz, /readyz, /metrics)", host, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, _request: web.Request) -> web.Response:
        """200 while every supervised loop runs, else 503 naming the dead ones."""
        loops = dict(self.alive())
        dead = sorted(name for name, running in loops.items() if not running)
        body = {"status": "dead" if dead else "ok", "loops": loops}
        if dead:
            body["dead"] = dead
        return web.json_response(body, status=503 if dead else 200)

    async def readyz(self, _request: web.Request) -> web.Response:
        """200 when every readiness check passes, else 503 naming each failing one."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        failing = {n: problem for n, problem in zip(names, results, strict=True) if problem is not None}
        body = {
            "status": "not ready" if failing else "ready",
            "checks": {n: results[i] or "ok" for i, n in enumerate(names)},
        }
        if failing:
            body["failing"] = failing
        return web.json_response(body, status=503 if failing else 200)

    async def _run(self, check: Check) -> str | None:
        try:
            return await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200]

    async def metrics_page(self, _request: web.Request) -> web.Response:
        """The Prometheus text exposition; the database-read gauges are refreshed first."""
        if self.before_scrape is not None:
            try:
                await asyncio.wait_for(self.before_scrape(), self.timeout)
            except Exception:  # the counters are still worth serving; the gauges keep their last values
                log.warning("metrics: reading the queue from the database failed", exc_info=True)
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
