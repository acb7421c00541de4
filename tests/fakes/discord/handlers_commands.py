"""REST handlers for login and application commands (Bot auth): the bot user, the application, the gateway
URL, and the global and guild command lists that `tree.sync()` replaces."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.records import RecordedRequest
from tests.fakes.discord.rest import Reject


class CommandHandlers:
    """FakeDiscord's handlers for /users/@me, /oauth2/applications/@me, /gateway and /applications/…/commands."""

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
            raise Reject.of("missing_access")

    async def _get_cmds(self, rec: RecordedRequest, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        return 200, self.guild_commands.get(int(guild), []) if guild else self.commands

    async def _put_cmds(self, rec: RecordedRequest, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        if not isinstance(rec.payload, list):
            raise Reject.of("invalid_form_body")
        gid = int(guild) if guild else None
        check_commands(rec.payload)
        old = {
            (c["name"], c.get("type", 1)): c
            for c in (self.guild_commands.get(gid, []) if gid else self.commands)
        }
        stored = []
        for cmd in rec.payload:
            prev = old.get((cmd["name"], cmd.get("type", 1)))
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


def check_commands(commands: list[Any]) -> None:
    """Refuse (400/50035) what Discord refuses in a bulk overwrite: a name outside 1-32 characters, a
    (name, type) pair twice, options or a description on a user/message command (AC, Application Command
    Object: options are CHAT_INPUT only, a context menu's description is empty)."""
    seen: set[tuple[str, int]] = set()
    for cmd in commands:
        if not isinstance(cmd, dict) or not isinstance(cmd.get("name"), str):
            raise Reject.of("invalid_form_body")
        key = (cmd["name"], cmd.get("type", 1))
        if not 1 <= len(key[0]) <= 32 or key[1] not in (1, 2, 3) or key in seen:
            raise Reject.of("invalid_form_body")
        seen.add(key)
        if key[1] != 1 and (cmd.get("options") or cmd.get("description")):
            raise Reject.of("invalid_form_body")
