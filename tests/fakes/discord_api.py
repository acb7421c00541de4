"""A local fake of Discord (REST API v10 + gateway) that the real discord.py 2.7.1 client talks to.

Faithful to /work/shared/docs/discord.md sections 3-5: exact `Content-Type: application/json`, `Via` on
every response (so 429s are retried), time-based snowflakes, the with_response=1 callback body, the
follow-up routes, multipart uploads (`payload_json` + `files[n]`), and Discord's JSON error codes.

    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)          # Route.BASE + DiscordWebSocket.DEFAULT_GATEWAY
        ...start a discord.py bot with fake.token...
        handle = await fake.send_slash_command("video", {"prompt": "a cat"})
        callback = await handle.wait_callback()  # CallbackRecord(type=5, latency=...)
        await fake.wait_for(lambda: fake.edits(handle.original_id))

Always enforced: the 3 s ack deadline (fake's own clock, measured from the moment INTERACTION_CREATE went
out; late callbacks get 404/10062), a second ack (400/40060), the 15-minute token life (measured from the
interaction id's snowflake time; 401/50027), per-file `attachment_size_limit` (413/40005), Bot-token auth
on bot routes (401), channel access (403/50001), unknown/deleted messages (404/10008). Everything else is
a counted knob: `fake.inject("PATCH /webhooks/*/@original", Fault.rate_limited(0.05), times=1)`.

Standalone, for subprocess runs of the real entry point:

    python -m tests.fakes.discord_api --port 8090 [--token TOKEN]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import fnmatch
import itertools
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
DEFAULT_TOKEN = "fake-bot-token.discord"
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # 10 MiB (discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES)
PREMIUM_TIER_UPLOAD_LIMITS = {
    0: 10 * 1024 * 1024,
    1: 10 * 1024 * 1024,
    2: 50 * 1024 * 1024,
    3: 100 * 1024 * 1024,
}
TOKEN_TTL_SECONDS = 15 * 60.0
ACK_DEADLINE_SECONDS = 3.0
HEARTBEAT_INTERVAL_MS = 41250

ALL_PERMISSIONS = "2251799813685247"
# view_channel, send_messages, embed_links, attach_files, read_message_history, use_application_commands
MEMBER_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31))

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Interaction types
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# Callback types
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = (
    4,
    5,
    6,
    7,
    8,
    9,
)
# Message types
MSG_DEFAULT, MSG_CHAT_INPUT_COMMAND = 0, 20


def snowflake_at(when: dt.datetime, increment: int = 0) -> int:
    """A Discord snowflake whose timestamp is `when` (discord.utils.snowflake_time inverts it)."""
    ms = int(when.timestamp() * 1000)
    return ((ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF)


def snowflake_time(snowflake: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, tz=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


class RealClock:
    """Wall clock for snowflakes and token life, monotonic clock for latencies."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """A canned misbehaviour. `status == 0` means "answer normally", possibly after `delay` and with extra headers."""

    name: str
    status: int = 0
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    via: bool = True

    @classmethod
    def error(cls, status: int, code: int, message: str, *, via: bool = True, name: str = "") -> Fault:
        return cls(name or f"{status}/{code}", status, {"message": message, "code": code}, via=via)

    @classmethod
    def rate_limited(
        cls,
        retry_after: float = 0.05,
        *,
        via: bool = True,
        global_: bool = False,
        scope: str = "user",
        retry_after_header: float | None = None,
    ) -> Fault:
        """429 as in RL, plus `Via` (discord.py retries only with it, sleeping the body's retry_after)."""
        header = retry_after_header if retry_after_header is not None else max(1, math.ceil(retry_after))
        headers = [
            ("Retry-After", str(header)),
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", f"{retry_after:.3f}"),
            ("X-RateLimit-Bucket", "fakebucket0001"),
            ("X-RateLimit-Scope", "global" if global_ else scope),
        ]
        if global_:
            headers.append(("X-RateLimit-Global", "true"))
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
        return cls(
            "429" + ("-global" if global_ else "") + ("" if via else "-no-via"),
            429,
            body,
            tuple(headers),
            via=via,
        )

    @classmethod
    def exhausted(cls, reset_after: float = 0.25) -> Fault:
        """A normal answer carrying `X-RateLimit-Remaining: 0` + `Reset-After`: the next call waits."""
        headers = (
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", f"{time.time() + reset_after:.3f}"),
            ("X-RateLimit-Reset-After", f"{reset_after:.3f}"),
            ("X-RateLimit-Bucket", "fakebucket0001"),
        )
        return cls("exhausted", 0, None, headers)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally after `seconds`."""
        return cls(f"slow-{seconds}", 0, None, (), delay=seconds)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(f"{status}", status, {"message": f"{status}: Internal Server Error", "code": 0})

    @classmethod
    def invalid_webhook_token(cls) -> Fault:
        return cls.error(401, 50027, "Invalid Webhook Token")

    @classmethod
    def unknown_message(cls) -> Fault:
        return cls.error(404, 10008, "Unknown Message")

    @classmethod
    def unknown_webhook(cls) -> Fault:
        return cls.error(404, 10015, "Unknown Webhook")

    @classmethod
    def unknown_interaction(cls) -> Fault:
        return cls.error(404, 10062, "Unknown interaction")

    @classmethod
    def already_acknowledged(cls) -> Fault:
        return cls.error(400, 40060, "Interaction has already been acknowledged.")

    @classmethod
    def missing_access(cls) -> Fault:
        return cls.error(403, 50001, "Missing Access")

    @classmethod
    def missing_permissions(cls) -> Fault:
        return cls.error(403, 50013, "Missing Permissions")

    @classmethod
    def too_large(cls) -> Fault:
        return cls.error(413, 40005, "Request entity too large")

    @classmethod
    def max_followups(cls) -> Fault:
        return cls.error(400, 40094, "This interaction has hit the maximum number of follow up messages")

    @classmethod
    def max_edits_old_message(cls) -> Fault:
        """429/30046 has no retry_after; sent without Via so discord.py raises HTTPException (with Via it
        would die on a KeyError for 'retry_after')."""
        return cls.error(
            429,
            30046,
            "Maximum number of edits to messages older than 1 hour reached. Try again later",
            via=False,
        )


@dataclass
class FaultRule:
    """A fault injected on requests whose "METHOD /path" (or "METHOD /template") matches `route` (a glob)."""

    route: str
    fault: Fault
    times: int | None = 1  # None = forever
    skip: int = 0  # let this many matching requests through first
    seen: int = 0
    hits: int = 0

    def matches(self, method: str, path: str, template: str) -> bool:
        pattern = self.route if not self.route.startswith("/") else "* " + self.route
        return fnmatch.fnmatchcase(f"{method} {path}", pattern) or fnmatch.fnmatchcase(
            f"{method} {template}", pattern
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


# ------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class UploadedFile:
    field: str  # "files[0]"
    filename: str
    content_type: str
    data: bytes

    @property
    def index(self) -> int | None:
        m = re.fullmatch(r"files\[(\d+)\]", self.field)
        return int(m.group(1)) if m else None


@dataclass
class RecordedRequest:
    at: float  # fake clock, monotonic
    method: str
    path: str  # after /api/v10
    template: str | None  # e.g. "PATCH /webhooks/{app}/{token}/messages/@original"; None for unknown routes
    query: dict[str, str]
    headers: dict[str, str]
    payload: Any  # JSON body, or the multipart payload_json
    files: list[UploadedFile]
    status: int = 0
    fault: str | None = None
    response: Any = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


class Write(NamedTuple):
    """One write to a message: creation or edit. `at` is the fake's monotonic clock."""

    at: float
    payload: dict[str, Any]
    files: list[UploadedFile]


@dataclass
class FakeAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            out["description"] = self.description
        return out


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    type: int
    timestamp: dt.datetime
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    edited_timestamp: dt.datetime | None = None
    webhook_id: int | None = None  # the application id for interaction messages
    interaction_id: int | None = None
    kind: str = "channel"  # "original" | "followup" | "channel"
    deleted: bool = False
    created: Write | None = None
    edits: list[Write] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    @property
    def history(self) -> list[Write]:
        return ([self.created] if self.created else []) + self.edits

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in _iter_components(self.components) if "custom_id" in c]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "content": self.content,
            "channel_id": str(self.channel_id),
            "author": self.author,
            "timestamp": _iso(self.timestamp),
            "edited_timestamp": _iso(self.edited_timestamp) if self.edited_timestamp else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.to_json() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.webhook_id is not None:
            out["webhook_id"] = str(self.webhook_id)
            out["application_id"] = str(self.webhook_id)
        return out


@dataclass
class CallbackRecord:
    """One POST .../callback attempt."""

    type: int | None
    data: dict[str, Any] | None
    files: list[UploadedFile]
    at: float
    latency: float | None  # seconds between INTERACTION_CREATE going out and this callback
    status: int
    code: int | None = None  # Discord JSON error code when rejected

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class FakeGuild:
    id: int
    name: str = "Test Guild"
    channels: list[dict[str, Any]] = field(default_factory=list)
    premium_tier: int = 0
    owner_id: int = 0
    bot_member: bool = True  # the bot is in the guild: channel routes work, GUILD_CREATE is sent
    send_guild_create: bool = True

    @property
    def upload_limit(self) -> int:
        return PREMIUM_TIER_UPLOAD_LIMITS.get(self.premium_tier, DEFAULT_ATTACHMENT_SIZE_LIMIT)


class FakeInteraction:
    """Handle for one dispatched interaction: ids, token, callback, original message, follow-ups."""

    def __init__(self, fake: FakeDiscord, payload: dict[str, Any], created_at: dt.datetime) -> None:
        self.fake = fake
        self.payload = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.created_at = created_at
        self.attachment_size_limit: int = payload["attachment_size_limit"]
        self.guild_id: int | None = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.channel_id: int = int(payload["channel_id"])
        self.user: dict[str, Any] = payload["member"]["user"] if "member" in payload else payload["user"]
        self.message_id: int | None = int(payload["message"]["id"]) if "message" in payload else None
        self.dispatched_at: float | None = None  # fake monotonic clock, when the frame went out
        self.seq: int | None = None
        self.attempts: list[CallbackRecord] = []
        self.original_id: int | None = None
        self.followup_ids: list[int] = []

    def __repr__(self) -> str:
        return f"<FakeInteraction id={self.id} type={self.type} callback={self.callback_type}>"

    @property
    def expires_at(self) -> dt.datetime:
        return self.created_at + dt.timedelta(seconds=self.fake.token_ttl)

    @property
    def callback(self) -> CallbackRecord | None:
        """The accepted callback, if any."""
        return next((a for a in self.attempts if a.accepted), None)

    @property
    def callback_type(self) -> int | None:
        cb = self.callback
        return cb.type if cb else None

    @property
    def original(self) -> FakeMessage | None:
        return self.fake.messages.get(self.original_id) if self.original_id else None

    @property
    def followups(self) -> list[FakeMessage]:
        return [self.fake.messages[i] for i in self.followup_ids]

    async def wait_callback(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109
        """The first callback attempt (accepted or rejected)."""
        await self.fake.wait_for(lambda: self.attempts, timeout, f"a callback for interaction {self.id}")
        return self.attempts[0]

    async def wait_original(
        self,
        predicate: Callable[[FakeMessage], Any] = lambda m: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        def check() -> FakeMessage | None:
            msg = self.original
            return msg if msg is not None and predicate(msg) else None

        return await self.fake.wait_for(check, timeout, f"the original message of interaction {self.id}")


Interaction = FakeInteraction


# ------------------------------------------------------------------------------------------- helpers


def _iter_components(components: Iterable[dict[str, Any]] | None) -> Iterable[dict[str, Any]]:
    for comp in components or []:
        if not isinstance(comp, dict):
            continue
        yield comp
        yield from _iter_components(comp.get("components"))
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), dict):
                yield from _iter_components([comp[key]])


def _json_response(
    status: int, body: Any, headers: Iterable[tuple[str, str]] = (), via: bool = True
) -> web.Response:
    # Exactly `application/json` (discord.py's json_or_text compares the whole header; no charset).
    resp = web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")
    if via:
        resp.headers["Via"] = "1.1 google"
    for k, v in headers:
        resp.headers[k] = v
    return resp


class _Reject(Exception):
    """Raised by handlers to answer a Discord JSON error."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status}/{code} {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class _Route:
    method: str
    regex: re.Pattern[str]
    template: str  # path template, e.g. "/channels/{channel}/messages/{message}"
    handler: Callable[..., Any]
    bot_auth: bool


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: _Session | None = None


@dataclass(eq=False)
class _Session:
    id: str
    seq: int = 0
    events: list[tuple[int, str, Any]] = field(default_factory=list)  # (s, t, d) for replay on RESUME
    conn: _Connection | None = None
    identify: dict[str, Any] | None = None
    on_sent: dict[int, Callable[[], None]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- fake


class FakeDiscord:
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
        self.resume_count = 0
        self.heartbeat_count = 0
        self.connection_count = 0

        self._sessions: dict[str, _Session] = {}
        self._active: _Session | None = None
        self._connections: set[_Connection] = set()
        self._cond: asyncio.Condition | None = None
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
        self._cond = asyncio.Condition()

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

    # ------------------------------------------------------------------ ids, users, guilds, files

    def new_id(self, at: dt.datetime | None = None) -> int:
        return snowflake_at(at or self.clock.now(), next(self._counter))

    def _make_user(self, username: str, user_id: int | None = None) -> dict[str, Any]:
        return {
            "id": str(user_id or self.new_id()),
            "username": username,
            "discriminator": "0",
            "global_name": username.capitalize(),
            "avatar": None,
        }

    def user(self, username: str, *, id: int | None = None) -> dict[str, Any]:
        """A user object (created once per username)."""
        if username not in self.users:
            self.users[username] = self._make_user(username, id)
        return self.users[username]

    def add_guild(self, guild: FakeGuild) -> FakeGuild:
        if not guild.owner_id:
            guild.owner_id = int(self.owner_user["id"])
        self.guilds[guild.id] = guild
        for ch in guild.channels:
            ch.setdefault("guild_id", str(guild.id))
            ch.setdefault("permission_overwrites", [])
            ch.setdefault("position", 0)
            self.channels[int(ch["id"])] = ch
        return guild

    def new_guild(
        self, name: str = "Other Guild", *, bot_member: bool = True, premium_tier: int = 0
    ) -> FakeGuild:
        """A guild with one text channel. `bot_member=False`: the bot isn't in it (user install)."""
        gid = self.new_id()
        guild = FakeGuild(
            id=gid,
            name=name,
            premium_tier=premium_tier,
            bot_member=bot_member,
            send_guild_create=bot_member,
            channels=[{"id": str(self.new_id()), "type": 0, "name": "general", "position": 0}],
        )
        return self.add_guild(guild)

    @property
    def guild(self) -> FakeGuild:
        """The first configured guild."""
        return next(iter(self.guilds.values()))

    @property
    def guild_id(self) -> int:
        return self.guild.id

    @property
    def channel_id(self) -> int:
        return int(self.guild.channels[0]["id"])

    def dm_channel_id(self, user: dict[str, Any]) -> int:
        uid = int(user["id"])
        if uid not in self.dm_channels:
            self.dm_channels[uid] = cid = self.new_id()
            self.channels[cid] = {"id": str(cid), "type": 1, "recipients": [user]}
        return self.dm_channels[uid]

    def add_message(
        self,
        channel_id: int | None = None,
        content: str = "",
        *,
        components: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        author: dict[str, Any] | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        """Seed a message (e.g. one the bot posted before a restart, with its buttons)."""
        channel_id = channel_id or self.channel_id
        gid = self.channels.get(channel_id, {}).get("guild_id")
        msg = self._new_message(
            channel_id=channel_id,
            guild_id=int(gid) if gid is not None else None,
            author=author or self.bot_user,
            mtype=MSG_DEFAULT,
            kind="channel",
            flags=flags,
        )
        payload = {"content": content, "components": components or [], "embeds": embeds or []}
        self._apply(msg, payload, [], creating=True)
        msg.created = Write(self.clock.monotonic(), payload, [])
        return msg

    def add_cdn_file(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Serve bytes under /cdn and return an attachment object (for attachment options)."""
        att_id = self.new_id()
        path = f"attachments/{att_id}/{filename}"
        self.cdn[path] = (data, content_type)
        url = f"{self.base_url}/cdn/{path}"
        return {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "content_type": content_type,
            "url": url,
            "proxy_url": url,
        }

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
        if self._cond is None:
            return
        async with self._cond:
            self._cond.notify_all()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every request and gateway frame, and every
        20 ms); return its value."""
        assert self._cond is not None, "FakeDiscord is not started"
        try:
            async with asyncio.timeout(timeout):
                async with self._cond:
                    while not (result := predicate()):
                        # woken by every request/frame; also polls, for predicates on the bot's own state
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._cond.wait(), 0.02)
                    return result
        except TimeoutError:
            raise TimeoutError(f"FakeDiscord: timed out after {timeout}s waiting for {what}") from None

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

    # ------------------------------------------------------------------ interaction dispatch (test API)

    async def send_slash_command(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: dict[str, Any] | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        context: int | None = None,
        user_install: bool = False,
        resolved: dict[str, Any] | None = None,
        created_at: dt.datetime | None = None,
        attachment_size_limit: int | None = None,
        roles: list[int] | None = None,
        permissions: int | str | None = None,
        app_permissions: int | str = ALL_PERMISSIONS,
        locale: str = "en-US",
        command_type: int = 1,
        focused: str | None = None,
        interaction_type: int = APPLICATION_COMMAND,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE for `/name` ("group sub" or "group subgroup sub" nests the options).

        `options` is either raw option dicts or {name: value}: str/int/float/bool → 3/4/10/5, a user
        object (has "username") → 6 with `resolved.users` (+ `members` in a guild), an attachment object
        (from add_cdn_file) → 11 with `resolved.attachments`. `created_at` in the past makes the token old.
        """
        user = user or self.default_user
        parts = name.split()
        res: dict[str, Any] = {k: dict(v) for k, v in (resolved or {}).items()}
        in_guild = not dm and context not in (1, 2)
        leaf = self._build_options(options, res, in_guild, focused)
        opts = leaf
        for i, sub in enumerate(reversed(parts[1:])):
            opts = [{"name": sub, "type": 1 if i == 0 else 2, "options": opts}]
        data: dict[str, Any] = {
            "id": str(self._command_id(parts[0], guild_id)),
            "name": parts[0],
            "type": command_type,
        }
        if opts:
            data["options"] = opts
        if res:
            data["resolved"] = res
        gid = guild_id if guild_id is not None else self.guild_id
        if in_guild and self._is_guild_only_command(parts[0], gid):
            data["guild_id"] = str(gid)
        return await self._send_interaction(
            interaction_type,
            data,
            user=user,
            guild_id=guild_id,
            channel_id=channel_id,
            dm=dm,
            context=context,
            user_install=user_install,
            created_at=created_at,
            attachment_size_limit=attachment_size_limit,
            roles=roles,
            permissions=permissions,
            app_permissions=app_permissions,
            locale=locale,
        )

    async def send_autocomplete(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None,
        *,
        focused: str,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Dispatch an autocomplete interaction (type 4); `focused` names the option being typed."""
        return await self.send_slash_command(
            name, options, focused=focused, interaction_type=AUTOCOMPLETE, **kwargs
        )

    async def send_component_click(
        self,
        message_id: int,
        custom_id: str,
        *,
        user: dict[str, Any] | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        require_component: bool = True,
        created_at: dt.datetime | None = None,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Click a component of a stored message; the payload carries the message as the fake returns it."""
        msg = self.messages[message_id]
        if msg.deleted:
            raise LookupError(f"message {message_id} was deleted")
        if require_component and custom_id not in msg.custom_ids():
            raise LookupError(f"message {message_id} has no component {custom_id!r} (has {msg.custom_ids()})")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        dm = msg.guild_id is None
        return await self._send_interaction(
            MESSAGE_COMPONENT,
            data,
            user=user or self.default_user,
            guild_id=msg.guild_id,
            channel_id=msg.channel_id,
            dm=dm,
            message=msg.to_json(),
            created_at=created_at,
            **kwargs,
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Submit a modal (type 5); `custom_id` must echo the modal the bot sent (callback type 9)."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        extra: dict[str, Any] = {}
        if message_id is not None:
            msg = self.messages[message_id]
            extra = {
                "message": msg.to_json(),
                "channel_id": msg.channel_id,
                "guild_id": msg.guild_id,
                "dm": msg.guild_id is None,
            }
        return await self._send_interaction(
            MODAL_SUBMIT, data, user=user or self.default_user, **extra, **kwargs
        )

    def _command_id(self, name: str, guild_id: int | None) -> int:
        for cmd in self.commands + self.guild_commands.get(guild_id or self.guild_id, []):
            if cmd["name"] == name:
                return int(cmd["id"])
        return self.new_id()

    def _is_guild_only_command(self, name: str, guild_id: int) -> bool:
        in_guild = any(c["name"] == name for c in self.guild_commands.get(guild_id, []))
        return in_guild and not any(c["name"] == name for c in self.commands)

    def _build_options(
        self, options: Any, resolved: dict[str, Any], in_guild: bool, focused: str | None
    ) -> list[dict[str, Any]]:
        if options is None:
            return []
        if isinstance(options, list):
            out = [dict(o) for o in options]
        else:
            out = []
            for key, value in options.items():
                out.append(self._option(key, value, resolved, in_guild))
        if focused is not None:
            for o in out:
                if o["name"] == focused:
                    o["focused"] = True
        return out

    def _option(self, name: str, value: Any, resolved: dict[str, Any], in_guild: bool) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"name": name, "type": 5, "value": value}
        if isinstance(value, int):
            return {"name": name, "type": 4, "value": value}
        if isinstance(value, float):
            return {"name": name, "type": 10, "value": value}
        if isinstance(value, str):
            return {"name": name, "type": 3, "value": value}
        if isinstance(value, dict) and "username" in value:
            uid = value["id"]
            resolved.setdefault("users", {})[uid] = value
            if in_guild:
                resolved.setdefault("members", {})[uid] = {
                    "roles": [],
                    "flags": 0,
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "permissions": MEMBER_PERMISSIONS,
                }
            return {"name": name, "type": 6, "value": uid}
        if isinstance(value, dict) and "filename" in value:
            resolved.setdefault("attachments", {})[value["id"]] = value
            return {"name": name, "type": 11, "value": value["id"]}
        raise TypeError(f"cannot infer the option type of {name}={value!r}; pass raw option dicts")

    async def _send_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: dict[str, Any],
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        context: int | None = None,
        user_install: bool = False,
        message: dict[str, Any] | None = None,
        created_at: dt.datetime | None = None,
        attachment_size_limit: int | None = None,
        roles: list[int] | None = None,
        permissions: int | str | None = None,
        app_permissions: int | str = ALL_PERMISSIONS,
        locale: str = "en-US",
    ) -> FakeInteraction:
        created_at = created_at or self.clock.now()
        iid = self.new_id(created_at)
        token = "aW50ZXJhY3Rpb246" + secrets.token_hex(24)
        if context is None:
            context = 1 if dm else 0
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "attachment_size_limit": attachment_size_limit or self.attachment_size_limit,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "context": context,
            "data": data,
        }
        if context == 0:
            gid = guild_id if guild_id is not None else self.guild_id
            guild = self.guilds.get(gid)
            if channel_id is None:
                channel_id = int(guild.channels[0]["id"]) if guild else self.new_id()
            channel = self.channels.get(channel_id)
            if (
                channel is None
            ):  # a guild (or channel) the fake never announced: remember it for access checks
                channel = {
                    "id": str(channel_id),
                    "type": 0,
                    "name": "channel",
                    "position": 0,
                    "guild_id": str(gid),
                }
                self.channels[channel_id] = channel
                if gid not in self.guilds:
                    self.add_guild(
                        FakeGuild(id=gid, name="Uncached", bot_member=False, send_guild_create=False)
                    )
            perms = permissions if permissions is not None else MEMBER_PERMISSIONS
            payload.update(
                guild_id=str(gid),
                channel_id=str(channel_id),
                channel={
                    "id": str(channel_id),
                    "type": channel.get("type", 0),
                    "name": channel.get("name", "channel"),
                    "position": channel.get("position", 0),
                    "guild_id": str(gid),
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                },
                member={
                    "user": user,
                    "roles": [str(r) for r in roles or []],
                    "flags": 0,
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "permissions": str(perms),
                    "nick": None,
                    "avatar": None,
                    "deaf": False,
                    "mute": False,
                    "pending": False,
                },
                app_permissions=str(app_permissions),
                guild_locale="en-US",
                guild={"id": str(gid), "locale": "en-US", "features": []},
                authorizing_integration_owners={"1": user["id"]} if user_install else {"0": str(gid)},
            )
        elif context == 1:  # bot DM
            if channel_id is None:
                channel_id = self.dm_channel_id(user)
            payload.update(
                channel_id=str(channel_id),
                channel={"id": str(channel_id), "type": 1, "recipients": [user], "flags": 0},
                user=user,
                app_permissions=str(app_permissions),
                authorizing_integration_owners={"1": user["id"]} if user_install else {"0": "0"},
            )
        else:  # private channel / group DM: only a user install reaches it; the bot has no access
            if channel_id is None:
                channel_id = self.new_id()
            self.channels.setdefault(channel_id, {"id": str(channel_id), "type": 3, "private": True})
            payload.update(
                channel_id=str(channel_id),
                channel={"id": str(channel_id), "type": 3, "recipients": [user], "name": None, "flags": 0},
                user=user,
                app_permissions=str(app_permissions),
                authorizing_integration_owners={"1": user["id"]},
            )
        if message is not None:
            payload["message"] = message
        handle = FakeInteraction(self, payload, created_at)
        self.interactions[iid] = handle
        self._by_token[token] = handle

        def sent() -> None:
            handle.dispatched_at = self.clock.monotonic()

        handle.seq = await self.dispatch("INTERACTION_CREATE", payload, on_sent=sent)
        return handle

    # ------------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: Any, *, on_sent: Callable[[], None] | None = None) -> int:
        """Send a DISPATCH (op 0) on the active session; buffered for replay if it is disconnected."""
        session = self._active
        if session is None:
            raise RuntimeError("no gateway session: start the bot (IDENTIFY) first")
        session.seq += 1
        s = session.seq
        session.events.append((s, event, data))
        if on_sent is not None:
            session.on_sent[s] = on_sent
        conn = session.conn
        if conn is not None:
            await self._send_dispatch(conn, session, s, event, data)
        return s

    async def _send_dispatch(
        self, conn: _Connection, session: _Session, s: int, event: str, data: Any
    ) -> None:
        await self._send(conn, {"op": 0, "t": event, "s": s, "d": data})
        cb = session.on_sent.pop(s, None)
        if cb is not None:
            cb()

    async def _send(self, conn: _Connection, frame: dict[str, Any]) -> None:
        async with conn.lock:
            if conn.ws.closed:
                return
            await conn.ws.send_str(json.dumps(frame))  # TEXT frames only
        self.gateway_sent.append(frame)
        await self._notify()

    async def send_gateway_op(self, op: int, d: Any = None) -> None:
        """Send a raw opcode (7 RECONNECT, 9 INVALID SESSION, ...) on the active connection."""
        session = self._active
        if session is None or session.conn is None:
            raise RuntimeError("no active gateway connection")
        await self._send(session.conn, {"op": op, "d": d})

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the active connection with `code`; the session stays resumable (events are buffered)."""
        session = self._active
        if session is None or session.conn is None:
            raise RuntimeError("no active gateway connection")
        conn = session.conn
        session.conn = None
        conn.session = None
        await conn.ws.close(code=code, message=b"fake drop")

    @property
    def connected(self) -> bool:
        return self._active is not None and self._active.conn is not None

    @property
    def session_id(self) -> str | None:
        return self._active.id if self._active else None

    async def wait_ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until READY went out on some connection."""
        await self.wait_for(
            lambda: any(f.get("t") == "READY" for f in self.gateway_sent), timeout, "READY to be sent"
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.resume_count >= count, timeout, f"{count} RESUME(s)")

    def _ready_payload(self, session: _Session) -> dict[str, Any]:
        return {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False},
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "guilds": [
                {"id": str(g.id), "unavailable": True} for g in self.guilds.values() if g.send_guild_create
            ],
            "private_channels": [],
            "relationships": [],
            "application": {"id": str(self.application_id), "flags": 0},
        }

    def _guild_create_payload(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(guild.owner_id),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "premium_tier": guild.premium_tier,
            "features": [],
            "preferred_locale": "en-US",
            "joined_at": "2024-01-01T00:00:00+00:00",
            "roles": [
                {
                    "id": str(guild.id),
                    "name": "@everyone",
                    "permissions": MEMBER_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "channels": [{k: v for k, v in ch.items() if k != "guild_id"} for ch in guild.channels],
            "threads": [],
            "members": [self._bot_member()],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
        }

    def _bot_member(self) -> dict[str, Any]:
        return {"user": self.bot_user, "roles": [], "flags": 0, "joined_at": "2024-01-01T00:00:00+00:00"}

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws, dict(request.query))
        self._connections.add(conn)
        self.connection_count += 1
        try:
            await self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_received.append(frame)
                await self._on_frame(conn, frame)
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            await self._notify()
        return ws

    async def _on_frame(self, conn: _Connection, frame: dict[str, Any]) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            self.heartbeat_count += 1
            await self._send(conn, {"op": 11})
        elif op == 2:
            if not isinstance(d, dict) or d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.identify_count += 1
            session = _Session(id=secrets.token_hex(16), identify=d)
            self._sessions[session.id] = session
            self._active = session
            session.conn = conn
            conn.session = session
            await self.dispatch("READY", self._ready_payload(session))
            for guild in self.guilds.values():
                if guild.send_guild_create:
                    await self.dispatch("GUILD_CREATE", self._guild_create_payload(guild))
        elif op == 6:
            session = self._sessions.get(d.get("session_id")) if isinstance(d, dict) else None
            if session is None or d.get("token") != self.token:
                await self._send(conn, {"op": 9, "d": False})
                return
            self.resume_count += 1
            session.conn = conn
            conn.session = session
            self._active = session
            last = int(d.get("seq") or 0)
            for s, event, data in list(session.events):
                if s > last:
                    await self._send_dispatch(conn, session, s, event, data)
            await self.dispatch("RESUMED", {})
        elif op == 8 and isinstance(d, dict):
            for gid in d.get("guild_id") if isinstance(d.get("guild_id"), list) else [d.get("guild_id")]:
                chunk = {
                    "guild_id": str(gid),
                    "members": [self._bot_member()],
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "not_found": [],
                }
                if d.get("nonce"):
                    chunk["nonce"] = d["nonce"]
                if conn.session is not None:
                    await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)
        else:
            await self._notify()

    # ------------------------------------------------------------------ REST plumbing

    def _build_routes(self) -> list[_Route]:
        snow, tok = r"(?P<{}>\d+)", r"(?P<token>[^/]+)"
        table = [
            ("GET", r"/users/@me", "/users/@me", self._get_me, True),
            ("GET", r"/oauth2/applications/@me", "/oauth2/applications/@me", self._get_app, True),
            ("GET", r"/gateway", "/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", "/gateway/bot", self._get_gateway_bot, True),
            (
                "GET",
                rf"/applications/{snow.format('app')}/commands",
                "/applications/{app}/commands",
                self._get_cmds,
                True,
            ),
            (
                "PUT",
                rf"/applications/{snow.format('app')}/commands",
                "/applications/{app}/commands",
                self._put_cmds,
                True,
            ),
            (
                "GET",
                rf"/applications/{snow.format('app')}/guilds/{snow.format('guild')}/commands",
                "/applications/{app}/guilds/{guild}/commands",
                self._get_cmds,
                True,
            ),
            (
                "PUT",
                rf"/applications/{snow.format('app')}/guilds/{snow.format('guild')}/commands",
                "/applications/{app}/guilds/{guild}/commands",
                self._put_cmds,
                True,
            ),
            (
                "POST",
                rf"/interactions/{snow.format('iid')}/{tok}/callback",
                "/interactions/{id}/{token}/callback",
                self._callback,
                False,
            ),
            (
                "GET",
                rf"/webhooks/{snow.format('app')}/{tok}/messages/(?P<mid>@original|\d+)",
                "/webhooks/{app}/{token}/messages/{message}",
                self._wh_get,
                False,
            ),
            (
                "PATCH",
                rf"/webhooks/{snow.format('app')}/{tok}/messages/(?P<mid>@original|\d+)",
                "/webhooks/{app}/{token}/messages/{message}",
                self._wh_patch,
                False,
            ),
            (
                "DELETE",
                rf"/webhooks/{snow.format('app')}/{tok}/messages/(?P<mid>@original|\d+)",
                "/webhooks/{app}/{token}/messages/{message}",
                self._wh_delete,
                False,
            ),
            (
                "POST",
                rf"/webhooks/{snow.format('app')}/{tok}",
                "/webhooks/{app}/{token}",
                self._wh_post,
                False,
            ),
            (
                "GET",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                "/channels/{channel}/messages/{message}",
                self._ch_get,
                True,
            ),
            (
                "PATCH",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                "/channels/{channel}/messages/{message}",
                self._ch_patch,
                True,
            ),
            (
                "DELETE",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                "/channels/{channel}/messages/{message}",
                self._ch_delete,
                True,
            ),
            (
                "POST",
                rf"/channels/{snow.format('cid')}/messages",
                "/channels/{channel}/messages",
                self._ch_post,
                True,
            ),
        ]
        return [
            _Route(method, re.compile(regex + r"/?"), template, handler, auth)
            for method, regex, template, handler, auth in table
        ]

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read(decode=False)  # type: ignore[union-attr]
                    files.append(
                        UploadedFile(
                            part.name or "",
                            part.filename or "",  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype == "application/json":
            return json.loads(raw), []
        return raw, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        at = self.clock.monotonic()
        full = request.path
        path = full[len(API_PREFIX) :] if full.startswith(API_PREFIX) else full
        method = request.method
        route, match = None, None
        if full.startswith(API_PREFIX):
            for candidate in self._routes:
                if candidate.method == method and (m := candidate.regex.fullmatch(path)):
                    route, match = candidate, m
                    break
        try:
            payload, files = await self._parse_body(request)
        except (ValueError, UnicodeDecodeError):
            payload, files = None, []
        rec = RecordedRequest(
            at=at,
            method=method,
            path=path,
            template=f"{method} {route.template}" if route else None,
            query=dict(request.query),
            headers=dict(request.headers),
            payload=payload,
            files=files,
        )
        self.requests.append(rec)
        try:
            if route is None or match is None:
                self.unexpected.append(rec)
                log.warning("fake discord: unexpected route %s %s", method, full)
                return self._finish(rec, _json_response(404, {"message": "404: Not Found", "code": 0}))
            response = await self._with_faults(rec, route, match.groupdict())
            return self._finish(rec, response)
        finally:
            await self._notify()

    def _finish(self, rec: RecordedRequest, response: web.Response) -> web.Response:
        rec.status = response.status
        if response.body is not None and response.content_type == "application/json":
            with contextlib.suppress(ValueError, TypeError):
                rec.response = json.loads(response.body)  # type: ignore[arg-type]
        return response

    async def _with_faults(self, rec: RecordedRequest, route: _Route, params: dict[str, str]) -> web.Response:
        extra_headers: tuple[tuple[str, str], ...] = ()
        for rule in self.faults:
            if rule.exhausted or not rule.matches(rec.method, rec.path, route.template):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            rule.hits += 1
            fault = rule.fault
            rec.fault = fault.name
            if fault.delay:  # ends early when the fake stops
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            if fault.status:
                self._note_faulted_callback(rec, route, params, fault)
                return _json_response(fault.status, fault.body, fault.headers, via=fault.via)
            extra_headers = fault.headers
            break
        if route.bot_auth and rec.headers.get("Authorization") != f"Bot {self.token}":
            return _json_response(401, {"message": "401: Unauthorized", "code": 0})
        try:
            status, body = await route.handler(rec, **params)
        except _Reject as rej:
            return _json_response(rej.status, {"message": rej.message, "code": rej.code})
        if status == 204:
            resp = web.Response(status=204)
            resp.headers["Via"] = "1.1 google"
            for k, v in extra_headers:
                resp.headers[k] = v
            return resp
        return _json_response(status, body, extra_headers)

    def _note_faulted_callback(
        self, rec: RecordedRequest, route: _Route, params: dict[str, str], fault: Fault
    ) -> None:
        if not route.template.endswith("/callback"):
            return
        handle = self.interactions.get(int(params["iid"]))
        if handle is None:
            return
        code = fault.body.get("code") if isinstance(fault.body, dict) else None
        handle.attempts.append(self._callback_record(handle, rec, fault.status, code))

    # ------------------------------------------------------------------ REST handlers: login and commands

    async def _get_me(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {**self.bot_user, "verified": True, "mfa_enabled": False, "locale": "en-US"}

    async def _get_app(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "description": "fake application",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner_user,
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    async def _get_gateway(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        }

    def _check_app(self, app: str) -> None:
        if int(app) != self.application_id:
            raise _Reject(403, 50001, "Missing Access")

    async def _get_cmds(self, rec: RecordedRequest, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        return 200, self.guild_commands.get(int(guild), []) if guild else self.commands

    async def _put_cmds(self, rec: RecordedRequest, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        if not isinstance(rec.payload, list):
            raise _Reject(400, 50035, "Invalid Form Body")
        gid = int(guild) if guild else None
        old = {c["name"]: c for c in (self.guild_commands.get(gid, []) if gid else self.commands)}
        stored = []
        for cmd in rec.payload:
            prev = old.get(cmd.get("name"))
            out = {
                "type": 1,
                "description": "",
                **cmd,
                "id": prev["id"] if prev else str(self.new_id()),
                "application_id": str(self.application_id),
                "version": str(self.new_id()),
            }
            out.setdefault("default_member_permissions", None)
            out.setdefault("dm_permission", True)
            out.setdefault("nsfw", False)
            if gid:
                out["guild_id"] = str(gid)
            stored.append(out)
        if gid:
            self.guild_commands[gid] = stored
        else:
            self.commands = stored
        self.command_puts.append((gid, stored))
        return 200, stored

    # ------------------------------------------------------------------ REST handlers: interactions

    def _callback_record(self, handle: FakeInteraction, rec: RecordedRequest, status: int, code: int | None):
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        latency = rec.at - handle.dispatched_at if handle.dispatched_at is not None else None
        return CallbackRecord(
            payload.get("type"), payload.get("data"), rec.files, rec.at, latency, status, code
        )

    async def _callback(self, rec: RecordedRequest, iid: str, token: str) -> tuple[int, Any]:
        handle = self.interactions.get(int(iid))
        if handle is None:
            raise _Reject(404, 10062, "Unknown interaction")
        if handle.token != token:
            raise _Reject(401, 50027, "Invalid Webhook Token")

        def reject(status: int, code: int, message: str) -> _Reject:
            handle.attempts.append(self._callback_record(handle, rec, status, code))
            return _Reject(status, code, message)

        record = self._callback_record(handle, rec, 200, None)
        if handle.callback is not None:
            raise reject(400, 40060, "Interaction has already been acknowledged.")
        if record.latency is None or record.latency > self.ack_deadline:
            raise reject(404, 10062, "Unknown interaction")
        payload = rec.payload if isinstance(rec.payload, dict) else None
        if payload is None or "type" not in payload:
            raise reject(400, 50035, "Invalid Form Body")
        ctype, data = payload["type"], payload.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
            MESSAGE_COMPONENT: {
                CHANNEL_MESSAGE,
                DEFERRED_CHANNEL_MESSAGE,
                DEFERRED_UPDATE,
                UPDATE_MESSAGE,
                MODAL,
            },
            AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
            MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE}
            | ({DEFERRED_UPDATE, UPDATE_MESSAGE} if handle.message_id else set()),
        }.get(handle.type, set())
        if ctype not in allowed:
            raise reject(400, 50035, "Invalid Form Body (interaction response type)")
        self._check_sizes(rec.files, handle.attachment_size_limit, reject)

        resource: dict[str, Any] = {"type": ctype}
        info: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0) & FLAG_EPHEMERAL
            msg = self._new_message(
                channel_id=handle.channel_id,
                guild_id=handle.guild_id,
                author=self.bot_user,
                mtype=MSG_CHAT_INPUT_COMMAND if handle.type == APPLICATION_COMMAND else MSG_DEFAULT,
                kind="original",
                webhook_id=self.application_id,
                interaction_id=handle.id,
                flags=flags | (FLAG_LOADING if ctype == DEFERRED_CHANNEL_MESSAGE else 0),
            )
            write = Write(rec.at, data, rec.files)
            if ctype == CHANNEL_MESSAGE:
                self._apply(msg, data, rec.files, creating=True)
            msg.created = write
            handle.original_id = msg.id
            info.update(
                response_message_id=str(msg.id),
                response_message_loading=ctype == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=msg.ephemeral,
            )
            if ctype == CHANNEL_MESSAGE:
                resource["message"] = msg.to_json()
        elif ctype in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            msg = self.messages.get(handle.message_id or 0)
            if msg is None or msg.deleted:
                raise reject(404, 10008, "Unknown Message")
            handle.original_id = msg.id
            if ctype == UPDATE_MESSAGE:
                self._apply(msg, data, rec.files)
                msg.edits.append(Write(rec.at, data, rec.files))
                resource["message"] = msg.to_json()
            info.update(
                response_message_id=str(msg.id),
                response_message_loading=False,
                response_message_ephemeral=msg.ephemeral,
            )
        handle.attempts.append(record)
        return 200, {"interaction": info, "resource": resource}

    def _check_sizes(
        self, files: list[UploadedFile], limit: int, reject: Callable[..., _Reject] = _Reject
    ) -> None:
        for f in files:
            if len(f.data) > limit:
                raise reject(413, 40005, "Request entity too large")

    def _handle_for_webhook(self, app: str, token: str) -> FakeInteraction:
        if int(app) != self.application_id:
            raise _Reject(404, 10015, "Unknown Webhook")
        handle = self._by_token.get(token)
        if handle is None:
            raise _Reject(401, 50027, "Invalid Webhook Token")
        if self.clock.now() >= handle.expires_at:
            raise _Reject(401, 50027, "Invalid Webhook Token")
        if handle.callback is None:
            # never acknowledged: within the deadline nothing exists yet, after it the token is dead
            late = (
                handle.dispatched_at is None
                or self.clock.monotonic() - handle.dispatched_at > self.ack_deadline
            )
            raise _Reject(404, 10015, "Unknown Webhook") if late else _Reject(404, 10008, "Unknown Message")
        return handle

    def _webhook_message(self, handle: FakeInteraction, mid: str) -> FakeMessage:
        msg_id = handle.original_id if mid == "@original" else int(mid)
        if msg_id is None or (msg_id != handle.original_id and msg_id not in handle.followup_ids):
            raise _Reject(404, 10008, "Unknown Message")
        msg = self.messages.get(msg_id)
        if msg is None or msg.deleted:
            raise _Reject(404, 10008, "Unknown Message")
        return msg

    async def _wh_get(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        return 200, self._webhook_message(handle, mid).to_json()

    async def _wh_patch(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        msg = self._webhook_message(handle, mid)
        self._check_sizes(rec.files, handle.attachment_size_limit)
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        self._apply(msg, payload, rec.files)
        msg.edits.append(Write(rec.at, payload, rec.files))
        return 200, msg.to_json()

    async def _wh_delete(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        msg = self._webhook_message(handle, mid)
        msg.deleted = True
        return 204, None

    async def _wh_post(self, rec: RecordedRequest, app: str, token: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        self._check_sizes(rec.files, handle.attachment_size_limit)
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        original = handle.original
        if original is not None and original.loading and not original.deleted:
            # RR, Create Followup Message: the first followup after a deferred response edits the loading message
            self._apply(original, payload, rec.files)
            original.edits.append(Write(rec.at, payload, rec.files))
            return 200, original.to_json()
        msg = self._new_message(
            channel_id=handle.channel_id,
            guild_id=handle.guild_id,
            author=self.bot_user,
            mtype=MSG_DEFAULT,
            kind="followup",
            webhook_id=self.application_id,
            interaction_id=handle.id,
            flags=int(payload.get("flags") or 0) & FLAG_EPHEMERAL,
        )
        self._apply(msg, payload, rec.files, creating=True)
        msg.created = Write(rec.at, payload, rec.files)
        handle.followup_ids.append(msg.id)
        return 200, msg.to_json()

    # ------------------------------------------------------------------ REST handlers: channels (Bot auth)

    def _channel_access(self, cid: str) -> dict[str, Any]:
        channel_id = int(cid)
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _Reject(404, 10003, "Unknown Channel")
        if channel_id in self.forbidden_channels or channel.get("private"):
            raise _Reject(403, 50001, "Missing Access")
        gid = channel.get("guild_id")
        if gid is not None and not self.guilds[int(gid)].bot_member:
            raise _Reject(403, 50001, "Missing Access")
        return channel

    def _channel_message(self, cid: str, mid: str) -> FakeMessage:
        self._channel_access(cid)
        msg = self.messages.get(int(mid))
        # ephemeral messages do not exist for the channel endpoint (discord-api-docs#3090)
        if msg is None or msg.deleted or msg.channel_id != int(cid) or msg.ephemeral:
            raise _Reject(404, 10008, "Unknown Message")
        return msg

    def _channel_upload_limit(self, channel: dict[str, Any]) -> int:
        gid = channel.get("guild_id")
        return self.guilds[int(gid)].upload_limit if gid is not None else DEFAULT_ATTACHMENT_SIZE_LIMIT

    async def _ch_get(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        return 200, self._channel_message(cid, mid).to_json()

    async def _ch_patch(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._channel_message(cid, mid)
        if int(msg.author["id"]) != self.application_id:
            raise _Reject(403, 50005, "Cannot edit a message authored by another user")
        self._check_sizes(rec.files, self._channel_upload_limit(self.channels[int(cid)]))
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        self._apply(msg, payload, rec.files)
        msg.edits.append(Write(rec.at, payload, rec.files))
        return 200, msg.to_json()

    async def _ch_delete(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._channel_message(cid, mid)
        msg.deleted = True
        return 204, None

    async def _ch_post(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        channel = self._channel_access(cid)
        self._check_sizes(rec.files, self._channel_upload_limit(channel))
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        if not (payload.get("content") or payload.get("embeds") or rec.files or payload.get("components")):
            raise _Reject(400, 50006, "Cannot send an empty message")
        gid = channel.get("guild_id")
        msg = self._new_message(
            channel_id=int(cid),
            guild_id=int(gid) if gid is not None else None,
            author=self.bot_user,
            mtype=MSG_DEFAULT,
            kind="channel",
        )
        self._apply(msg, payload, rec.files, creating=True)
        msg.created = Write(rec.at, payload, rec.files)
        return 200, msg.to_json()

    # ------------------------------------------------------------------ message store

    def _new_message(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author: dict[str, Any],
        mtype: int,
        kind: str,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        now = self.clock.now()
        msg = FakeMessage(
            id=self.new_id(now),
            channel_id=channel_id,
            guild_id=guild_id,
            author=author,
            type=mtype,
            timestamp=now,
            flags=flags,
            webhook_id=webhook_id,
            interaction_id=interaction_id,
            kind=kind,
        )
        self.messages[msg.id] = msg
        return msg

    def _apply(
        self, msg: FakeMessage, payload: dict[str, Any], files: list[UploadedFile], *, creating=False
    ) -> None:
        """Apply a create/edit payload: only present keys change; `attachments` replaces the set (existing ids
        are kept, new entries point at files[n] by id n); without it, new files are appended."""
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = [{"type": "rich", **e} for e in payload["embeds"] or []]
        if "components" in payload:
            msg.components = payload["components"] or []
        if "flags" in payload and payload["flags"] is not None:
            keep = msg.flags & FLAG_EPHEMERAL  # ephemeral state is fixed at creation
            msg.flags = keep | (int(payload["flags"]) & ~(FLAG_EPHEMERAL | FLAG_LOADING))
        by_index = {f.index: f for f in files if f.index is not None}
        if "attachments" in payload and payload["attachments"] is not None:
            existing = {a.id: a for a in msg.attachments}
            new_set: list[FakeAttachment] = []
            used: set[int] = set()
            for entry in payload["attachments"]:
                entry_id = int(entry.get("id"))
                if entry_id in existing:
                    new_set.append(existing[entry_id])
                elif entry_id in by_index:
                    new_set.append(self._store_attachment(msg, by_index[entry_id], entry))
                    used.add(entry_id)
            new_set.extend(self._store_attachment(msg, f, {}) for i, f in by_index.items() if i not in used)
            msg.attachments = new_set
        elif files:
            msg.attachments = msg.attachments + [self._store_attachment(msg, f, {}) for f in files]
        if not creating:
            msg.flags &= ~FLAG_LOADING
            msg.edited_timestamp = self.clock.now()

    def _store_attachment(
        self, msg: FakeMessage, upload: UploadedFile, entry: dict[str, Any]
    ) -> FakeAttachment:
        att_id = self.new_id()
        filename = entry.get("filename") or upload.filename or f"file{upload.index}"
        path = f"attachments/{msg.channel_id}/{att_id}/{filename}"
        ctype = (
            upload.content_type
            if upload.content_type != "application/octet-stream"
            else _guess_type(filename)
        )
        self.cdn[path] = (upload.data, ctype)
        return FakeAttachment(
            id=att_id,
            filename=filename,
            data=upload.data,
            content_type=ctype,
            url=f"{self.base_url}/cdn/{path}",
            description=entry.get("description"),
        )

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self.cdn.get(request.match_info["path"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        data, ctype = item
        return web.Response(body=data, content_type=ctype)


def _guess_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "mp4": "video/mp4",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "txt": "text/plain; charset=utf-8",
    }.get(ext, "application/octet-stream")


# ------------------------------------------------------------------------------------------ standalone


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
    parser = argparse.ArgumentParser(description="Fake Discord (REST v10 + gateway) for local runs")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
