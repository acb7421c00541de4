"""The message of several variants in the job display: one updater draws them all, and each finished
variant's delivery draws the whole message again with every finished mp4 (see cogs/ui/group.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from cogs.ui.group import group_embeds, group_view, variant_upload_limit
from cogs.ui.links import with_full_quality
from cogs.ui.message import JobMessage
from core.jobs import store
from core.jobs.progress import progress_line
from core.jobs.views import JobStatus, JobView
from core.platform.clock import Clock
from core.platform.db_retry import retry_db
from core.platform.throttle import CoalescingUpdater

DEFAULT_UPLOAD_LIMIT = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES


@dataclass(frozen=True)
class Progress:
    """What the progress line shows (the elapsed time is added when the edit is sent)."""

    percent: int
    stage: str
    queued: bool = False  # still waiting for a slot


class Shown(Protocol):
    """One job whose progress this process shows (cogs.ui.display.Tracked)."""

    job: JobView
    group_id: int | None

    async def edit_progress(self, **fields: Any) -> None: ...


class Display(Protocol):
    """What a variants message needs of the job display (cogs.ui.display.JobDisplay)."""

    clock: Clock
    edit_spacing: float
    results: Any
    ledger: Any

    def edit_sent(self, message_id: int) -> None: ...
    def offers_extend(self, job: JobView) -> bool: ...
    async def notify(self, job: JobView, message: JobMessage) -> None: ...


class GroupMessages:
    """The variants messages this process shows, by group id."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.progress: dict[int, Progress] = {}  # job id -> its latest progress (this process)
        self._members: dict[int, tuple[CoalescingUpdater[Progress], dict[int, Shown]]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def updater(self, tracked: Shown) -> CoalescingUpdater[Progress]:
        """The updater of the message `tracked` shares with its sibling variants (made by the first)."""
        group_id = tracked.group_id
        assert group_id is not None
        if group_id not in self._members:

            async def send(_state: Progress) -> None:
                members = self._members[group_id][1]
                if members:
                    anyone = next(iter(members.values()))
                    embeds, view = await self.draw(group_id)
                    await anyone.edit_progress(embeds=embeds, view=view)

            updater = CoalescingUpdater(
                send,
                self.display.edit_spacing,
                monotonic=self.display.clock.monotonic,
                sleep=self.display.clock.sleep,
            )
            self._members[group_id] = (updater, {})
        updater, members = self._members[group_id]
        members[tracked.job.id] = tracked
        return updater

    def leave(self, tracked: Shown) -> bool:
        """`tracked` stops showing progress; True when it was the message's last variant shown here."""
        group_id = tracked.group_id
        self.progress.pop(tracked.job.id, None)
        _, members = self._members.get(group_id, (None, {}))
        members.pop(tracked.job.id, None)
        if members:
            return False
        self._members.pop(group_id, None)
        return True

    async def draw(
        self, group_id: int, jobs: list[JobView] | None = None
    ) -> tuple[list[discord.Embed], discord.ui.View]:
        """The embeds and buttons of a variants message: of `jobs`, else as the database has them now."""
        if jobs is None:
            jobs = await retry_db(
                lambda: store.group(group_id), what="read variants", sleep=self.display.clock.sleep
            )
        now = self.display.clock.now()
        lines = {
            job_id: progress_line(p.percent, p.stage, (now - job.created_at).total_seconds())
            for job in jobs
            if (p := self.progress.get(job_id := job.id)) is not None
        }
        extendable = {j.id for j in jobs if self.display.offers_extend(j)}
        return group_embeds(jobs, lines), group_view(jobs, extendable)

    async def deliver(self, job: JobView, message: JobMessage, ready_at: float) -> None:
        """A variant finished: draw the whole message again with every finished variant's mp4.

        One drawing at a time per message here; and a drawing that raced another process (a variant
        finished while it was being made) is made again, so the last edit always has every file."""
        group_id = job.group_id
        assert group_id is not None
        lock = self._locks.setdefault(group_id, asyncio.Lock())
        async with lock:
            for _ in range(3):
                jobs = await retry_db(
                    lambda: store.group(group_id), what="read variants", sleep=self.display.clock.sleep
                )
                done = [j for j in jobs if j.status is JobStatus.COMPLETED and j.video_path]
                per_file = (job.target.upload_limit if job.target else None) or DEFAULT_UPLOAD_LIMIT
                limit = variant_upload_limit(per_file, len(jobs))
                results = [await self.display.results.prepare(j.id, limit) for j in done]
                uploads = [(r.job.id, r.upload) for r in results]
                await self.display.clock.sleep(max(0.0, ready_at - self.display.clock.monotonic()))
                await self.display.ledger.renew(job.id)

                spoiler = bool(job.config.get("spoiler"))

                def files(uploads=uploads, spoiler=spoiler) -> list[discord.File]:
                    return [
                        discord.File(p, filename=f"video_{i}.mp4", spoiler=spoiler)
                        for i, p in uploads
                        if p is not None
                    ]

                embeds, view = await self.draw(group_id, jobs)  # the state its files were made from
                rows = {j.id: row for row, j in enumerate(jobs)}
                for result in results:  # a variant fitted down (or too big): its original by link
                    label = f"Full quality {result.job.variant}"
                    with_full_quality(
                        view, self.display.services, result, label=label, row=rows[result.job.id]
                    )
                self.display.edit_sent(message.message_id)
                await message.edit(files, embeds=embeds, view=view)
                self.display.services.metrics.uploaded(sum(r.upload_bytes for r in results if r.upload))
                after = await retry_db(
                    lambda: store.group(group_id), what="read variants", sleep=self.display.clock.sleep
                )
                if {j.id for j in after if j.finished} <= {j.id for j in jobs if j.finished}:
                    break
                ready_at = self.display.clock.monotonic() + self.display.edit_spacing
        delivered = await self.display.ledger.delivered(job.id, job.completed_at)
        slow = any((j.took or 0.0) > self.display.results.notify_after for j in after)
        if delivered and slow and all(j.finished for j in after):  # one ping, when the last one is shown
            await self.display.notify(job, message)
