"""Context menu commands (interaction type 2): "Apps → <name>" on a message (data.type 3) or a user (2).

`data` carries the command's `id`, `name`, `type`, the `target_id` and the target in `resolved`: the whole
message object under `resolved.messages` (attachments with url, proxy_url, filename, content_type, size and,
for images, width/height), or the user under `resolved.users` (+ `members` in a guild). discord.py builds
the callback's `discord.Message` / `Member` from exactly that (app_commands/namespace.py
`_get_resolved_items`, tree.py `_call_context_menu`), and finds the command by (name, guild_id, type).
Like slash commands, dispatch needs no sync first; `registered_command(name, 3)` tells whether it was synced.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.constants import APPLICATION_COMMAND, MESSAGE_COMMAND, USER_COMMAND
from tests.fakes.discord.records import FakeInteraction, FakeMessage


class MenuDispatchMixin:
    """FakeDiscord's `send_message_command` and `send_user_command`."""

    async def send_message_command(
        self,
        name: str,
        message: FakeMessage | int,
        *,
        user: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Run the message command `name` on a stored message, in that message's channel."""
        msg = self.messages[message] if isinstance(message, int) else message
        if msg.deleted:
            raise LookupError(f"message {msg.id} was deleted")
        data: dict[str, Any] = {
            "id": str(self._command_id(name, msg.guild_id, MESSAGE_COMMAND)),
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": str(msg.id),
            "resolved": {"messages": {str(msg.id): msg.to_json()}},
        }
        if msg.guild_id is not None and self._is_guild_only_command(name, msg.guild_id, MESSAGE_COMMAND):
            data["guild_id"] = str(msg.guild_id)
        return await self._send_interaction(
            APPLICATION_COMMAND,
            data,
            user=user or self.default_user,
            guild_id=msg.guild_id,
            channel_id=msg.channel_id,
            dm=msg.guild_id is None,
            **kwargs,
        )

    async def send_user_command(
        self,
        name: str,
        target: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
        guild_id: int | None = None,
        dm: bool = False,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Run the user command `name` on `target` (a user object, e.g. `fake.user("bob")`)."""
        resolved: dict[str, Any] = {}
        in_guild = not dm and kwargs.get("context") not in (1, 2)
        self._option("user", target, resolved, in_guild)  # fills resolved.users (+ members)
        gid = guild_id if guild_id is not None else self.guild_id
        data: dict[str, Any] = {
            "id": str(self._command_id(name, gid, USER_COMMAND)),
            "name": name,
            "type": USER_COMMAND,
            "target_id": str(target["id"]),
            "resolved": resolved,
        }
        if in_guild and self._is_guild_only_command(name, gid, USER_COMMAND):
            data["guild_id"] = str(gid)
        return await self._send_interaction(
            APPLICATION_COMMAND, data, user=user or self.default_user, guild_id=guild_id, dm=dm, **kwargs
        )
