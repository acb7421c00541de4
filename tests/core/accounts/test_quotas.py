"""Quota and spend reservations: conditional UPDATEs that hold under concurrency, refunds exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.accounts.quotas import QuotaService
from core.errors import ErrorCategory, GenerationError
from models import DailySpend, DailyUsage, Generation, User

DAY = dt.date(2026, 12, 1)


def service(videos: int = 3, seconds: int = 60, cap: float = 100.0) -> QuotaService:
    return QuotaService(daily_videos=videos, daily_seconds=seconds, spend_cap_usd=cap)


async def reserve(q: QuotaService, user_id: int, seconds: int = 4, cost: float = 0.0) -> None:
    user = await q.ensure_user(user_id)
    await q.reserve(user, DAY, seconds, cost)


async def test_reserve_counts_videos_and_seconds(db):
    q = service()
    await reserve(q, 1, seconds=8)
    usage = await DailyUsage.get(user_id=1, day=DAY)
    assert (usage.videos, usage.seconds) == (1, 8)


async def test_video_limit_refuses_with_the_count(db):
    q = service(videos=2)
    await reserve(q, 1)
    await reserve(q, 1)
    with pytest.raises(GenerationError) as err:
        await reserve(q, 1)
    assert err.value.category is ErrorCategory.USER_QUOTA_EXCEEDED
    assert "2 of 2 videos" in err.value.detail
    assert (await DailyUsage.get(user_id=1, day=DAY)).videos == 2


async def test_seconds_limit_refuses_a_video_that_would_pass_it(db):
    q = service(videos=0, seconds=10)
    await reserve(q, 1, seconds=8)
    with pytest.raises(GenerationError) as err:
        await reserve(q, 1, seconds=4)
    assert err.value.category is ErrorCategory.USER_QUOTA_EXCEEDED
    assert "2 of 10 video-seconds" in err.value.detail


async def test_zero_means_unlimited(db):
    q = service(videos=0, seconds=0)
    for _ in range(20):
        await reserve(q, 1, seconds=15)
    assert (await DailyUsage.get(user_id=1, day=DAY)).videos == 20


async def test_per_user_override_beats_the_default(db):
    q = service(videos=1)
    await q.ensure_user(7)
    await User.filter(id=7).update(daily_videos=3)
    for _ in range(3):
        await reserve(q, 7)
    with pytest.raises(GenerationError):
        await reserve(q, 7)


async def test_blocked_user_is_refused_and_nothing_is_charged(db):
    q = service()
    await q.ensure_user(5)
    await User.filter(id=5).update(blocked=True, blocked_reason="spam")
    with pytest.raises(GenerationError) as err:
        await reserve(q, 5)
    assert err.value.category is ErrorCategory.BLOCKED
    assert "spam" in err.value.detail
    assert not await DailyUsage.filter(user_id=5, videos__gt=0).exists()


async def test_spend_cap_refuses_and_counts_in_micro_dollars(db):
    q = service(videos=0, seconds=0, cap=1.0)
    await reserve(q, 1, cost=0.4)
    await reserve(q, 2, cost=0.6)
    with pytest.raises(GenerationError) as err:
        await reserve(q, 3, cost=0.01)
    assert err.value.category is ErrorCategory.SPEND_CAP_REACHED
    assert await q.spent_today(DAY) == pytest.approx(1.0)


async def test_fifty_concurrent_reservations_against_ten_grant_exactly_ten(db):
    q = service(videos=10, seconds=0)
    await q.ensure_user(1)

    async def attempt() -> bool:
        try:
            await reserve(q, 1)
            return True
        except GenerationError:
            return False

    granted = await asyncio.gather(*(attempt() for _ in range(50)))
    assert sum(granted) == 10
    assert (await DailyUsage.get(user_id=1, day=DAY)).videos == 10


async def test_concurrent_spend_reservations_never_pass_the_cap(db):
    q = service(videos=0, seconds=0, cap=1.0)

    async def attempt(user_id: int) -> bool:
        try:
            await reserve(q, user_id, cost=0.1)
            return True
        except GenerationError:
            return False

    granted = await asyncio.gather(*(attempt(i) for i in range(40)))
    assert sum(granted) == 10
    assert (await DailySpend.get(day=DAY)).micro_usd == 1_000_000


async def make_job(user_id: int, seconds: int = 4, cost: float = 0.5) -> Generation:
    return await Generation.create(
        user_id=user_id,
        prompt="p",
        model="demo",
        provider="demo",
        provider_model_id="d",
        video_seconds=seconds,
        estimated_cost_usd=cost,
        quota_day=DAY,
    )


async def test_refund_happens_exactly_once_even_when_raced(db):
    q = service(videos=5)
    await reserve(q, 1, seconds=4, cost=0.5)
    gen = await make_job(1)
    results = await asyncio.gather(*(q.refund(gen.id) for _ in range(10)))
    assert sum(results) == 1
    usage = await DailyUsage.get(user_id=1, day=DAY)
    assert (usage.videos, usage.seconds) == (0, 0)


async def test_release_spend_happens_exactly_once(db):
    q = service()
    await reserve(q, 1, cost=0.5)
    gen = await make_job(1, cost=0.5)
    results = await asyncio.gather(*(q.release_spend(gen.id) for _ in range(5)))
    assert sum(results) == 1
    assert await q.spent_today(DAY) == 0


async def test_status_reports_usage_limits_and_block(db):
    q = service(videos=3, seconds=30)
    await reserve(q, 1, seconds=8)
    st = await q.status(1, DAY)
    assert (st.videos_used, st.seconds_used, st.videos_left, st.seconds_left) == (1, 8, 2, 22)
    assert not st.blocked
