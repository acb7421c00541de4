"""Each server's /video policy: where it works, who may use it, what and how much — read at admission
through a short cache, changed by /videoadmin with every value checked first.

An edit applies at once in the process that made it and within CACHE_SECONDS in the others. A thread
counts as its channel; in DMs only the global policy applies (and ALLOW_DMS decides whether /video
works there at all).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from core.catalog import Catalog
from core.errors import ErrorCategory, GenerationError
from core.jobs.views import Requester
from core.platform.ttl_cache import TtlCache
from core.policy import store
from core.policy.checks import PolicyError, check_channel, check_role_quota, check_server
from core.policy.rules import NO_POLICY, Effective, GuildPolicy, Limits, effective
from models import AllowedChannel, ServerDailyUsage

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
NAMED_AT_MOST = 5  # channels a refusal names

__all__ = ["PolicyError", "PolicyService", "ServerUsage"]


@dataclass(frozen=True)
class ServerUsage:
    """What a server has reserved today, against its caps."""

    videos: int = 0
    seconds: int = 0
    spend_usd: float = 0.0


class PolicyService:
    """Reads and changes server, channel and role policy."""

    def __init__(
        self, catalog: Catalog, *, default_model: str, allow_dms: bool, monotonic: Callable[[], float]
    ) -> None:
        self.catalog = catalog
        self.allow_dms = allow_dms
        self.global_limits = Limits(default_model=default_model)
        self._cache: TtlCache[int, GuildPolicy] = TtlCache(CACHE_SECONDS, monotonic=monotonic)

    # ---- reading -----------------------------------------------------------------------------

    async def of(self, guild_id: int | None) -> GuildPolicy:
        """The server's policy (the empty policy in DMs)."""
        if guild_id is None:
            return NO_POLICY
        return await self._cache.get(guild_id, lambda: store.load(guild_id))

    def refusal(self, policy: GuildPolicy, requester: Requester) -> GenerationError | None:
        """Why /video may not run for this requester here (channel, thread, role, DM), or None."""
        if requester.guild_id is None:
            if self.allow_dms:
                return None
            return GenerationError(
                ErrorCategory.WRONG_CHANNEL, "this bot makes videos only in servers, not in DMs"
            )
        allowed = policy.allowed_channels
        where = (requester.channel_id, requester.parent_channel_id)
        if allowed and not allowed.intersection(where):
            named = ", ".join(f"<#{c}>" for c in sorted(allowed)[:NAMED_AT_MOST])
            more = f" and {len(allowed) - NAMED_AT_MOST} more" if len(allowed) > NAMED_AT_MOST else ""
            return GenerationError(
                ErrorCategory.WRONG_CHANNEL, f"on this server videos are made in {named}{more}"
            )
        if requester.parent_channel_id is not None and not policy.server.threads:
            return GenerationError(
                ErrorCategory.WRONG_CHANNEL,
                f"on this server videos are not made in threads; use <#{requester.parent_channel_id}>",
            )
        roles = policy.allowed_roles
        if roles and not roles.intersection(requester.role_ids):
            named = ", ".join(f"<@&{r}>" for r in sorted(roles)[:NAMED_AT_MOST])
            return GenerationError(
                ErrorCategory.ROLE_REQUIRED, f"on this server videos are made by members with {named}"
            )
        return None

    def effective(self, policy: GuildPolicy, requester: Requester) -> Effective:
        """The limits, caps and options a request from `requester` is admitted under."""
        return effective(
            policy,
            self.global_limits,
            channel_id=requester.channel_id,
            parent_id=requester.parent_channel_id,
            role_ids=requester.role_ids,
            nsfw=requester.nsfw,
        )

    async def usage(self, guild_id: int, day: dt.date) -> ServerUsage:
        """What the server reserved on `day`."""
        row = await ServerDailyUsage.get_or_none(guild_id=guild_id, day=day)
        if row is None:
            return ServerUsage()
        return ServerUsage(row.videos, row.seconds, row.micro_usd / 1_000_000)

    # ---- changing ----------------------------------------------------------------------------

    async def set_server(self, guild_id: int, admin_id: int, changes: dict[str, Any]) -> GuildPolicy:
        """Change server settings (a None value clears one); PolicyError names a bad field, and then
        nothing changes."""
        current = await self._fresh(guild_id)
        check_server(self.catalog, current, self.global_limits, changes)
        await store.save_server(guild_id, admin_id, changes)
        log.info("admin %s changed server %s's policy: %s", admin_id, guild_id, changes)
        return await self._fresh(guild_id)

    async def set_channel(
        self, guild_id: int, channel_id: int, admin_id: int, changes: dict[str, Any], *, nsfw: bool
    ) -> GuildPolicy:
        """Change a channel's settings (a None value clears one); PolicyError names a bad field."""
        current = await self._fresh(guild_id)
        check_channel(self.catalog, current, channel_id, self.global_limits, changes, nsfw=nsfw)
        await store.save_channel(guild_id, channel_id, admin_id, changes)
        log.info("admin %s changed channel %s of server %s: %s", admin_id, channel_id, guild_id, changes)
        return await self._fresh(guild_id)

    async def reset_channel(self, guild_id: int, channel_id: int, admin_id: int) -> bool:
        """Drop a channel's own settings (the server's apply again); False when it had none."""
        dropped = await store.reset_channel(channel_id)
        log.info("admin %s reset channel %s of server %s", admin_id, channel_id, guild_id)
        self._cache.forget(guild_id)
        return dropped

    async def allow_channel(self, guild_id: int, channel_id: int, admin_id: int) -> frozenset[int]:
        """Allow /video in a channel (from then on only in allowed ones); the allowed channels after."""
        with contextlib.suppress(IntegrityError):  # already allowed
            await AllowedChannel.create(guild_id=guild_id, channel_id=channel_id, added_by=admin_id)
        log.info("admin %s allowed /video in channel %s of server %s", admin_id, channel_id, guild_id)
        return (await self._fresh(guild_id)).allowed_channels

    async def disallow_channel(self, guild_id: int, channel_id: int, admin_id: int) -> frozenset[int]:
        """Take a channel off the allowed ones (none left: /video works everywhere again)."""
        await AllowedChannel.filter(guild_id=guild_id, channel_id=channel_id).delete()
        log.info("admin %s disallowed channel %s of server %s", admin_id, channel_id, guild_id)
        return (await self._fresh(guild_id)).allowed_channels

    async def set_role(
        self, guild_id: int, role_id: int, admin_id: int, changes: dict[str, Any]
    ) -> GuildPolicy:
        """Change a role's standing (allowed, daily_videos, daily_seconds; None clears a quota)."""
        check_role_quota(changes)
        await store.save_role(guild_id, role_id, admin_id, changes)
        log.info("admin %s changed role %s of server %s: %s", admin_id, role_id, guild_id, changes)
        return await self._fresh(guild_id)

    async def _fresh(self, guild_id: int) -> GuildPolicy:
        self._cache.forget(guild_id)
        return await self.of(guild_id)
