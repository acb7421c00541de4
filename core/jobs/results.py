"""A finished job's result, ready to show: the status text, the file to attach (fitted to the upload
limit), and whether the requester should be pinged."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from core.accounts.quotas import QuotaService
from core.errors import GenerationError
from core.jobs import store
from core.jobs.views import JobView
from core.media.files import human_size
from core.media.probe import probe_video
from core.media.transcode import FitResult, fit_to_size
from core.platform.clock import utc_day
from core.platform.db_retry import retry_db
from core.platform.metrics import UNCOUNTED, Metrics
from core.policy.rules import Tier
from core.presenter import failure_text, finished_line, quota_left
from core.storage import Storage, local_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResultView:
    """What the final message shows."""

    job: JobView
    body: str
    upload: Path | None  # the mp4 to attach (the original, or a re-encode that fits)
    upload_bytes: int = 0
    notify: bool = False  # the job took longer than NOTIFY_AFTER: ping the requester once it is shown
    full_quality: bool = False  # the original is on disk but not attached as it is (re-encoded, too big)


async def _reuse(fitted: Path, source: Path, upload_limit: int) -> FitResult | None:
    """The copy fitted for this limit by an earlier delivery of the same video, if it is there."""

    def check() -> FitResult | None:
        try:
            made, src = fitted.stat(), source.stat()
        except OSError:
            return None
        if made.st_size > upload_limit or made.st_mtime < src.st_mtime:
            return None
        info = probe_video(fitted)
        remuxed = src.st_size <= upload_limit  # the source fitted by size: only its container was wrong
        return FitResult(
            fitted, made.st_size, not remuxed, info.width, info.height, video_kbps=0, remuxed=remuxed
        )

    try:
        return await asyncio.to_thread(check)
    except Exception:  # an unreadable copy is simply made again
        log.warning("fitted copy %s unreadable; fitting again", fitted, exc_info=True)
        return None


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class Results:
    """Prepares results for delivery."""

    def __init__(
        self,
        quotas: QuotaService,
        *,
        notify_after: float,
        metrics: Metrics = UNCOUNTED,
        storage: Storage | None = None,
    ) -> None:
        self.storage = storage  # where videos are read from (None: the recorded path only)
        self.metrics = metrics
        self.quotas = quotas
        self.notify_after = notify_after

    async def prepare(self, job_id: int, upload_limit: int) -> ResultView:
        """The result of a finished job, with its video fitted under `upload_limit` bytes."""
        job = await retry_db(lambda: store.get(job_id), what="read result")
        notify = (job.took or 0.0) > self.notify_after
        if job.error_type or not job.video_path:
            return ResultView(job, failure_text(job.error_type, job.refunded, job.error), None, notify=notify)
        status = await retry_db(
            lambda: self.quotas.status(
                job.user_id, utc_day(job.created_at), Tier(*job.config.get("quota_tier", ()))
            ),
            what="read quota",
        )
        line = finished_line(float(job.video_seconds), job.took, job.estimated_cost_usd, quota_left(status))
        # From storage into this host's cache (OUTPUT_DIR/<key>); a store that can't be reached raises,
        # so the delivery is tried again later rather than shown without its video.
        try:
            source = await local_copy(self.storage, job.video_key, job.video_path)
        except FileNotFoundError:
            source = Path(job.video_path)
        assert source is not None
        size = await asyncio.to_thread(_size, source)
        if size is None:
            log.warning("job %s: its video %s is missing", job.id, source)
            body = (
                f"{line}\nThe video file is no longer on the bot's disk (removed by OUTPUT_RETENTION_DAYS,"
                " or made on a host whose files this one can't read), so it can't be attached."
            )
            return ResultView(job, body, None, notify=notify)
        # One fitted copy per upload limit: a delivery retried later (Discord down, a lost channel)
        # reuses it instead of re-encoding the same video again.
        fitted_path = source.with_name(f"{source.stem}.upload-{upload_limit}.mp4")
        try:
            fitted = await _reuse(fitted_path, source, upload_limit)
            if fitted is None:
                started = time.monotonic()
                fitted = await fit_to_size(source, fitted_path, upload_limit)
                self.metrics.fitted(
                    time.monotonic() - started, reencoded=fitted.reencoded, remuxed=fitted.remuxed
                )
        except GenerationError as exc:
            body = (
                f"{line}\nThe video is {human_size(size)}, more than this channel accepts"
                f" ({human_size(upload_limit)}), even re-encoded. It stays in your /history. ({exc.detail})"
            )
            return ResultView(job, body, None, notify=notify, full_quality=True)
        if fitted.reencoded:
            line += f"\nRe-encoded to {human_size(fitted.size_bytes)} to fit the upload limit."
        return ResultView(
            job, line, fitted.path, fitted.size_bytes, notify=notify, full_quality=fitted.reencoded
        )
