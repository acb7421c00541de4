"""The fake's world: ids, users, guilds and their channels, DM channels, seeded messages and CDN files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.fakes.discord.constants import MSG_DEFAULT
from tests.fakes.discord.images import image_size
from tests.fakes.discord.records import FakeGuild, FakeMessage, UploadedFile, Write
from tests.fakes.discord.snowflakes import snowflake_at
from tests.fakes.discord.store import guess_type


class World:
    """FakeDiscord's users (`users`, by name), guilds and channels (`guilds`, `channels`, by id)."""

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

    def add_text_channel(
        self,
        name: str,
        guild: FakeGuild | None = None,
        *,
        thread_of: dict[str, Any] | None = None,
        nsfw: bool = False,
    ) -> dict[str, Any]:
        """Another text channel in `guild` (the first one by default), or a public thread of `thread_of`;
        its channel object (`nsfw`: marked age-restricted)."""
        guild = guild or self.guild
        channel = {
            "id": str(self.new_id()), "type": 0, "name": name, "position": len(guild.channels), "nsfw": nsfw,
        }  # fmt: skip
        if thread_of is not None:
            channel.update(type=11, parent_id=thread_of["id"])
        channel.update(guild_id=str(guild.id), permission_overwrites=[])
        guild.channels.append(channel)
        self.channels[int(channel["id"])] = channel
        return channel

    async def add_role(self, name: str, guild: FakeGuild | None = None) -> dict[str, Any]:
        """A new role in `guild`, announced with GUILD_ROLE_CREATE when the bot is connected; its object."""
        guild = guild or self.guild
        role = {
            "id": str(self.new_id()), "name": name, "permissions": "0", "position": len(guild.roles) + 1,
            "color": 0, "hoist": False, "managed": False, "mentionable": False,
        }  # fmt: skip
        guild.roles.append(role)
        if self._active is not None:
            await self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role})
        return role

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
        attachments: list[tuple[str, bytes]] | list[tuple[str, bytes, str]] | None = None,
    ) -> FakeMessage:
        """Seed a message (e.g. one the bot posted before a restart, with its buttons). `attachments`:
        (filename, bytes[, content type]) each, served under /cdn; images get their width and height."""
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
        files = [
            UploadedFile(f"files[{i}]", a[0], a[2] if len(a) > 2 else guess_type(a[0]), a[1])
            for i, a in enumerate(attachments or [])
        ]
        self._apply(msg, payload, files, creating=True)
        msg.created = Write(self.clock.monotonic(), payload, files)
        return msg

    def add_member_message(
        self,
        author: dict[str, Any] | str,
        content: str = "",
        *,
        attachments: list[tuple[str, bytes]] | list[tuple[str, bytes, str]] | None = None,
        channel_id: int | None = None,
    ) -> FakeMessage:
        """A message a member (not the bot) posted, e.g. an image to run a message command on: `author` is
        a user object or a username; attachments as for add_message. The bot can't edit it (403/50005)."""
        user = self.user(author) if isinstance(author, str) else author
        return self.add_message(channel_id, content, author=user, attachments=attachments)

    def add_cdn_file(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Serve bytes under /cdn and return an attachment object (for attachment options)."""
        att_id = self.new_id()
        path = f"attachments/{att_id}/{filename}"
        self.cdn[path] = (data, content_type)
        url = f"{self.base_url}/cdn/{path}"
        out: dict[str, Any] = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "content_type": content_type,
            "url": url,
            "proxy_url": url,
        }
        if size := image_size(data):
            out.update(width=size[0], height=size[1])
        return out
