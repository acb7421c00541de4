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

    python -m tests.fakes.discord --port 8090 [--token TOKEN]

Where things are: `server` (FakeDiscord: state, lifecycle, knobs, queries), `dispatch` (send_slash_command
and the other `send_*`), `gateway`, `rest` (routes and plumbing), `handlers_commands`,
`handlers_interactions`, `handlers_channels`, `store` (messages and CDN), `world` (ids, users, guilds),
`records` (what is recorded and stored), `faults` (Discord's errors, Fault, FaultRule), `snowflakes`,
`constants`.
"""

from __future__ import annotations

from tests.fakes.discord.constants import (
    ACK_DEADLINE_SECONDS,
    ALL_PERMISSIONS,
    API_PREFIX,
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    DEFAULT_TOKEN,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    HEARTBEAT_INTERVAL_MS,
    MEMBER_PERMISSIONS,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    MSG_CHAT_INPUT_COMMAND,
    MSG_DEFAULT,
    PING,
    PREMIUM_TIER_UPLOAD_LIMITS,
    TOKEN_TTL_SECONDS,
    UPDATE_MESSAGE,
)
from tests.fakes.discord.faults import ERRORS, DiscordError, Fault, FaultRule
from tests.fakes.discord.records import (
    CallbackRecord,
    FakeAttachment,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    Interaction,
    RecordedRequest,
    UploadedFile,
    Write,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.snowflakes import DISCORD_EPOCH_MS, RealClock, snowflake_at, snowflake_time

__all__ = [
    "ACK_DEADLINE_SECONDS",
    "ALL_PERMISSIONS",
    "API_PREFIX",
    "APPLICATION_COMMAND",
    "AUTOCOMPLETE",
    "AUTOCOMPLETE_RESULT",
    "CHANNEL_MESSAGE",
    "DEFAULT_ATTACHMENT_SIZE_LIMIT",
    "DEFAULT_TOKEN",
    "DEFERRED_CHANNEL_MESSAGE",
    "DEFERRED_UPDATE",
    "DISCORD_EPOCH_MS",
    "ERRORS",
    "FLAG_EPHEMERAL",
    "FLAG_LOADING",
    "HEARTBEAT_INTERVAL_MS",
    "MEMBER_PERMISSIONS",
    "MESSAGE_COMPONENT",
    "MODAL",
    "MODAL_SUBMIT",
    "MSG_CHAT_INPUT_COMMAND",
    "MSG_DEFAULT",
    "PING",
    "PREMIUM_TIER_UPLOAD_LIMITS",
    "TOKEN_TTL_SECONDS",
    "UPDATE_MESSAGE",
    "CallbackRecord",
    "DiscordError",
    "FakeAttachment",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "Fault",
    "FaultRule",
    "Interaction",
    "RealClock",
    "RecordedRequest",
    "UploadedFile",
    "Write",
    "snowflake_at",
    "snowflake_time",
]
