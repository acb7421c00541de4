"""A user's jobs, newest first, a page at a time; and the jobs still waiting or running."""

from __future__ import annotations

import dataclasses
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
    chain: tuple[tuple[int, str | None], ...] = ()  # (id, relation) from the first job to this one

    @property
    def chain_text(self) -> str:
        """e.g. `#41 → #44 (extend) → #47 (extend)`; empty for a job made from none."""
        if len(self.chain) < 2:
            return ""
        return " → ".join(f"#{i}" + (f" ({r})" if r else "") for i, r in self.chain)

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
    items = [JobSummary.of(g) for g in rows]
    chains = await _chains(items)
    items = [dataclasses.replace(j, chain=chains[j.id]) if j.id in chains else j for j in items]
    return HistoryPage(items, page, pages, total)


CHAIN_DEPTH = 20  # ancestors shown at most (a longer chain starts with "…")


async def _chains(items: list[JobSummary]) -> dict[int, tuple[tuple[int, str | None], ...]]:
    """Each made-from job's line of ancestors, read one generation at a time for the whole page."""
    links: dict[int, tuple[int | None, str | None]] = {j.id: (j.parent_id, j.relation) for j in items}
    wanted = {j.parent_id for j in items if j.parent_id is not None} - links.keys()
    for _ in range(CHAIN_DEPTH):
        if not wanted:
            break
        rows = await Generation.filter(id__in=list(wanted)).values_list("id", "parent_id", "relation")
        for job_id, parent_id, relation in rows:
            links[job_id] = (parent_id, relation)
        wanted = {p for p, _ in links.values() if p is not None} - links.keys()
    chains = {}
    for job in items:
        if job.parent_id is None:
            continue
        chain: list[tuple[int, str | None]] = []
        current: int | None = job.id
        while current is not None and len(chain) <= CHAIN_DEPTH:
            parent, relation = links.get(current, (None, None))
            chain.append((current, relation))
            current = parent
        chains[job.id] = tuple(reversed(chain))
    return chains


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
