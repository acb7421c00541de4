"""The skeleton the fake provider servers share: an aiohttp app on 127.0.0.1 that records every request.

A fake subclasses `FakeHttpServer`, adds its routes in `routes(app)`, calls `await self.record(request)` at the
top of each handler, and sleeps with `await self.stall(seconds)` so slow replies end when the server stops.
Tests use `async with Fake() as fake` and point the client at `fake.base_url`; subprocess runs use
`serve_forever_main` (`python -m tests.fakes.X --port N` prints the base URL and serves until killed).

The scenario plumbing the fakes share lives here too: a `[fake:NAME]` directive in a prompt picks a scenario
(`scenario_for`), `CannedReply` is one canned answer (an error page, garbage), and `drop_connection` /
`send_truncated` misbehave at the connection level.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from aiohttp import web
from multidict import CIMultiDict

S = TypeVar("S")
DIRECTIVE = re.compile(r"\[fake:([A-Za-z0-9_\-]+)\]")


class UnknownScenario(KeyError):
    """A `[fake:NAME]` directive names no scenario; fakes answer it with a 400 naming NAME."""

    @property
    def name(self) -> str:
        """The unknown scenario name."""
        return str(self.args[0])


def scenario_for(text: str, scenarios: Mapping[str, S], default: S) -> S:
    """The scenario a `[fake:NAME]` directive in `text` picks from `scenarios` (read at call time, so tests
    may add entries), else `default`; UnknownScenario for a name that is not there."""
    match = DIRECTIVE.search(text or "")
    if match is None:
        return default
    if match.group(1) not in scenarios:
        raise UnknownScenario(match.group(1))
    return scenarios[match.group(1)]


@dataclass(frozen=True)
class CannedReply:
    """One canned HTTP answer that replaces a route's normal one (an error page, garbage, a 429...)."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> web.Response:
        """The reply as an aiohttp response."""
        return web.Response(
            status=self.status,
            body=self.body.encode(),
            content_type=self.content_type,
            charset="utf-8",
            headers=dict(self.headers),
        )


def google_error_body(code: int, status: str, message: str) -> str:
    """Google's classic JSON error body: {"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}."""
    return json.dumps({"error": {"code": code, "message": message, "status": status}})


def drop_connection(request: web.Request) -> None:
    """Close the client's connection at once, without an answer."""
    if request.transport is not None:
        request.transport.abort()


async def send_truncated(
    request: web.Request, data: bytes, content_type: str = "video/mp4"
) -> web.StreamResponse:
    """Announce `len(data)` bytes, send the first half, then close the connection."""
    response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    if request.transport is not None:
        request.transport.close()  # close, not abort: the half already written still arrives
    return response


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
