"""Recording an admitted request: the member's quota, their server's caps and the day's spend reserved, the
waiting cap checked, and the job rows written `pending` — in one transaction, or nothing at all (the
input images written for it are removed again). Intake decides *whether* to record; this is *how*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.quotas import QuotaService
from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.jobs.requests import config_of, drop_images, store_image
from core.jobs.views import Lineage, Requester
from core.platform.clock import utc_day
from core.platform.state import PAUSED_KEY, get_state
from core.policy.rules import Effective, Tier
from core.providers.base import VideoRequest
from core.storage import Storage
from models import Generation, GenerationStatus


class JobRecorder:
    """Writes admitted jobs (one, or the variants of one request together)."""

    def __init__(
        self,
        *,
        quotas: QuotaService,
        storage: Storage,
        now: Callable[[], dt.datetime],
        max_waiting: int | None = None,
    ) -> None:
        self.quotas = quotas
        self.storage = storage
        self.max_waiting = max_waiting
        self._now = now

    async def record(
        self,
        request: VideoRequest,
        requester: Requester,
        policy: Effective,
        seeds: list[int | None],
        *,
        parent: Lineage | None = None,
        loop: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> list[Generation]:
        """One `pending` job per seed, each charged; raises the refusal (paused, quota, a server cap,
        spend, waiting cap) with nothing changed."""
        if await get_state(PAUSED_KEY):
            raise GenerationError(ErrorCategory.PAUSED, "an admin paused new videos")
        spec = request.model
        cost = spec.estimate_cost(request.duration, request.resolution, audio=request.audio)
        now = self._now()
        day = utc_day(now)
        user = await self.quotas.ensure_user(requester.user_id)
        config = {**config_of(request, loop=loop), **admitted_under(policy), **(extra or {})}
        if request.image is not None:
            key, path = await store_image(self.storage, request.image, request.image_mime_type)
            config.update(image_path=str(path), image_key=key)
        if request.last_frame is not None and not loop:
            key, path = await store_image(self.storage, request.last_frame, request.last_frame_mime_type)
            config.update(last_frame_path=str(path), last_frame_key=key)
        count = len(seeds)
        try:
            async with in_transaction():
                for _ in range(count):
                    await self.quotas.reserve(
                        user,
                        day,
                        request.duration,
                        cost,
                        tier=policy.tier,
                        guild_id=requester.guild_id,
                        caps=policy.caps,
                    )
                await self._check_waiting(requester.user_id, count)
                gens = []
                for number, seed in enumerate(seeds, start=1):
                    own = (
                        {**config, "seed": seed, "variant": number, "variants": count}
                        if count > 1
                        else config
                    )
                    gens.append(
                        await transitions.create(
                            now,
                            user_id=requester.user_id,
                            guild_id=requester.guild_id,
                            channel_id=requester.channel_id,
                            prompt=request.prompt,
                            model=spec.name,
                            provider=spec.provider,
                            provider_model_id=spec.provider_model_id,
                            config=own,
                            video_seconds=request.duration,
                            estimated_cost_usd=cost,
                            quota_day=day,
                            parent_id=parent.parent_id if parent else None,
                            relation=parent.relation if parent else None,
                        )
                    )
                if count > 1:
                    await transitions.group(gens)
                return gens
        except BaseException:
            await drop_images(self.storage, config)
            raise

    async def _check_waiting(self, user_id: int, adding: int = 1) -> None:
        """The waiting cap, counted after the quota UPDATE (which serializes one user's requests)."""
        if self.max_waiting is None:
            return
        waiting = await Generation.filter(
            user_id=user_id, status__in=[GenerationStatus.PENDING, GenerationStatus.QUEUED]
        ).count()
        if waiting + adding - 1 >= self.max_waiting:
            raise GenerationError(
                ErrorCategory.TOO_MANY_WAITING,
                f"you already have {waiting} videos waiting to start (at most {self.max_waiting})",
            )


def admitted_under(policy: Effective) -> dict[str, Any]:
    """What the server's policy decided for this job when it was admitted (a later change of the
    settings doesn't rewrite a job on its way): how it is shown, its safety level, the member's quota
    tier (for the "left today" line)."""
    under: dict[str, Any] = {
        "spoiler": policy.spoilers,
        "hide_blocked_prompt": policy.hide_blocked_prompts,
        "permissive_safety": policy.permissive_safety,
    }
    if policy.tier != Tier():
        under["quota_tier"] = [policy.tier.videos, policy.tier.seconds]
    return {k: v for k, v in under.items() if v}
