"""Where /video works: a server's allowed channels (none = everywhere), and DMs (ALLOW_DMS).

Read at admission through a short cache (CACHE_SECONDS): an edit applies at once in the process that
made it and within that time in the others. A thread counts as its parent channel.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from tortoise.exceptions import IntegrityError

from core.errors import ErrorCategory, GenerationError
from core.jobs.views import Requester
from core.platform.ttl_cache import TtlCache
from models import AllowedChannel

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
NAMED_AT_MOST = 5  # channels a refusal names


class ChannelPolicy:
    """Which channels of a server take /video."""

    def __init__(self, *, allow_dms: bool, monotonic: Callable[[], float]) -> None:
        self.allow_dms = allow_dms
        self._cache: TtlCache[int, frozenset[int]] = TtlCache(CACHE_SECONDS, monotonic=monotonic)

    async def check(self, requester: Requester) -> GenerationError | None:
        """The refusal when /video may not run where `requester` asked, else None."""
        if requester.guild_id is None:
            if self.allow_dms:
                return None
            return GenerationError(
                ErrorCategory.WRONG_CHANNEL, "this bot makes videos only in servers, not in DMs"
            )
        allowed = await self.allowed(requester.guild_id)
        if not allowed or requester.channel_id in allowed or requester.parent_channel_id in allowed:
            return None
        named = ", ".join(f"<#{c}>" for c in sorted(allowed)[:NAMED_AT_MOST])
        more = f" and {len(allowed) - NAMED_AT_MOST} more" if len(allowed) > NAMED_AT_MOST else ""
        return GenerationError(
            ErrorCategory.WRONG_CHANNEL, f"on this server videos are made in {named}{more}"
        )

    async def allowed(self, guild_id: int) -> frozenset[int]:
        """The server's allowed channels (empty: every channel)."""

        async def load() -> frozenset[int]:
            return frozenset(
                await AllowedChannel.filter(guild_id=guild_id).values_list("channel_id", flat=True)
            )

        return await self._cache.get(guild_id, load)

    async def allow(self, guild_id: int, channel_id: int, admin_id: int) -> frozenset[int]:
        """Allow /video in a channel (from then on only in allowed ones); the allowed channels after."""
        with contextlib.suppress(IntegrityError):  # already allowed
            await AllowedChannel.create(guild_id=guild_id, channel_id=channel_id, added_by=admin_id)
        log.info("admin %s allowed /video in channel %s of server %s", admin_id, channel_id, guild_id)
        self._cache.forget(guild_id)
        return await self.allowed(guild_id)

    async def disallow(self, guild_id: int, channel_id: int, admin_id: int) -> frozenset[int]:
        """Take a channel off the allowed ones (none left: /video works everywhere again)."""
        await AllowedChannel.filter(guild_id=guild_id, channel_id=channel_id).delete()
        log.info("admin %s disallowed channel %s of server %s", admin_id, channel_id, guild_id)
        self._cache.forget(guild_id)
        return await self.allowed(guild_id)
