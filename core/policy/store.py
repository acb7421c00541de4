"""A server's policy rows, read into one `GuildPolicy` and written back (no caching, no validation)."""

from __future__ import annotations

from typing import Any

from core.policy.rules import ChannelRules, GuildPolicy, Limits, RoleRule, ServerCaps, ServerRules
from models import AllowedChannel, ChannelSettings, RoleSettings, ServerSettings

LIMIT_FIELDS = ("default_model", "max_duration", "max_resolution", "max_variants")
SERVER_FIELDS = (
    *LIMIT_FIELDS, "allowed_models", "daily_videos", "daily_seconds", "daily_spend_micro_usd", "spoilers",
    "threads", "hide_blocked_prompts",
)  # fmt: skip
CHANNEL_FIELDS = (*LIMIT_FIELDS, "permissive_safety")


async def load(guild_id: int) -> GuildPolicy:
    """Everything the server has set, in four small queries."""
    server = await ServerSettings.get_or_none(guild_id=guild_id)
    allowed = await AllowedChannel.filter(guild_id=guild_id).values_list("channel_id", flat=True)
    channels = await ChannelSettings.filter(guild_id=guild_id)
    roles = await RoleSettings.filter(guild_id=guild_id)
    return GuildPolicy(
        server=_server_rules(server) if server else ServerRules(),
        allowed_channels=frozenset(allowed),
        channels={
            c.channel_id: ChannelRules(_limits(c), permissive_safety=c.permissive_safety) for c in channels
        },
        roles={r.role_id: RoleRule(r.allowed, r.daily_videos, r.daily_seconds) for r in roles},
    )


def _limits(row: ServerSettings | ChannelSettings) -> Limits:
    return Limits(row.default_model, row.max_duration, row.max_resolution, row.max_variants)


def _server_rules(row: ServerSettings) -> ServerRules:
    return ServerRules(
        limits=_limits(row),
        allowed_models=frozenset(row.allowed_models) if row.allowed_models is not None else None,
        caps=ServerCaps(row.daily_videos, row.daily_seconds, row.daily_spend_micro_usd),
        spoilers=row.spoilers,
        threads=row.threads,
        hide_blocked_prompts=row.hide_blocked_prompts,
    )


async def save_server(guild_id: int, admin_id: int, changes: dict[str, Any]) -> None:
    """Set these server fields (None clears one), creating the row on first use."""
    row, _ = await ServerSettings.get_or_create(guild_id=guild_id, defaults={"updated_by": admin_id})
    await _update(row, admin_id, changes)


async def save_channel(guild_id: int, channel_id: int, admin_id: int, changes: dict[str, Any]) -> None:
    """Set these channel fields (None clears one)."""
    row, _ = await ChannelSettings.get_or_create(
        channel_id=channel_id, defaults={"guild_id": guild_id, "updated_by": admin_id}
    )
    await _update(row, admin_id, changes)


async def reset_channel(channel_id: int) -> bool:
    """Drop a channel's own settings; False when it had none."""
    return bool(await ChannelSettings.filter(channel_id=channel_id).delete())


async def save_role(guild_id: int, role_id: int, admin_id: int, changes: dict[str, Any]) -> None:
    """Set these role fields; a role left with nothing set is removed."""
    row, _ = await RoleSettings.get_or_create(
        role_id=role_id, defaults={"guild_id": guild_id, "updated_by": admin_id}
    )
    await _update(row, admin_id, changes)
    if not row.allowed and row.daily_videos is None and row.daily_seconds is None:
        await row.delete()


async def _update(row: Any, admin_id: int, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_by = admin_id
    await row.save()
