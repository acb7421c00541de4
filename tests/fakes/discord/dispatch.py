"""The interaction test API: dispatch slash commands, autocomplete and component clicks as INTERACTION_CREATE
payloads shaped like Discord's (guild, bot DM, private channel; guild or user install). Modal submits are in
`dispatch_modals`, context menu commands in `dispatch_menus`."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from tests.fakes.discord.constants import (
    ALL_PERMISSIONS,
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MEMBER_PERMISSIONS,
    MESSAGE_COMPONENT,
)
from tests.fakes.discord.records import FakeGuild, FakeInteraction

THREAD_TYPES = (10, 11, 12)  # announcement, public and private threads
_THREAD_METADATA = {
    "archived": False,
    "auto_archive_duration": 1440,
    "archive_timestamp": "2024-01-01T00:00:00+00:00",
    "locked": False,
}


def _thread_fields(channel: dict[str, Any]) -> dict[str, Any]:
    """What a thread's channel object adds (channel docs, Thread): its metadata, owner and counts."""
    return {
        "thread_metadata": _THREAD_METADATA,
        "owner_id": channel.get("owner_id", "0"),
        "message_count": 0,
        "member_count": 1,
        "rate_limit_per_user": 0,
    }


class DispatchMixin:
    """FakeDiscord's `send_*` methods; each returns the `FakeInteraction` handle once the frame went out."""

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
        (from add_cdn_file) → 11 with `resolved.attachments`, a channel object (from add_text_channel) → 7
        with `resolved.channels`, a role object (from add_role) → 8 with `resolved.roles`. `created_at` in the past makes the token old.
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
            "id": str(self._command_id(parts[0], guild_id, command_type)),
            "name": parts[0],
            "type": command_type,
        }
        if opts:
            data["options"] = opts
        if res:
            data["resolved"] = res
        gid = guild_id if guild_id is not None else self.guild_id
        if in_guild and self._is_guild_only_command(parts[0], gid, command_type):
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

    def registered_command(
        self, name: str, command_type: int = 1, guild_id: int | None = None
    ) -> dict[str, Any] | None:
        """The command the bot registered (tree.sync) under this name and type: global, else the guild's."""
        for cmd in self.commands + self.guild_commands.get(guild_id or self.guild_id, []):
            if cmd["name"] == name and cmd.get("type", 1) == command_type:
                return cmd
        return None

    def _command_id(self, name: str, guild_id: int | None, command_type: int = 1) -> int:
        cmd = self.registered_command(name, command_type, guild_id)
        return int(cmd["id"]) if cmd else self.new_id()

    def _is_guild_only_command(self, name: str, guild_id: int, command_type: int = 1) -> bool:
        def named(cmds: list[dict[str, Any]]) -> bool:
            return any(c["name"] == name and c.get("type", 1) == command_type for c in cmds)

        return named(self.guild_commands.get(guild_id, [])) and not named(self.commands)

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
        if isinstance(value, dict) and "hoist" in value:  # a role (add_role)
            resolved.setdefault("roles", {})[value["id"]] = value
            return {"name": name, "type": 8, "value": value["id"]}
        if (
            isinstance(value, dict) and "type" in value and "name" in value
        ):  # a channel (e.g. add_text_channel)
            # resolved channels are partial: id, name, type and the invoking member's permissions there
            keep = ("id", "name", "type", "parent_id", "thread_metadata")
            partial = {k: value[k] for k in keep if k in value}
            resolved.setdefault("channels", {})[value["id"]] = {
                **partial,
                "permissions": str(ALL_PERMISSIONS),
            }
            return {"name": name, "type": 7, "value": value["id"]}
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
                    "nsfw": channel.get("nsfw", False),
                    "parent_id": channel.get("parent_id"),  # a thread's channel
                    **(_thread_fields(channel) if channel.get("type") in THREAD_TYPES else {}),
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
