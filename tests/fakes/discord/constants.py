"""Discord's numbers the fake speaks: the API prefix, limits and deadlines, permission bits, flags and types."""

from __future__ import annotations

API_PREFIX = "/api/v10"
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
# Application command types (data.type of an APPLICATION_COMMAND interaction)
CHAT_INPUT_COMMAND, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
# Message types
MSG_DEFAULT, MSG_CHAT_INPUT_COMMAND, MSG_CONTEXT_MENU_COMMAND = 0, 20, 23
