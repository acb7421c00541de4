"""The delivery ledger: which finished jobs still need their result shown, and what happened when we tried.

Showing the result is the Discord layer's job; keeping count is core's. A failed delivery is retried
with backoff; after MAX_DELIVERY_ATTEMPTS the job is marked undeliverable (visible in /history,
/videoadmin queue and stats) and the sweep moves on, so one lost channel never holds back the rest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.jobs import store, transitions
from core.platform.clock import utcnow
from core.platform.db_retry import retry_db
from core.platform.metrics import UNCOUNTED, Metrics

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 6
RETRY_BASE = 30.0  # seconds before the first retry; doubles each time (30 s, 1 min, 2 min, 4 min, 8 min)
RETRY_CAP = 3600.0


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed delivery."""
    return min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts - 1))


class DeliveryLedger:
    """Bookkeeping of result delivery, shared by every process through the job rows."""

    def __init__(
        self,
        *,
        redeliver_after: float = 30.0,
        now: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_attempts: int = MAX_DELIVERY_ATTEMPTS,
        metrics: Metrics = UNCOUNTED,
    ) -> None:
        self.metrics = metrics
        # A finished job nobody delivered for this long is delivered by the sweep: by then the process
        # that ran it has had its chance (it normally delivers within a second or two).
        self.redeliver_after = redeliver_after
        self._now = now
        self._sleep = sleep
        self.max_attempts = max_attempts

    async def _db(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Delivery bookkeeping waits out a database blink like every other step of a job."""
        return await retry_db(call, what=what, sleep=self._sleep)

    async def due(self) -> list[int]:
        """Finished jobs whose result nobody has shown, due a (re)try now; oldest first."""
        now = self._now()
        finished_before = now - dt.timedelta(seconds=self.redeliver_after)
        due = await self._db(
            "find undelivered", lambda: store.undelivered(finished_before=finished_before, now=now)
        )
        self.metrics.redelivering(len(due))
        return due

    async def claim(self, job_id: int) -> bool:
        """Deliver this result here, now: False when another process is already delivering it. The claim
        lasts as long as the sweep waits (`redeliver_after`), so a process that died while delivering is
        replaced that much later; `renew` extends it while a slow delivery goes on."""
        now = self._now()
        until = now + dt.timedelta(seconds=self.redeliver_after)
        return await self._db("claim delivery", lambda: transitions.claim_delivery(job_id, until, now))

    async def renew(self, job_id: int) -> None:
        """The delivery is still going on here (right before the upload)."""
        now = self._now()
        until = now + dt.timedelta(seconds=self.redeliver_after)
        await self._db("renew delivery", lambda: transitions.renew_delivery_claim(job_id, until, now))

    async def delivered(self, job_id: int, finished_at: dt.datetime | None = None) -> bool:
        """The result is visible; True only for the first caller (who may then ping the requester). With
        the job's end time, the first caller also records how long the result took to show."""
        now = self._now()
        first = await self._db("mark delivered", lambda: transitions.mark_delivered(job_id, now))
        if first and finished_at is not None:
            self.metrics.notified((now - finished_at).total_seconds())
        return first

    async def failed(self, job_id: int, reason: str) -> int:
        """Count a failed delivery and schedule the next try; the attempts so far."""
        now = self._now()
        attempts = await self._db(
            "count failed delivery",
            lambda: transitions.delivery_failed(job_id, give_up_after=self.max_attempts, now=now),
        )
        retry_at = now + dt.timedelta(seconds=retry_delay(attempts))
        await self._db("schedule delivery", lambda: transitions.retry_delivery_at(job_id, retry_at, now))
        if attempts >= self.max_attempts:
            log.warning(
                "job %s: giving up delivering its result after %d tries: %s", job_id, attempts, reason
            )
        else:
            log.warning(
                "job %s: delivery failed (%d/%d), next try at %s: %s",
                job_id,
                attempts,
                self.max_attempts,
                retry_at,
                reason,
            )
        return attempts

    async def moved(self, job_id: int, channel_id: int, message_id: int) -> None:
        """The result went into a new message: that one is the job's message from now on."""
        await self._db(
            "move message", lambda: transitions.move_message(job_id, channel_id, message_id, self._now())
        )

    async def token_dead(self, job_id: int) -> None:
        """Discord refused the interaction token: no process tries it again."""
        await self._db("forget token", lambda: transitions.forget_token(job_id, self._now()))
