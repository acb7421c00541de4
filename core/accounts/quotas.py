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
from models import DailySpend, DailyUsage, Generation, User

log = logging.getLogger(__name__)

MICRO = 1_000_000


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

    def limits_for(self, user: User) -> Limits:
        """The user's overrides, else the defaults."""
        return Limits(
            videos=self.daily_videos if user.daily_videos is None else user.daily_videos,
            seconds=self.daily_seconds if user.daily_seconds is None else user.daily_seconds,
        )

    async def reserve(self, user: User, day: dt.date, seconds: int, cost_usd: float) -> None:
        """Charge one video of `seconds` and `cost_usd` to today, or raise with the reason.

        Must run inside a transaction together with the job's creation (see core.jobs.intake),
        so a refused spend reservation also rolls back the user's reservation.
        """
        if user.blocked:
            reason = f" Reason: {user.blocked_reason}" if user.blocked_reason else ""
            raise GenerationError(ErrorCategory.BLOCKED, f"an admin blocked you from making videos.{reason}")
        limits = self.limits_for(user)
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
        await self._reserve_spend(day, to_micro(cost_usd))

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
        return True

    async def status(self, user_id: int, day: dt.date) -> QuotaStatus:
        """The user's usage and limits for `day`."""
        user = await User.get_or_none(id=user_id) or User(id=user_id)  # a read: no row for a stranger
        usage = await DailyUsage.get_or_none(user_id=user_id, day=day)
        return QuotaStatus(
            day=day,
            videos_used=usage.videos if usage else 0,
            seconds_used=usage.seconds if usage else 0,
            limits=self.limits_for(user),
            blocked=user.blocked,
            blocked_reason=user.blocked_reason,
        )

    async def spent_today(self, day: dt.date) -> float:
        """Estimated USD committed on `day`."""
        row = await DailySpend.get_or_none(day=day)
        return (row.micro_usd if row else 0) / MICRO


def _quota_detail(usage: DailyUsage, limits: Limits, seconds: int) -> str:
    if limits.videos and usage.videos >= limits.videos:
        return f"you have made {usage.videos} of {limits.videos} videos allowed today"
    left = limits.seconds - usage.seconds
    return (
        f"a {seconds}-second video needs more than the {left} of {limits.seconds} video-seconds"
        " you have left today"
    )
