"""Getting a job to its provider at most once: mark the submit as started, submit, store the provider's id.

A job whose submit started but whose id was never stored is failed (never submitted again: it may have been
paid), unless its provider files jobs under an id we chose (`NamesJobs`): that id is stored in the same write
that marks the submit, so after a crash the provider is asked for it — known: polled; unknown: it never
arrived, and is submitted again under the same id. Every step is conditional on the run's lease. `run` is the JobRunner (its database,
retry, rate-limit and cancel steps; not imported, so that the runner can import this module).
"""

from __future__ import annotations

import logging
from typing import Any

from core.catalog import ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.jobs.progress import REQUEST_SENT, ProgressReporter
from core.jobs.requests import load_request
from core.platform.db_retry import retry_db
from core.providers.base import JobRef, NamesJobs, Provider
from models import Generation, GenerationStatus

log = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 4


class LeaseLost(Exception):
    """This run no longer holds the job (cancelled, or re-claimed after its lease expired)."""


async def ensure_submitted(
    run: Any,
    gen: Generation,
    lease: str | None,
    spec: ModelSpec,
    provider: Provider,
    reporter: ProgressReporter,
) -> JobRef:
    """The provider's job for `gen`: the stored one, the one found under our chosen id, or a new submit."""
    if gen.provider_job_id:
        log.info("job %s: resuming provider job %s", gen.id, gen.provider_job_id)
        await reporter.report(*REQUEST_SENT)
        return JobRef(gen.provider_job_id, gen.provider_model_id)
    chosen = gen.provider_chosen_id if isinstance(provider, NamesJobs) else None
    if gen.submit_started_at is not None:
        if chosen is None:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                "an earlier submit may have reached the provider but its job id was never stored;"
                " not submitting again to avoid paying twice",
                may_have_billed=True,
            )
        found = await _find_chosen(run, gen, provider, chosen)
        if found is not None:  # it arrived: poll it, never submit again
            return await _submitted(run, gen, lease, provider, found, run._monotonic(), reporter)
        await run._still_mine(gen, lease)
        log.info("job %s: %s never got %s; submitting it again under that id", gen.id, provider.name, chosen)
        request = await load_request(gen, spec, run.storage)
    else:
        request = await load_request(gen, spec, run.storage)
        chosen = provider.new_job_id(request) if isinstance(provider, NamesJobs) else None
        marked = await run._db(
            "mark submit", lambda: transitions.mark_submit_started(gen.id, lease, run._now(), chosen)
        )
        if not marked:
            raise LeaseLost
        gen.submit_started_at = run._now()
    began = run._monotonic()

    async def submit() -> str:
        await run._respect_rate_limit(provider)
        if chosen is not None:
            return await provider.submit_as(request, chosen)
        return await provider.submit(request)

    try:
        job_id = await run._retrying("submit", gen.id, SUBMIT_ATTEMPTS, submit)
    except GenerationError as exc:
        # Retryable errors (429, refused connection) and definite refusals created nothing; a
        # timeout or 5xx after the request was sent may have created a job we will never hear of.
        ambiguous = exc.category in (ErrorCategory.PROVIDER_UNAVAILABLE, ErrorCategory.UNKNOWN)
        exc.may_have_billed = ambiguous and not exc.retryable
        raise
    return await _submitted(run, gen, lease, provider, job_id, began, reporter)


async def _find_chosen(run: Any, gen: Generation, provider: Provider, chosen: str) -> str | None:
    """After a crash mid-submit: the id to poll if the provider got the job filed under `chosen`."""
    try:
        found = await run._retrying("find", gen.id, SUBMIT_ATTEMPTS, lambda: provider.find_job(chosen))
    except GenerationError as exc:
        exc.may_have_billed = True  # it may be there: never submitted again
        raise
    log.info("job %s: %s under our id %s: %s", gen.id, provider.name, chosen, found or "never arrived")
    return found


async def _submitted(
    run: Any,
    gen: Generation,
    lease: str | None,
    provider: Provider,
    job_id: str,
    began: float,
    reporter: ProgressReporter,
) -> JobRef:
    """Store the provider's id for a job it has, then carry on only while the job is still ours."""
    submitted_at = run._now()
    # The id must reach the database whatever it takes: without it the paid job would be orphaned.
    await retry_db(
        lambda: transitions.store_provider_id(gen.id, job_id, submitted_at),
        what="store provider id",
        sleep=run._sleep,
        monotonic=run._monotonic,
        rand=run._rand,
        give_up_after=float("inf"),
    )
    gen.provider_job_id = job_id
    ref = JobRef(job_id, gen.provider_model_id)
    gen.stage_timings = dict(gen.stage_timings, submit=round(run._monotonic() - began, 3))
    log.info("job %s: submitted to %s as %s", gen.id, provider.name, job_id)
    if not await run._db("check lease", lambda: transitions.holds(gen.id, lease)):
        status = await run._db(
            "read status", lambda: Generation.get(id=gen.id).values_list("status", flat=True)
        )
        if status == GenerationStatus.CANCELLED:  # cancelled while the submit was in flight:
            await run.cancels.request(gen.id)  # the cancel could not name the job yet
        raise LeaseLost
    await reporter.report(*REQUEST_SENT)
    return ref
