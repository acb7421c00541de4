"""What /videoadmin does: per-user quotas and blocks, pause, the queue, today's statistics.

Every action is logged with who did it to whom.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from core.accounts.quotas import QuotaService
from core.platform.state import PAUSED_KEY, get_state, set_state
from models import DailyUsage, Generation, GenerationStatus, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    """Today's jobs by status and model, success rate, median time per model, spend against the cap."""

    day: dt.date
    by_status: dict[str, int]
    by_model: dict[str, int]
    success_rate: float | None  # completed / finished, None when nothing finished
    median_seconds: dict[str, float]
    spent_usd: float
    cap_usd: float
    undeliverable: int = 0  # finished jobs whose result could not be shown in Discord


class AdminService:
    """Admin operations; `actor` is the Discord id of whoever asked."""

    def __init__(self, quotas: QuotaService, *, on_change: Callable[[int | None], None] = lambda _user: None):
        self.quotas = quotas
        # Told which user's standing changed (None: everyone's), so admission stops repeating a refusal
        # from memory at once in this process (other processes within a few seconds).
        self._on_change = on_change

    async def set_quota(self, actor: int, user_id: int, videos: int | None, seconds: int | None) -> User:
        """Override the user's daily limits (None leaves a limit as it is; 0 = unlimited)."""
        await self.quotas.ensure_user(user_id)
        changes = {k: v for k, v in (("daily_videos", videos), ("daily_seconds", seconds)) if v is not None}
        if changes:
            await User.filter(id=user_id).update(**changes)
        log.info("admin %s set quota of user %s: %s", actor, user_id, changes or "no change")
        self._on_change(user_id)
        return await User.get(id=user_id)

    async def reset_usage(self, actor: int, user_id: int, day: dt.date) -> None:
        """Forget what the user used on `day` (their jobs stay in history)."""
        await DailyUsage.filter(user_id=user_id, day=day).update(videos=0, seconds=0)
        log.info("admin %s reset today's usage of user %s", actor, user_id)
        self._on_change(user_id)

    async def block(self, actor: int, user_id: int, reason: str | None) -> None:
        """Refuse the user's future requests."""
        await self.quotas.ensure_user(user_id)
        await User.filter(id=user_id).update(blocked=True, blocked_reason=reason)
        log.info("admin %s blocked user %s (reason: %s)", actor, user_id, reason or "none given")
        self._on_change(user_id)

    async def unblock(self, actor: int, user_id: int) -> bool:
        """Lift a block; False when the user was not blocked."""
        changed = await User.filter(id=user_id, blocked=True).update(blocked=False, blocked_reason=None)
        log.info("admin %s unblocked user %s", actor, user_id)
        self._on_change(user_id)
        return bool(changed)

    async def set_paused(self, actor: int, paused: bool) -> None:
        """Stop (or resume) taking new jobs; running ones finish."""
        await set_state(PAUSED_KEY, paused)
        log.info("admin %s %s the bot", actor, "paused" if paused else "resumed")
        self._on_change(None)

    async def stats(self, day: dt.date) -> Stats:
        """Statistics of jobs created on `day` (UTC)."""
        rows = await Generation.filter(quota_day=day).values("status", "model", "duration", "undeliverable")
        by_status = Counter(str(GenerationStatus(r["status"]).value) for r in rows)
        by_model = Counter(r["model"] for r in rows)
        finished = by_status["completed"] + by_status["failed"]
        times: dict[str, list[float]] = defaultdict(list)
        for r in rows:
            if r["status"] == GenerationStatus.COMPLETED and r["duration"] is not None:
                times[r["model"]].append(r["duration"])
        return Stats(
            day=day,
            by_status=dict(by_status),
            by_model=dict(by_model),
            success_rate=by_status["completed"] / finished if finished else None,
            median_seconds={m: statistics.median(v) for m, v in times.items()},
            spent_usd=await self.quotas.spent_today(day),
            cap_usd=self.quotas.spend_cap_micro / 1_000_000,
            undeliverable=sum(1 for r in rows if r["undeliverable"]),
        )

    async def is_paused(self) -> bool:
        """True while an admin has paused new jobs."""
        return bool(await get_state(PAUSED_KEY))
