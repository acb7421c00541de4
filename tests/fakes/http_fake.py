"""The skeleton the fake provider servers share: an aiohttp app on 127.0.0.1 that records every request.

A fake subclasses `FakeHttpServer`, adds its routes in `routes(app)`, calls `await self.record(request)` at the
top of each handler, and sleeps with `await self.stall(seconds)` so slow replies end when the server stops.
Tests use `async with Fake() as fake` and point the client at `fake.base_url`; subprocess runs use
`serve_forever_main` (`python -m tests.fakes.X --port N` prints the base URL and serves until killed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class RecordedRequest:
    """One request as a fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]  # looked up case-insensitively; iterates the names as sent
    json: Any = None  # the parsed JSON body; its text when it is not JSON; None when there is none
    route: str | None = None  # the fake's own name for the route, where it names them


class FakeHttpServer:
    """An aiohttp server for one fake API; subclasses override `routes`."""

    shutdown_timeout: float = 1.0  # seconds cleanup waits for handlers still running
    handler_cancellation: bool = True  # cancel a handler when its client disconnects

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0 binds a free port; start() reads the bound one back
        self.requests: list[RecordedRequest] = []
        self.closing = asyncio.Event()  # set by stop(); wakes stalled handlers
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        """Add the fake's routes to `app`."""
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Root URL of the running server, e.g. http://127.0.0.1:40123."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Bind and serve; returns the base URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=self.handler_cancellation,
            shutdown_timeout=self.shutdown_timeout,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; stalled replies end at once."""
        self.closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    close = stop

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- for the fakes' handlers and their tests -----------------------------------------------------

    async def record(self, request: web.Request, route: str | None = None) -> Any:
        """Append the request to `requests`; return its body (parsed JSON, else text, else None)."""
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=request.headers.copy(),
                json=body,
                route=route,
            )
        )
        return body

    def requests_to(self, route_or_method: str, path_part: str = "") -> list[RecordedRequest]:
        """Recorded requests of one named route, or with this HTTP method, whose path contains `path_part`."""
        return [r for r in self.requests if route_or_method in (r.route, r.method) and path_part in r.path]

    async def stall(self, seconds: float) -> None:
        """Wait `seconds`, or less when the server stops meanwhile."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), seconds)


def serve_forever_main(
    factory: Callable[[argparse.Namespace], FakeHttpServer],
    description: str,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Standalone mode: parse `--port N` plus `options` (flag -> add_argument kwargs), build the fake with
    `factory(args)`, print its base URL on one line and serve until killed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0)
    for flag, kwargs in (options or {}).items():
        parser.add_argument(flag, **kwargs)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(factory, args))


async def _serve_forever(
    factory: Callable[[argparse.Namespace], FakeHttpServer], args: argparse.Namespace
) -> None:
    async with factory(args) as fake:
        print(fake.base_url, flush=True)
        await asyncio.Event().wait()
