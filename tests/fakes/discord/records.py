"""What the fake records and stores: uploads, requests, message writes, messages, callbacks, guilds, and the
handle a test gets for each interaction it dispatches."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from tests.fakes.discord.constants import (
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    PREMIUM_TIER_UPLOAD_LIMITS,
)
from tests.fakes.discord.snowflakes import iso

if TYPE_CHECKING:
    from tests.fakes.discord.modals import FakeModal
    from tests.fakes.discord.server import FakeDiscord


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
    width: int | None = None  # images only (Discord fills both or neither)
    height: int | None = None

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
        if self.width is not None and self.height is not None:
            out.update(width=self.width, height=self.height)
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
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "content": self.content,
            "channel_id": str(self.channel_id),
            "author": self.author,
            "timestamp": iso(self.timestamp),
            "edited_timestamp": iso(self.edited_timestamp) if self.edited_timestamp else None,
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
    roles: list[dict[str, Any]] = field(default_factory=list)  # besides @everyone (add_role)

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
        self.modal: FakeModal | None = None  # set when the bot answered with a modal (callback type 9)

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
    def command_type(self) -> int | None:
        """data.type of an application command: 1 slash, 2 user context menu, 3 message context menu."""
        return self.payload["data"].get("type") if self.type in (2, 4) else None

    @property
    def original(self) -> FakeMessage | None:
        return self.fake.messages.get(self.original_id) if self.original_id else None

    @property
    def followups(self) -> list[FakeMessage]:
        return [self.fake.messages[i] for i in self.followup_ids]

    async def wait_callback(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109
        """The first callback attempt (accepted or rejected)."""
        # only a request to the fake can add a callback: no polling (a storm test has 1000 of these waits)
        await self.fake.wait_for(
            lambda: self.attempts, timeout, f"a callback for interaction {self.id}", poll=None
        )
        return self.attempts[0]

    async def wait_modal(self, timeout: float = 5.0) -> FakeModal:  # noqa: ASYNC109
        """The modal the bot answered with; AssertionError if its first callback was anything else."""
        attempt = await self.wait_callback(timeout)
        assert attempt.accepted and self.modal is not None, f"interaction {self.id} got no modal: {attempt}"
        return self.modal

    async def wait_original(
        self,
        predicate: Callable[[FakeMessage], Any] = lambda m: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        def check() -> FakeMessage | None:
            msg = self.original
            return msg if msg is not None and predicate(msg) else None

        return await self.fake.wait_for(
            check, timeout, f"the original message of interaction {self.id}", poll=None
        )


Interaction = FakeInteraction


def iter_components(components: Iterable[dict[str, Any]] | None) -> Iterable[dict[str, Any]]:
    """Every component of a message, nested ones included (rows, sections' accessories, containers)."""
    for comp in components or []:
        if not isinstance(comp, dict):
            continue
        yield comp
        yield from iter_components(comp.get("components"))
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), dict):
                yield from iter_components([comp[key]])
