"""Per-user daily quotas and the global daily spend cap: reserved and refunded with conditional UPDATEs.

Every reservation is one `UPDATE ... WHERE used + n <= limit`; its row count says whether it was
granted, so concurrent requests can never overshoot a limit (on SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.platform.clock import utcnow
from core.platform.metrics import UNCOUNTED, Metrics
from core.policy.rules import ServerCaps, Tier
from models import DailySpend, DailyUsage, Generation, ServerDailyUsage, User

log = logging.getLogger(__name__)

MICRO = 1_000_000
NO_TIER = Tier()
NO_CAPS = ServerCaps()


@dataclass(frozen=True)
class Limits:
    """A user's effective daily limits; 0 means unlimited."""

    videos: int
    seconds: int


@dataclass(frozen=True)
class QuotaStatus:
    """What a user has used today, against what limits."""

    day: dt.date
    videos_used: int
    seconds_used: int
    limits: Limits
    blocked: bool
    blocked_reason: str | None

    @property
    def resets_at(self) -> dt.datetime:
        """When today's usage starts again from zero: the next midnight UTC."""
        return dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def videos_left(self) -> int | None:
        """Videos left today, or None when unlimited."""
        return None if not self.limits.videos else max(0, self.limits.videos - self.videos_used)

    @property
    def seconds_left(self) -> int | None:
        """Video-seconds left today, or None when unlimited."""
        return None if not self.limits.seconds else max(0, self.limits.seconds - self.seconds_used)


def to_micro(usd: float) -> int:
    """Dollars to whole micro-dollars."""
    return round(usd * MICRO)


class QuotaService:
    """Reserves and refunds quota and spend. Takes its defaults from settings."""

    metrics: Metrics = UNCOUNTED  # the process's, set by Services: spend given back is counted

    def __init__(
        self,
        *,
        daily_videos: int,
        daily_seconds: int,
        spend_cap_usd: float,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._now = now
        self.daily_videos = daily_videos
        self.daily_seconds = daily_seconds
        self.spend_cap_micro = to_micro(spend_cap_usd)

    async def ensure_user(self, user_id: int) -> User:
        """Return the user's row, creating it if needed (safe under concurrency)."""
        await User.bulk_create([User(id=user_id)], ignore_conflicts=True)
        return await User.get(id=user_id)

    def limits_for(self, user: User, tier: Tier = NO_TIER) -> Limits:
        """The user's own override, else their roles' tier, else the defaults (limit by limit)."""
        return Limits(
            videos=_first(user.daily_videos, tier.videos, self.daily_videos),
            seconds=_first(user.daily_seconds, tier.seconds, self.daily_seconds),
        )

    async def reserve(
        self,
        user: User,
        day: dt.date,
        seconds: int,
        cost_usd: float,
        *,
        tier: Tier = NO_TIER,
        guild_id: int | None = None,
        caps: ServerCaps = NO_CAPS,
    ) -> None:
        """Charge one video of `seconds` and `cost_usd` to today — to the user, to their server (within
        its caps) and to the global spend — or raise with the reason.

        Must run inside a transaction together with the job's creation (see core.jobs.intake),
        so a refused reservation also rolls back the ones made before it.
        """
        if user.blocked:
            reason = f" Reason: {user.blocked_reason}" if user.blocked_reason else ""
            raise GenerationError(ErrorCategory.BLOCKED, f"an admin blocked you from making videos.{reason}")
        limits = self.limits_for(user, tier)
        await DailyUsage.bulk_create([DailyUsage(user_id=user.id, day=day)], ignore_conflicts=True)
        query = DailyUsage.filter(user_id=user.id, day=day)
        if limits.videos:
            query = query.filter(videos__lt=limits.videos)
        if limits.seconds:
            if seconds > limits.seconds:
                raise GenerationError(
                    ErrorCategory.USER_QUOTA_EXCEEDED,
                    f"a {seconds}-second video is longer than your daily limit of {limits.seconds} seconds",
                )
            query = query.filter(seconds__lte=limits.seconds - seconds)
        granted = await query.update(videos=F("videos") + 1, seconds=F("seconds") + seconds)
        if not granted:
            usage = await DailyUsage.get(user_id=user.id, day=day)
            raise GenerationError(ErrorCategory.USER_QUOTA_EXCEEDED, _quota_detail(usage, limits, seconds))
        if guild_id is not None:
            await self._reserve_server(guild_id, day, seconds, to_micro(cost_usd), caps)
        await self._reserve_spend(day, to_micro(cost_usd))

    async def _reserve_server(
        self, guild_id: int, day: dt.date, seconds: int, micro: int, caps: ServerCaps
    ) -> None:
        """One conditional UPDATE against every cap the server set (0 or None: no cap)."""
        await ServerDailyUsage.bulk_create(
            [ServerDailyUsage(guild_id=guild_id, day=day)], ignore_conflicts=True
        )
        query = ServerDailyUsage.filter(guild_id=guild_id, day=day)
        if caps.videos:
            query = query.filter(videos__lt=caps.videos)
        if caps.seconds:
            query = query.filter(seconds__lte=caps.seconds - seconds)
        if caps.spend_micro_usd:
            query = query.filter(micro_usd__lte=caps.spend_micro_usd - micro)
        granted = await query.update(
            videos=F("videos") + 1, seconds=F("seconds") + seconds, micro_usd=F("micro_usd") + micro
        )
        if not granted:
            usage = await ServerDailyUsage.get(guild_id=guild_id, day=day)
            raise GenerationError(ErrorCategory.SERVER_QUOTA_EXCEEDED, _server_detail(usage, caps, seconds))

    async def _reserve_spend(self, day: dt.date, micro: int) -> None:
        if micro <= 0:
            return
        await DailySpend.bulk_create([DailySpend(day=day)], ignore_conflicts=True)
        query = DailySpend.filter(day=day)
        if self.spend_cap_micro:
            query = query.filter(micro_usd__lte=self.spend_cap_micro - micro)
        if not await query.update(micro_usd=F("micro_usd") + micro):
            raise GenerationError(
                ErrorCategory.SPEND_CAP_REACHED,
                f"today's estimated spend would pass the cap of ${self.spend_cap_micro / MICRO:.2f}",
            )

    async def refund(self, generation_id: int) -> bool:
        """Give the job's quota back to its user, exactly once. True if this call refunded.

        Usage never goes below zero: after an admin reset, a refund of a job charged before it gives
        back nothing it would not have had.
        """
        async with in_transaction():
            if not await transitions.claim_refund(generation_id, self._now()):
                return False
            gen = await Generation.get(id=generation_id)
            usage = DailyUsage.filter(user_id=gen.user_id, day=gen.quota_day)
            await usage.filter(videos__gte=1).update(videos=F("videos") - 1)
            n = gen.video_seconds
            if not await usage.filter(seconds__gte=n).update(seconds=F("seconds") - n):
                await usage.filter(seconds__lt=n).update(seconds=0)
            if gen.guild_id is not None:
                server = ServerDailyUsage.filter(guild_id=gen.guild_id, day=gen.quota_day)
                await server.filter(videos__gte=1).update(videos=F("videos") - 1)
                if not await server.filter(seconds__gte=n).update(seconds=F("seconds") - n):
                    await server.filter(seconds__lt=n).update(seconds=0)
        log.info("job %s: quota refunded to user %s", generation_id, gen.user_id)
        return True

    async def release_spend(self, generation_id: int) -> bool:
        """Take the job's estimated cost off the day's spend, exactly once (only for unbilled jobs)."""
        async with in_transaction():
            if not await transitions.claim_spend_release(generation_id, self._now()):
                return False
            gen = await Generation.get(id=generation_id)
            micro = to_micro(gen.estimated_cost_usd)
            if micro:
                spend = DailySpend.filter(day=gen.quota_day)
                if not await spend.filter(micro_usd__gte=micro).update(micro_usd=F("micro_usd") - micro):
                    await spend.filter(micro_usd__lt=micro).update(micro_usd=0)
                if gen.guild_id is not None:
                    server = ServerDailyUsage.filter(guild_id=gen.guild_id, day=gen.quota_day)
                    if not await server.filter(micro_usd__gte=micro).update(micro_usd=F("micro_usd") - micro):
                        await server.filter(micro_usd__lt=micro).update(micro_usd=0)
        self.metrics.spend_given_back(gen.model, gen.guild_id, micro / MICRO)
        return True

    async def status(self, user_id: int, day: dt.date, tier: Tier = NO_TIER) -> QuotaStatus:
        """The user's usage and limits for `day` (`tier`: their roles' quota tier where they asked)."""
        user = await User.get_or_none(id=user_id) or User(id=user_id)  # a read: no row for a stranger
        usage = await DailyUsage.get_or_none(user_id=user_id, day=day)
        return QuotaStatus(
            day=day,
            videos_used=usage.videos if usage else 0,
            seconds_used=usage.seconds if usage else 0,
            limits=self.limits_for(user, tier),
            blocked=user.blocked,
            blocked_reason=user.blocked_reason,
        )

    async def spent_today(self, day: dt.date) -> float:
        """Estimated USD committed on `day`."""
        row = await DailySpend.get_or_none(day=day)
        return (row.micro_usd if row else 0) / MICRO


def _first(*limits: int | None) -> int:
    return next(v for v in limits if v is not None)


def _server_detail(usage: ServerDailyUsage, caps: ServerCaps, seconds: int) -> str:
    if caps.videos and usage.videos >= caps.videos:
        return f"this server has made {usage.videos} of the {caps.videos} videos its admins allow a day"
    if caps.seconds and usage.seconds + seconds > caps.seconds:
        left = max(0, caps.seconds - usage.seconds)
        return (
            f"a {seconds}-second video needs more than the {left} of {caps.seconds} video-seconds"
            " this server has left today"
        )
    return f"this server's daily spend limit of ${(caps.spend_micro_usd or 0) / MICRO:.2f} would be passed"


def _quota_detail(usage: DailyUsage, limits: Limits, seconds: int) -> str:
    if limits.videos and usage.videos >= limits.videos:
        return f"you have made {usage.videos} of {limits.videos} videos allowed today"
    left = limits.seconds - usage.seconds
    return (
        f"a {seconds}-second video needs more than the {left} of {limits.seconds} video-seconds"
        " you have left today"
    )
