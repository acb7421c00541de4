"""Reading jobs: frozen views for the Discord layer and the CLI, and the queries the sweeps run."""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q
from tortoise.functions import Count

from core.jobs.views import JobView
from models import Generation, GenerationStatus
from models.generation import TERMINAL_STATUSES

UNDELIVERED_BATCH = 100


async def find(job_id: int) -> JobView | None:
    """The job, or None."""
    gen = await Generation.get_or_none(id=job_id)
    return JobView.of(gen) if gen is not None else None


async def get(job_id: int) -> JobView:
    """The job (it must exist)."""
    return JobView.of(await Generation.get(id=job_id))


async def views(job_ids: list[int]) -> list[JobView]:
    """These jobs (those that exist)."""
    return [JobView.of(gen) for gen in await Generation.filter(id__in=job_ids)]


async def undelivered(*, finished_before: dt.datetime, now: dt.datetime) -> list[int]:
    """Finished jobs with a message whose result was never shown and is due a try (oldest first).

    Jobs whose last delivery failed wait until their `delivery_retry_at`; undeliverable ones (given up
    after too many failures) are left out, so one bad channel never holds back the others.
    """
    return list(
        await Generation.filter(
            Q(delivery_retry_at__isnull=True) | Q(delivery_retry_at__lte=now),
            delivered_at__isnull=True,
            completed_at__lt=finished_before,
            status__in=list(TERMINAL_STATUSES),
            message_id__isnull=False,
            deleted=False,
            undeliverable=False,
        )
        .order_by("completed_at")
        .limit(UNDELIVERED_BATCH)
        .values_list("id", flat=True)
    )


async def processing_times(model: str, last: int) -> list[float]:
    """Seconds the provider took on this model's last `last` completed jobs (for the expected latency)."""
    rows = await (
        Generation.filter(model=model, status=GenerationStatus.COMPLETED)
        .order_by("-completed_at")
        .limit(last)
        .values_list("stage_timings", flat=True)
    )
    return [float(t["processing"]) for t in rows if isinstance(t, dict) and "processing" in t]


async def provider_cancels_due(now: dt.datetime, limit: int) -> list[int]:
    """Jobs whose provider is still to be told to stop them, and whose next try is due (oldest first)."""
    return list(
        await Generation.filter(provider_cancel_at__lte=now)
        .order_by("provider_cancel_at")
        .limit(limit)
        .values_list("id", flat=True)
    )


async def children(job_id: int) -> list[tuple[int, str]]:
    """(id, relation) of the jobs made from this one, oldest first."""
    rows = await Generation.filter(parent_id=job_id).order_by("id").values_list("id", "relation")
    return [(int(i), str(r)) for i, r in rows]


async def group(group_id: int) -> list[JobView]:
    """The variants that share one message, in variant order."""
    rows = await Generation.filter(group_id=group_id).order_by("id")
    return [JobView.of(g) for g in rows]


async def of_user(user_id: int) -> list[JobView]:
    """Every job of a user not yet forgotten, oldest first."""
    rows = await Generation.filter(user_id=user_id, forgotten_at=None).order_by("id")
    return [JobView.of(g) for g in rows]


async def queue_depths() -> list[tuple[str, str, int]]:
    """(status, model, count) of the queued and processing jobs, in one grouped query (for /metrics)."""
    rows = (
        await Generation.filter(status__in=[GenerationStatus.QUEUED, GenerationStatus.PROCESSING])
        .annotate(count=Count("id"))
        .group_by("status", "model")
        .values_list("status", "model", "count")
    )
    return [(str(getattr(status, "value", status)), model, int(count)) for status, model, count in rows]


# A job a link may show: finished with a video, its message not deleted, its owner's data not forgotten.
_LINKABLE = {"status": GenerationStatus.COMPLETED, "video_path__isnull": False, "deleted": False}


async def linkable_video(job_id: int) -> tuple[str | None, str | None] | None:
    """(local path, storage key) of the video a full-quality link may serve, or None (deleted, forgotten,
    no video)."""
    rows = await Generation.filter(id=job_id, forgotten_at=None, **_LINKABLE).values_list(
        "video_path", "video_key"
    )
    return (rows[0][0], rows[0][1]) if rows else None


async def linkable_page(user_id: int, offset: int, limit: int) -> tuple[list[JobView], int]:
    """A user's jobs a gallery may show (newest first, `limit` from `offset`), and how many there are."""
    query = Generation.filter(user_id=user_id, forgotten_at=None, **_LINKABLE)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return [JobView.of(g) for g in rows], total
