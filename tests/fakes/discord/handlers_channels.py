"""REST handlers for channel messages (Bot auth): what the bot may read, edit, delete and post where it has
access; ephemeral messages don't exist here."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.constants import DEFAULT_ATTACHMENT_SIZE_LIMIT, MSG_DEFAULT
from tests.fakes.discord.records import FakeMessage, RecordedRequest, Write
from tests.fakes.discord.rest import Reject, check_sizes


class ChannelHandlers:
    """FakeDiscord's handlers for /channels/{channel}/messages[/{message}]."""

    def _channel_access(self, cid: str) -> dict[str, Any]:
        channel_id = int(cid)
        channel = self.channels.get(channel_id)
        if channel is None:
            raise Reject.of("unknown_channel")
        if channel_id in self.forbidden_channels or channel.get("private"):
            raise Reject.of("missing_access")
        gid = channel.get("guild_id")
        if gid is not None and not self.guilds[int(gid)].bot_member:
            raise Reject.of("missing_access")
        return channel

    def _channel_message(self, cid: str, mid: str) -> FakeMessage:
        self._channel_access(cid)
        msg = self.messages.get(int(mid))
        # ephemeral messages do not exist for the channel endpoint (discord-api-docs#3090)
        if msg is None or msg.deleted or msg.channel_id != int(cid) or msg.ephemeral:
            raise Reject.of("unknown_message")
        return msg

    def _channel_upload_limit(self, channel: dict[str, Any]) -> int:
        gid = channel.get("guild_id")
        return self.guilds[int(gid)].upload_limit if gid is not None else DEFAULT_ATTACHMENT_SIZE_LIMIT

    async def _ch_get_channel(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        """GET /channels/{id}: the channel object (nsfw included: option channels leave it out)."""
        channel = self._channel_access(cid)
        return 200, {"nsfw": False, **{k: v for k, v in channel.items() if k != "private"}}

    async def _ch_get(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        return 200, self._channel_message(cid, mid).to_json()

    async def _ch_patch(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._channel_message(cid, mid)
        if int(msg.author["id"]) != self.application_id:
            raise Reject.of("cannot_edit_others_message")
        check_sizes(rec.files, self._channel_upload_limit(self.channels[int(cid)]))
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
        check_sizes(rec.files, self._channel_upload_limit(channel))
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        if not (payload.get("content") or payload.get("embeds") or rec.files or payload.get("components")):
            raise Reject.of("empty_message")
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
