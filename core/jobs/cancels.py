"""Stopping a job at its provider, in the background: a slow or hanging provider never holds up a
click, a sweep or a job's end. Every cancel is logged; `drain` waits for them at shutdown."""

from __future__ import annotations

import asyncio
import logging

from core.errors import GenerationError
from core.providers.base import JobRef, Provider
from models import Generation

log = logging.getLogger(__name__)


class ProviderCancels:
    """Background cancel requests to the providers."""

    def __init__(self, providers: dict[str, Provider]) -> None:
        self.providers = providers
        self._tasks: set[asyncio.Task[None]] = set()

    def cancel(self, job_id: int, provider: Provider, ref: JobRef) -> None:
        """Ask `provider` to stop `ref` (where its API can), without waiting for the answer."""
        if not provider.supports_cancel:
            return
        task = asyncio.create_task(self._cancel(job_id, provider, ref), name=f"cancel-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel(self, job_id: int, provider: Provider, ref: JobRef) -> None:
        try:
            await provider.cancel(ref)
            log.info("job %s: cancelled at %s", job_id, provider.name)
        except GenerationError as exc:
            log.warning("job %s: provider cancel failed: %s", job_id, exc.detail)
        except Exception:
            log.exception("job %s: provider cancel failed", job_id)

    async def cancel_job(self, job_id: int) -> None:
        """The job was cancelled or abandoned: stop it at its provider too, if it got that far."""
        gen = await Generation.get(id=job_id)
        provider = self.providers.get(gen.provider)
        if provider is not None and gen.provider_job_id:
            self.cancel(job_id, provider, JobRef(gen.provider_job_id, gen.provider_model_id))

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Give the cancels in flight `timeout` seconds to finish (shutdown, tests); then stop them."""
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%d provider cancels did not finish in %.0f s", len(pending), timeout)
            await asyncio.gather(*pending, return_exceptions=True)
