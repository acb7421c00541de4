"""Admin operations, history pages and statistics."""

from __future__ import annotations

import datetime as _dt
import datetime as dt

import pytest

from core.accounts.admin import AdminService
from core.accounts.history import active_jobs, history_page
from core.accounts.quotas import QuotaService
from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from models import DailyUsage, Generation, GenerationStatus, User

DAY = dt.date(2026, 12, 1)


@pytest.fixture
def quotas() -> QuotaService:
    return QuotaService(daily_videos=2, daily_seconds=60, spend_cap_usd=10)


@pytest.fixture
def admin(quotas) -> AdminService:
    return AdminService(quotas)


async def job(
    user_id: int, n: int, status=GenerationStatus.COMPLETED, model="demo", duration=5.0
) -> Generation:
    await User.bulk_create([User(id=user_id)], ignore_conflicts=True)
    return await Generation.create(
        user_id=user_id,
        prompt=f"prompt {n}",
        model=model,
        provider="demo",
        provider_model_id="d",
        video_seconds=4,
        quota_day=DAY,
        status=status,
        duration=duration,
        created_at=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC) + dt.timedelta(minutes=n),
    )


async def test_set_quota_limits_the_next_reservation(db, admin, quotas):
    await admin.set_quota(actor=1, user_id=9, videos=1, seconds=None)
    user = await User.get(id=9)
    await quotas.reserve(user, DAY, 4, 0)
    with pytest.raises(GenerationError) as err:
        await quotas.reserve(user, DAY, 4, 0)
    assert err.value.category is ErrorCategory.USER_QUOTA_EXCEEDED
    assert user.daily_seconds is None  # untouched


async def test_reset_usage_clears_today(db, admin, quotas):
    user = await quotas.ensure_user(9)
    await quotas.reserve(user, DAY, 4, 0)
    await admin.reset_usage(actor=1, user_id=9, day=DAY)
    assert (await DailyUsage.get(user_id=9, day=DAY)).videos == 0


async def test_block_and_unblock_are_logged_with_actor_and_target(db, admin, caplog):
    caplog.set_level("INFO")
    await admin.block(actor=1, user_id=9, reason="spam")
    assert (await User.get(id=9)).blocked
    assert await admin.unblock(actor=1, user_id=9)
    assert not await admin.unblock(actor=1, user_id=9)
    assert "admin 1 blocked user 9 (reason: spam)" in caplog.text
    assert "admin 1 unblocked user 9" in caplog.text


async def test_pause_is_shared_state(db, admin):
    assert not await admin.is_paused()
    await admin.set_paused(actor=1, paused=True)
    assert await admin.is_paused()
    await admin.set_paused(actor=1, paused=False)
    assert not await admin.is_paused()


async def test_history_is_newest_first_ten_per_page_and_only_the_users(db):
    for n in range(23):
        await job(5, n)
    await job(6, 99)
    first = await history_page(5, 1)
    assert (first.page, first.pages, first.total) == (1, 3, 23)
    assert [i.prompt for i in first.items[:2]] == ["prompt 22", "prompt 21"]
    last = await history_page(5, 3)
    assert len(last.items) == 3 and last.items[-1].prompt == "prompt 0"
    assert (await history_page(5, 99)).page == 3
    pages = [await history_page(5, p) for p in (1, 2, 3)]
    assert all(i.user_id == 5 for page in pages for i in page.items)


async def test_active_jobs_lists_unfinished_ones(db):
    await job(5, 1, GenerationStatus.PROCESSING)
    await job(5, 2, GenerationStatus.COMPLETED)
    await job(6, 3, GenerationStatus.QUEUED)
    assert [j.prompt for j in await active_jobs()] == ["prompt 1", "prompt 3"]
    assert [j.prompt for j in await active_jobs(5)] == ["prompt 1"]


async def test_stats_by_status_model_success_rate_and_median(db, admin):
    await job(5, 1, model="demo", duration=4)
    await job(5, 2, model="demo", duration=10)
    await job(5, 3, model="demo", duration=6)
    await job(6, 4, GenerationStatus.FAILED, model="veo-3.1")
    s = await admin.stats(DAY)
    assert s.by_status == {"completed": 3, "failed": 1}
    assert s.by_model == {"demo": 3, "veo-3.1": 1}
    assert s.success_rate == 0.75 and s.median_seconds == {"demo": 6}
    assert s.cap_usd == 10


async def test_mark_deleted_keeps_the_row(db):
    gen = await job(5, 1)
    await transitions.mark_deleted(gen.id, _dt.datetime.now(_dt.UTC))
    assert (await Generation.get(id=gen.id)).deleted
