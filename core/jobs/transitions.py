"""The one writer of a job's row: every change to table `generations` is a function here.

Each is a single conditional UPDATE (a compare-and-set) whose row count says whether this caller made
the change, so two processes never both finish, refund or deliver a job. Every write stamps
`updated_at`. The lifecycle:

    pending ──publish──▶ queued ──claim──▶ processing ──complete/fail──▶ completed | failed
       │                   ▲    ◀─hand_back / requeue_expired─┘
       └─withdraw / sweep──┴───────────cancel──────────────────────────▶ cancelled

A `lease` is the token of one claim (worker identity + claim id): a job re-claimed by the same process
gets a new token, so the older copy of the run can never pass for the newer one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core.errors import ErrorCategory, GenerationError
from core.jobs.views import DeliveryTarget
from models import Generation, GenerationStatus
from models.generation import ACTIVE_STATUSES, TERMINAL_STATUSES

ACTIVE = list(ACTIVE_STATUSES)
PENDING, QUEUED, PROCESSING = GenerationStatus.PENDING, GenerationStatus.QUEUED, GenerationStatus.PROCESSING


def _held(job_id: int, lease: str | None) -> Any:
    """The job, while it is processing under `lease` (any lease when None: a run outside the queue)."""
    query = Generation.filter(id=job_id, status=PROCESSING)
    return query.filter(lease_owner=lease) if lease else query


# ---- admission -----------------------------------------------------------------------------------


async def create(now: dt.datetime, **fields: Any) -> Generation:
    """A new job, `pending` until it is published (or withdrawn, or swept)."""
    return await Generation.create(status=PENDING, created_at=now, updated_at=now, **fields)


async def group(gens: list[Generation]) -> None:
    """Mark jobs as the variants of one request: their group id is the first one's id."""
    await Generation.filter(id__in=[g.id for g in gens]).update(group_id=gens[0].id)
    for gen in gens:
        gen.group_id = gens[0].id


async def publish(job_ids: list[int], target: DeliveryTarget | None, now: dt.datetime) -> bool:
    """pending → queued, with the jobs' message attached: all of them (variants share a message), or
    none and False when one was withdrawn meanwhile."""
    fields: dict[str, Any] = {"status": QUEUED, "updated_at": now}
    if target is not None:
        fields.update(
            channel_id=target.channel_id,
            message_id=target.message_id,
            interaction_id=target.interaction_id,
            interaction_token=target.token,
            upload_limit=target.upload_limit,
        )
    try:
        async with in_transaction():
            if await Generation.filter(id__in=job_ids, status=PENDING).update(**fields) != len(job_ids):
                raise _NotAllPending
    except _NotAllPending:
        return False
    return True


class _NotAllPending(Exception):
    """Rolls back a publish that found a job no longer pending."""


async def cancel_pending(job_id: int, now: dt.datetime, reason: str) -> bool:
    """pending → cancelled: the job was never published (its message could not be made)."""
    return bool(
        await Generation.filter(id=job_id, status=PENDING).update(
            **_cancelled(now, reason, ErrorCategory.CANCELLED)
        )
    )


async def stale_pending(older_than: dt.datetime) -> list[int]:
    """Jobs left `pending` since before `older_than` (their admission died half-way)."""
    return list(
        await Generation.filter(status=PENDING, created_at__lt=older_than).values_list("id", flat=True)
    )


# ---- the queue -----------------------------------------------------------------------------------


async def claim(ids: list[int], lease: str, until: dt.datetime, now: dt.datetime) -> int:
    """queued → processing under `lease` until `until`, counting an attempt."""
    return await Generation.filter(id__in=ids, status=QUEUED).update(
        status=PROCESSING,
        lease_owner=lease,
        lease_expires_at=until,
        attempts=F("attempts") + 1,
        updated_at=now,
    )


async def held_by(ids: Iterable[int], lease: str) -> set[int]:
    """Which of these jobs are processing under `lease` (read back after a claim)."""
    return set(
        await Generation.filter(id__in=list(ids), status=PROCESSING, lease_owner=lease).values_list(
            "id", flat=True
        )
    )


async def extend(leases: dict[int, str], until: dt.datetime, now: dt.datetime) -> int:
    """Push forward the leases of jobs still held under their token; how many still are."""
    kept = 0
    by_lease: dict[str, list[int]] = {}
    for job_id, lease in leases.items():
        by_lease.setdefault(lease, []).append(job_id)
    for lease, ids in by_lease.items():
        kept += await Generation.filter(id__in=ids, status=PROCESSING, lease_owner=lease).update(
            lease_expires_at=until, updated_at=now
        )
    return kept


async def hand_back(leases: dict[int, str], now: dt.datetime) -> int:
    """processing → queued at once (clean shutdown); the attempt is given back, the provider id kept."""
    count = 0
    for job_id, lease in leases.items():
        count += await _held(job_id, lease).update(
            status=QUEUED, lease_owner=None, lease_expires_at=None, attempts=F("attempts") - 1, updated_at=now
        )
    return count


async def requeue_expired(job_id: int, now: dt.datetime) -> bool:
    """processing → queued for a job whose lease ran out (its worker died or stalled)."""
    return bool(
        await Generation.filter(id=job_id, status=PROCESSING, lease_expires_at__lt=now).update(
            status=QUEUED, lease_owner=None, lease_expires_at=None, updated_at=now
        )
    )


async def start_unqueued(job_id: int, now: dt.datetime) -> bool:
    """A job run directly (the CLI, no queue): → processing, counting an attempt."""
    return bool(
        await Generation.filter(id=job_id, status__in=ACTIVE).update(
            status=PROCESSING, attempts=F("attempts") + 1, updated_at=now
        )
    )


# ---- running -------------------------------------------------------------------------------------


async def holds(job_id: int, lease: str | None) -> bool:
    """True while the job is still processing under this lease."""
    return await _held(job_id, lease).exists()


async def mark_submit_started(
    job_id: int, lease: str | None, now: dt.datetime, chosen_id: str | None = None
) -> bool:
    """Set once, before the provider's create call: from then on the job is never submitted again —
    except under `chosen_id` (a NamesJobs provider's id, stored in this same write), once the provider
    has said it never got it."""
    return bool(
        await _held(job_id, lease)
        .filter(submit_started_at__isnull=True)
        .update(submit_started_at=now, provider_chosen_id=chosen_id, updated_at=now)
    )


async def store_provider_id(job_id: int, provider_job_id: str, now: dt.datetime) -> bool:
    """Remember the provider's job id (before the first poll): a resumed job polls it, never resubmits."""
    return bool(
        await Generation.filter(id=job_id, provider_job_id__isnull=True).update(
            provider_job_id=provider_job_id, submitted_at=now, updated_at=now
        )
    )


async def complete(
    job_id: int,
    lease: str | None,
    *,
    path: str,
    size: int,
    timings: dict,
    now: dt.datetime,
    key: str | None = None,
) -> bool:
    """processing → completed with the video (its local path and storage key), if still held under `lease`."""
    return bool(
        await _held(job_id, lease).update(
            status=GenerationStatus.COMPLETED,
            video_path=path,
            video_key=key,
            video_bytes=size,
            duration=timings.get("total"),
            stage_timings=timings,
            completed_at=now,
            updated_at=now,
        )
    )


async def fail(
    job_id: int, lease: str | None, exc: GenerationError, elapsed: float | None, now: dt.datetime
) -> bool:
    """processing → failed with the error's category, if still held under `lease`."""
    return bool(await _held(job_id, lease).update(**_failed(exc, elapsed, now)))


async def fail_abandoned(
    job_id: int, expired_before: dt.datetime, exc: GenerationError, now: dt.datetime
) -> bool:
    """processing → failed for a job whose lease expired before `expired_before` (its worker vanished)."""
    query = Generation.filter(id=job_id, status=PROCESSING, lease_expires_at__lt=expired_before)
    return bool(await query.update(**_failed(exc, None, now), provider_cancel_at=now))


async def cancel_unsubmitted(job_id: int, now: dt.datetime) -> bool:
    """Any unfinished job whose submit never started → cancelled (it can never reach the provider now)."""
    query = Generation.filter(id=job_id, status__in=ACTIVE, submit_started_at__isnull=True)
    return bool(await query.update(**_cancelled(now, "cancelled by request", ErrorCategory.CANCELLED)))


async def cancel_unfinished(job_id: int, now: dt.datetime) -> bool:
    """Any unfinished job → cancelled (it may have reached the provider: no refund decided here). The
    provider is to be told in the same update, so a crash right after cannot lose that."""
    query = Generation.filter(id=job_id, status__in=ACTIVE)
    fields = _cancelled(now, "cancelled by request", ErrorCategory.CANCELLED)
    return bool(await query.update(**fields, provider_cancel_at=now))


# ---- stopping a job at its provider (durable: the sweep retries until the provider has answered) ------


async def want_provider_cancel(job_id: int, due: dt.datetime, now: dt.datetime) -> None:
    """The provider is to be told to stop this job; a try is due at `due` (a sweep retries from then)."""
    await Generation.filter(id=job_id).update(provider_cancel_at=due, updated_at=now)


async def claim_provider_cancel(job_id: int, retry_at: dt.datetime, now: dt.datetime) -> bool:
    """Take a due provider cancel: True for the one sweep that now tries it (the next is due `retry_at`)."""
    query = Generation.filter(id=job_id, provider_cancel_at__lte=now)
    return bool(await query.update(provider_cancel_at=retry_at, updated_at=now))


async def provider_cancel_settled(job_id: int, now: dt.datetime) -> None:
    """The provider answered the cancel (or never can): nothing more to tell it."""
    await Generation.filter(id=job_id).update(provider_cancel_at=None, updated_at=now)


# ---- money (called inside the quota service's transactions) ----------------------------------------


async def claim_refund(job_id: int, now: dt.datetime) -> bool:
    """Mark the job refunded; True only for the one caller that may now give the quota back."""
    return bool(await Generation.filter(id=job_id, refunded=False).update(refunded=True, updated_at=now))


async def claim_spend_release(job_id: int, now: dt.datetime) -> bool:
    """Mark the job's estimated spend released; True only for the one caller that may now release it."""
    return bool(
        await Generation.filter(id=job_id, spend_released=False).update(spend_released=True, updated_at=now)
    )


# ---- delivery ------------------------------------------------------------------------------------


async def move_message(job_id: int, channel_id: int, message_id: int, now: dt.datetime) -> None:
    """The job's message is now this one (a new message replaced one that could not be edited)."""
    await Generation.filter(id=job_id).update(
        channel_id=channel_id, message_id=message_id, interaction_token=None, updated_at=now
    )


async def forget_token(job_id: int, now: dt.datetime) -> None:
    """Discord rejected the job's interaction token: no process tries it again."""
    await Generation.filter(id=job_id).update(interaction_token=None, updated_at=now)


async def mark_delivered(job_id: int, now: dt.datetime) -> bool:
    """The final result is visible; True only for the first caller. The token is dropped: it is done."""
    return bool(
        await Generation.filter(id=job_id, delivered_at__isnull=True).update(
            delivered_at=now, interaction_token=None, updated_at=now
        )
    )


async def claim_delivery(job_id: int, until: dt.datetime, now: dt.datetime) -> bool:
    """This process delivers the result now: no other process's sweep takes it until `until` (unless this
    one fails first). False when another process holds a fresh claim (or it was delivered)."""
    free = Q(delivery_retry_at__isnull=True) | Q(delivery_retry_at__lte=now)
    return bool(
        await Generation.filter(free, id=job_id, delivered_at__isnull=True).update(
            delivery_retry_at=until, updated_at=now
        )
    )


async def renew_delivery_claim(job_id: int, until: dt.datetime, now: dt.datetime) -> None:
    """Keep the claim while the delivery goes on (e.g. after fitting the video, before the upload)."""
    await Generation.filter(id=job_id, delivered_at__isnull=True).update(
        delivery_retry_at=until, updated_at=now
    )


async def delivery_failed(job_id: int, *, give_up_after: int, now: dt.datetime) -> int:
    """Count a failed delivery; at `give_up_after` attempts the job is marked undeliverable. The count."""
    await Generation.filter(id=job_id, delivered_at__isnull=True).update(
        delivery_attempts=F("delivery_attempts") + 1, updated_at=now
    )
    await Generation.filter(
        id=job_id, delivered_at__isnull=True, delivery_attempts__gte=give_up_after
    ).update(undeliverable=True, updated_at=now)
    rows = await Generation.filter(id=job_id).values_list("delivery_attempts", flat=True)
    return rows[0] if rows else 0


async def retry_delivery_at(job_id: int, retry_at: dt.datetime, now: dt.datetime) -> None:
    """The delivery sweep leaves the job alone until `retry_at`."""
    await Generation.filter(id=job_id).update(delivery_retry_at=retry_at, updated_at=now)


async def mark_deleted(job_id: int, now: dt.datetime) -> bool:
    """The job's message was deleted; its history row stays, marked."""
    return bool(await Generation.filter(id=job_id).update(deleted=True, updated_at=now))


async def forget(job_ids: list[int], now: dt.datetime) -> int:
    """/forget: a finished job keeps only its accounting (status, seconds, cost, day, refund) — no prompt,
    settings, file, error text or Discord token; returns how many rows were scrubbed."""
    return await Generation.filter(id__in=job_ids, status__in=list(TERMINAL_STATUSES)).update(
        prompt="",
        config={},
        video_path=None,
        video_key=None,
        error=None,
        interaction_token=None,
        provider_job_id=None,
        forgotten_at=now,
        updated_at=now,
    )


# ---- field sets ----------------------------------------------------------------------------------


def _cancelled(now: dt.datetime, reason: str, category: ErrorCategory) -> dict[str, Any]:
    return {
        "status": GenerationStatus.CANCELLED,
        "error": reason,
        "error_type": category.value,
        "completed_at": now,
        "updated_at": now,
    }


def _failed(exc: GenerationError, elapsed: float | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "status": GenerationStatus.FAILED,
        "error": exc.detail,
        "error_type": exc.category.value,
        "duration": round(elapsed, 3) if elapsed is not None else None,
        "completed_at": now,
        "updated_at": now,
    }
