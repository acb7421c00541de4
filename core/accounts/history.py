"""A user's jobs, newest first, a page at a time; and the jobs still waiting or running."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from core.jobs.views import JobStatus as GenerationStatus
from models import Generation
from models.generation import ACTIVE_STATUSES

PAGE_SIZE = 10


@dataclass(frozen=True)
class JobSummary:
    """What a history line shows about one job."""

    id: int
    user_id: int
    status: GenerationStatus
    prompt: str
    model: str
    video_seconds: int
    created_at: dt.datetime
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    deleted: bool
    error_type: str | None
    undeliverable: bool = False  # finished, but Discord would not take the result
    parent_id: int | None = None  # made from this job ...
    relation: str | None = None  # ... this way (regenerate, ...)

    @classmethod
    def of(cls, gen: Generation) -> JobSummary:
        """Summary of a job record."""
        return cls(
            gen.id, gen.user_id, gen.status, gen.prompt, gen.model, gen.video_seconds, gen.created_at,
            gen.guild_id, gen.channel_id, gen.message_id, gen.deleted, gen.error_type, gen.undeliverable,
            gen.parent_id, gen.relation,
        )  # fmt: skip


@dataclass(frozen=True)
class HistoryPage:
    """One page of a user's history (pages are 1-based)."""

    items: list[JobSummary]
    page: int
    pages: int
    total: int


async def history_page(user_id: int, page: int = 1, per_page: int = PAGE_SIZE) -> HistoryPage:
    """The user's jobs, newest first; `page` is clamped into range."""
    query = Generation.filter(user_id=user_id)
    total = await query.count()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = await query.order_by("-created_at", "-id").offset((page - 1) * per_page).limit(per_page)
    return HistoryPage([JobSummary.of(g) for g in rows], page, pages, total)


async def active_jobs(user_id: int | None = None) -> list[JobSummary]:
    """Unfinished jobs, oldest first; one user's when `user_id` is given."""
    query = Generation.filter(status__in=list(ACTIVE_STATUSES))
    if user_id is not None:
        query = query.filter(user_id=user_id)
    return [JobSummary.of(g) for g in await query.order_by("created_at", "id")]


async def undeliverable_jobs(limit: int = 20) -> list[JobSummary]:
    """Finished jobs whose result could not be shown in Discord, newest first."""
    rows = await Generation.filter(undeliverable=True).order_by("-completed_at").limit(limit)
    return [JobSummary.of(g) for g in rows]
