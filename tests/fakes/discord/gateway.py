"""The gateway: one websocket endpoint speaking HELLO, IDENTIFY/READY, heartbeats, RESUME with replay of the
buffered dispatches, member chunks; plus the test API to dispatch events, send opcodes and drop connections."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.constants import MEMBER_PERMISSIONS
from tests.fakes.discord.records import FakeGuild


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: Session | None = None


@dataclass(eq=False)
class Session:
    id: str
    seq: int = 0
    events: list[tuple[int, str, Any]] = field(default_factory=list)  # (s, t, d) for replay on RESUME
    conn: Connection | None = None
    identify: dict[str, Any] | None = None
    on_sent: dict[int, Callable[[], None]] = field(default_factory=dict)


class GatewayMixin:
    """FakeDiscord's gateway; sessions live in `_sessions`, the one receiving dispatches in `_active`."""

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

    async def _send_dispatch(self, conn: Connection, session: Session, s: int, event: str, data: Any) -> None:
        await self._send(conn, {"op": 0, "t": event, "s": s, "d": data})
        cb = session.on_sent.pop(s, None)
        if cb is not None:
            cb()

    async def _send(self, conn: Connection, frame: dict[str, Any]) -> None:
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

    def _ready_payload(self, session: Session) -> dict[str, Any]:
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
                },
                *guild.roles,
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
        conn = Connection(ws, dict(request.query))
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

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            self.heartbeat_count += 1
            await self._send(conn, {"op": 11})
        elif op == 2:
            if not isinstance(d, dict) or d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.identify_count += 1
            await self.ready_gate.wait()
            session = Session(id=secrets.token_hex(16), identify=d)
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
