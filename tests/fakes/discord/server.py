"""`FakeDiscord`: the state of one fake Discord and its lifecycle, composed of the pieces of this package.

Each piece is a mixin over the state set up here: `World` (ids, users, guilds), `DispatchMixin`,
`ModalDispatchMixin` and `MenuDispatchMixin` (the interaction test API), `GatewayMixin`, `RestMixin` (plumbing) with its `handlers_*`, and `MessageStore`.
They stay methods of one object because tests and the queue benchmark subclass `FakeDiscord` and override
its hooks (`_callback`, `_new_message`, `_apply`, `_finish`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import (
    ACK_DEADLINE_SECONDS,
    API_PREFIX,
    CHANNEL_MESSAGE,
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    DEFAULT_TOKEN,
    HEARTBEAT_INTERVAL_MS,
    TOKEN_TTL_SECONDS,
    UPDATE_MESSAGE,
)
from tests.fakes.discord.dispatch import DispatchMixin
from tests.fakes.discord.dispatch_menus import MenuDispatchMixin
from tests.fakes.discord.dispatch_modals import ModalDispatchMixin
from tests.fakes.discord.faults import Fault, FaultRule
from tests.fakes.discord.gateway import Connection, GatewayMixin, Session
from tests.fakes.discord.handlers_channels import ChannelHandlers
from tests.fakes.discord.handlers_commands import CommandHandlers
from tests.fakes.discord.handlers_interactions import InteractionHandlers
from tests.fakes.discord.records import FakeGuild, FakeInteraction, FakeMessage, RecordedRequest, Write
from tests.fakes.discord.rest import RestMixin
from tests.fakes.discord.snowflakes import RealClock
from tests.fakes.discord.store import MessageStore
from tests.fakes.discord.world import World

POLL_EVERY = 0.05  # seconds between wait_for()'s checks when nothing reaches the fake


class FakeDiscord(
    DispatchMixin,
    ModalDispatchMixin,
    MenuDispatchMixin,
    GatewayMixin,
    RestMixin,
    CommandHandlers,
    InteractionHandlers,
    ChannelHandlers,
    MessageStore,
    World,
):
    """Fake Discord REST + gateway on 127.0.0.1 (port 0 = any free port)."""

    ENV_API_BASE = "DISCORD_API_BASE"
    ENV_GATEWAY_URL = "DISCORD_GATEWAY_URL"
    ENV_TOKEN = "DISCORD_TOKEN"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "videobot",
        guilds: list[FakeGuild] | None = None,
        attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT,
        ack_deadline: float = ACK_DEADLINE_SECONDS,
        token_ttl: float = TOKEN_TTL_SECONDS,
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        clock: Any = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.clock = clock or RealClock()
        self.attachment_size_limit = attachment_size_limit
        self.ack_deadline = ack_deadline
        self.token_ttl = token_ttl
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self._counter = itertools.count(1)

        self.application_id = self.new_id()
        self.bot_user: dict[str, Any] = {
            "id": str(self.application_id),
            "username": bot_username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
        }
        self.owner_user = self._make_user("owner")
        self.users: dict[str, dict[str, Any]] = {}
        self.default_user = self.user("alice")

        if guilds is None:
            gid = self.new_id()
            guilds = [
                FakeGuild(
                    id=gid,
                    owner_id=int(self.owner_user["id"]),
                    channels=[{"id": str(self.new_id()), "type": 0, "name": "general", "position": 0}],
                )
            ]
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, dict[str, Any]] = {}  # channel id -> channel object (with guild_id)
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        for guild in guilds:
            self.add_guild(guild)
        self.forbidden_channels: set[int] = set()

        # Stores
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._by_token: dict[str, FakeInteraction] = {}
        self.commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_puts: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.cdn: dict[str, tuple[bytes, str]] = {}

        # Logs
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[RecordedRequest] = []
        self.faults: list[FaultRule] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.gateway_sent: list[dict[str, Any]] = []
        self.identify_count = 0
        self.ready_gate = asyncio.Event()  # clear it to hold READY back after IDENTIFY (a slow gateway)
        self.ready_gate.set()
        self.resume_count = 0
        self.heartbeat_count = 0
        self.connection_count = 0

        self._sessions: dict[str, Session] = {}
        self._active: Session | None = None
        self._connections: set[Connection] = set()
        self._changed: asyncio.Event | None = None  # set (and replaced) on every request and frame
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle and addresses

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{path:.*}", self._cdn)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        # shutdown_timeout: stop() must not wait 60 s (aiohttp's default) for a handler stalled by Fault.slow
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._changed = asyncio.Event()

    async def stop(self) -> None:
        self._closing.set()
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"fake discord shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess run of bot.py against this fake."""
        return {
            self.ENV_API_BASE: self.api_base,
            self.ENV_GATEWAY_URL: self.gateway_url,
            self.ENV_TOKEN: self.token,
        }

    def patch_discord(self, monkeypatch: Any) -> None:
        """Point discord.py (process-global class attributes) at this fake for the test's duration."""
        import discord.gateway
        import discord.http
        import yarl

        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    # ------------------------------------------------------------------ knobs

    def inject(self, route: str, fault: Fault, *, times: int | None = 1, skip: int = 0) -> FaultRule:
        """Fail matching requests. `route` is a glob over "METHOD /path" or "METHOD /template" (the path
        after /api/v10), e.g. "PATCH /webhooks/*/messages/@original" or "/channels/*"; first match wins."""
        rule = FaultRule(route, fault, times, skip)
        self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults.clear()

    # ------------------------------------------------------------------ waiting and queries

    async def _notify(self) -> None:
        """Wake every wait_for(): hand the current event to them and start a new one."""
        if self._changed is not None:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
        *,
        poll: float | None = POLL_EVERY,
    ) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every request and gateway frame, and every
        `poll` seconds for predicates on the bot's own state; None when only what reaches the fake can
        make it true); return its value.

        No lock: a thousand waiters (one per interaction of a storm test) each wait on the same event,
        without a task per wait or a lock to take back on waking or on cancellation."""
        assert self._changed is not None, "FakeDiscord is not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"FakeDiscord: timed out after {timeout}s waiting for {what}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left if poll is None else min(left, poll)):
                    await changed.wait()
        return result

    def edits(self, message_id: int) -> list[Write]:
        """Every edit of a message (not its creation), oldest first: (at, payload, files)."""
        return list(self.messages[message_id].edits)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Recorded requests matching a glob like those of inject()."""
        rule = FaultRule(route, Fault("query"))
        return [
            r for r in self.requests if rule.matches(r.method, r.path, (r.template or " ").split(" ", 1)[1])
        ]

    def message_payloads(self) -> list[tuple[RecordedRequest, dict[str, Any]]]:
        """Every message-bearing payload the bot sent: callbacks 4/7 (their data), webhook and channel
        POST/PATCHes. For asserting allowed_mentions everywhere."""
        out = []
        for r in self.requests:
            if not isinstance(r.payload, dict) or r.template is None:
                continue
            if r.template.endswith("/callback"):
                if r.payload.get("type") in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
                    out.append((r, r.payload.get("data") or {}))
            elif r.method in ("POST", "PATCH") and ("/webhooks/" in r.template or "/channels/" in r.template):
                out.append((r, r.payload))
        return out
