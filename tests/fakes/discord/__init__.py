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

Modals (callback type 9 is checked like Discord does: custom_id 1-100, title 1-45, 1-5 rows/labels/text
displays, text input limits; refused with 400/50035 for autocomplete and modal submits; same 3 s deadline
and single ack as every callback). The modal is recorded on the handle and a test fills it in:

    opened = await fake.send_slash_command("remix")  # or send_component_click / send_message_command
    modal = await opened.wait_modal()                # FakeModal: custom_id, title, inputs, prefilled
    submit = await fake.submit_modal(opened, values={"prompt": "a new prompt"})  # type 5, same user/place

Inputs left out keep their prefilled value; a value the client would refuse raises ValueError. The submit
carries `message` when a component opened the modal, and may then be answered with 6/7 (that message).
`send_modal_submit(custom_id, values)` sends a raw submit.

Context menus (registered through tree.sync() like slash commands; `registered_command(name, 3)`):

    msg = fake.add_member_message("bob", "look", attachments=[("cat.png", png_bytes)])  # under /cdn
    handle = await fake.send_message_command("Animate", msg, user=fake.user("alice"))  # data.type 3
    handle = await fake.send_user_command("Whois", fake.user("bob"))                     # data.type 2

The target message goes whole into `data.resolved.messages` (attachments with url, proxy_url, filename,
content_type, size, and width/height for PNG/GIF/JPEG), so discord.py hands the callback a `discord.Message`.

Standalone, for subprocess runs of the real entry point:

    python -m tests.fakes.discord --port 8090 [--token TOKEN]

Where things are: `server` (FakeDiscord: state, lifecycle, knobs, queries), `dispatch` (send_slash_command
and the other `send_*`), `dispatch_modals` (submit_modal), `dispatch_menus` (context menus), `modals`
(FakeModal, the modal rules), `images` (attachment width/height), `gateway`, `rest` (routes and
plumbing), `handlers_commands`, `handlers_interactions`, `handlers_channels`, `store` (messages and CDN),
`world` (ids, users, guilds, seeded messages), `records` (what is recorded and stored), `faults` (Discord's
errors, Fault, FaultRule), `snowflakes`, `constants`. `pingbot` + `pingbot_modals`: the fake's own test bot.
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
    CHAT_INPUT_COMMAND,
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    DEFAULT_TOKEN,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    HEARTBEAT_INTERVAL_MS,
    MEMBER_PERMISSIONS,
    MESSAGE_COMMAND,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    MSG_CHAT_INPUT_COMMAND,
    MSG_CONTEXT_MENU_COMMAND,
    MSG_DEFAULT,
    PING,
    PREMIUM_TIER_UPLOAD_LIMITS,
    TOKEN_TTL_SECONDS,
    UPDATE_MESSAGE,
    USER_COMMAND,
)
from tests.fakes.discord.faults import ERRORS, DiscordError, Fault, FaultRule
from tests.fakes.discord.modals import FakeModal, FakeTextInput, ModalError
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
    "CHAT_INPUT_COMMAND",
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
    "MESSAGE_COMMAND",
    "MESSAGE_COMPONENT",
    "MODAL",
    "MODAL_SUBMIT",
    "MSG_CHAT_INPUT_COMMAND",
    "MSG_CONTEXT_MENU_COMMAND",
    "MSG_DEFAULT",
    "PING",
    "PREMIUM_TIER_UPLOAD_LIMITS",
    "TOKEN_TTL_SECONDS",
    "UPDATE_MESSAGE",
    "USER_COMMAND",
    "CallbackRecord",
    "DiscordError",
    "FakeAttachment",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeModal",
    "FakeTextInput",
    "Fault",
    "FaultRule",
    "Interaction",
    "ModalError",
    "RealClock",
    "RecordedRequest",
    "UploadedFile",
    "Write",
    "snowflake_at",
    "snowflake_time",
]
