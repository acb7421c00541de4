"""Showing jobs in Discord: live progress, queue positions, and the final result — exactly once.

Any process can show a job: its message is addressed by ids stored on the job row. The worker that runs
a job edits its progress; the process that runs the display loop keeps waiting jobs' queue positions
current and delivers results that finished while nobody could (a restart, Discord down).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import discord

from cogs.ui.buttons import finished_view, running_view
from cogs.ui.embeds import job_embed
from cogs.ui.message import JobMessage, MessageGone
from core.errors import GenerationError
from core.jobs.generator import GenerationResult, result_of
from core.jobs.positions import PositionRefresh
from core.jobs.progress import DOWNLOADING, progress_line
from core.jobs.queue import JobQueue
from core.jobs.worker import JobHooks, no_hooks
from core.media.files import human_size
from core.media.transcode import fit_to_size
from core.platform.clock import utc_day, utcnow
from core.platform.throttle import CoalescingUpdater, StopUpdates
from core.presenter import failure_text, finished_line, quota_left
from core.services import Services
from models import Generation, GenerationStatus

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES
REDELIVER_AFTER = dt.timedelta(seconds=30)  # a finished job nobody delivered for this long gets delivered
SWEEP_EVERY = 30.0
BRIEF_STAGES_FROM = DOWNLOADING[0]  # Downloading, Complete
BRIEF_STAGE_GRACE = 1.0  # seconds such a stage must last before its progress edit is sent
ARRIVAL_MARGIN = 0.1  # edits are spaced 10 % more than EDIT_INTERVAL (see JobDisplay.edit_spacing)
OLD_MESSAGE_EDITS_USED_UP = 30046  # "Maximum number of edits to messages older than 1 hour reached"
FORGET_AFTER = 30.0  # seconds after a job left the line before a process not running it stops tracking it


@dataclass(frozen=True)
class Progress:
    """What the progress line shows (the elapsed time is added when the edit is sent)."""

    percent: int
    stage: str
    queued: bool = False  # still waiting for a slot


class Tracked:
    """One job's message and the updater that edits it."""

    def __init__(self, display: JobDisplay, gen: Generation, message: JobMessage) -> None:
        self.gen = gen
        self.message = message
        self.running_here = False  # a worker of this process runs it (and will deliver it)
        self.waiting_seen_at = display.monotonic()  # last time it was waiting or running here
        self.updater: CoalescingUpdater[Progress] = CoalescingUpdater(self._send, display.edit_spacing)
        self._held: asyncio.TimerHandle | None = None

    def progress(self, percent: int, stage: str) -> None:
        """Show a new stage. Downloading and Complete usually last a moment: they are shown only if they
        last BRIEF_STAGE_GRACE, so they never hold back the final edit by a whole EDIT_INTERVAL."""
        if self._held is not None:
            self._held.cancel()
            self._held = None
        state = Progress(percent, stage)
        if percent >= BRIEF_STAGES_FROM:
            self._held = asyncio.get_running_loop().call_later(BRIEF_STAGE_GRACE, self.updater.push, state)
        else:
            self.updater.push(state)

    async def close(self) -> float:
        """No more progress edits; returns the seconds until a final edit keeps the EDIT_INTERVAL pace."""
        if self._held is not None:
            self._held.cancel()
        await self.updater.close()
        return self.updater.next_send_in()

    async def _send(self, state: Progress) -> None:
        status = GenerationStatus.QUEUED if state.queued else GenerationStatus.PROCESSING
        body = progress_line(state.percent, state.stage, (utcnow() - self.gen.created_at).total_seconds())
        embed = job_embed(self.gen, status, body, demo=self.gen.provider == "demo")
        try:
            await self.message.edit(embed=embed, view=running_view(self.gen.id))
        except MessageGone as exc:
            raise StopUpdates from exc
        except discord.HTTPException as exc:
            if exc.code != OLD_MESSAGE_EDITS_USED_UP:
                raise
            # Discord allows only a few edits of a message older than an hour: keep them for the
            # result (which falls back to a new message if they are gone) and stop showing progress.
            log.info(
                "job %s: Discord refuses more edits of its hour-old message; progress stops", self.gen.id
            )
            raise StopUpdates from exc


class JobDisplay:
    """Tracks the messages of jobs this process shows, and delivers results."""

    def __init__(
        self,
        bot: discord.Client,
        services: Services,
        queue: JobQueue,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.services = services
        self.generator = services.generator
        self.settings = services.settings
        self.queue = queue
        self.edit_interval = services.settings.edit_interval
        # Edits are spaced a little more than EDIT_INTERVAL so that, even when a busy event loop delays
        # one request more than the next, they still *arrive* at least EDIT_INTERVAL apart.
        self.edit_spacing = self.edit_interval * (1 + ARRIVAL_MARGIN)
        self.monotonic = monotonic
        self.refresh = PositionRefresh(monotonic=monotonic)
        self.tracked: dict[int, Tracked] = {}
        self._no_message: set[int] = set()  # waiting jobs with no Discord message (e.g. from the CLI)
        self._delivering: set[int] = set()

    def message_for(self, gen: Generation) -> JobMessage | None:
        """The job's message from its stored ids, or None when it has none (e.g. a CLI job)."""
        if not gen.channel_id or not gen.message_id:
            return None
        tracked = self.tracked.get(gen.id)
        if tracked is not None:
            return tracked.message

        async def forget_token() -> None:
            await self.generator.forget_token(gen.id)

        return JobMessage(
            self.bot,
            requester_id=gen.user_id,
            channel_id=gen.channel_id,
            message_id=gen.message_id,
            interaction_id=gen.interaction_id,
            token=gen.interaction_token,
            on_token_dead=forget_token,
        )

    def track(self, gen: Generation, message: JobMessage) -> Tracked:
        """Start (or keep) showing this job's progress."""
        if gen.id not in self.tracked:
            self.tracked[gen.id] = Tracked(self, gen, message)
        return self.tracked[gen.id]

    async def untrack(self, generation_id: int) -> float:
        """Stop progress edits; returns the seconds until a final edit keeps the EDIT_INTERVAL pace."""
        tracked = self.tracked.pop(generation_id, None)
        return await tracked.close() if tracked is not None else 0.0

    async def hooks_for(self, generation_id: int) -> JobHooks:
        """Progress and delivery for a job a worker of this process just claimed."""
        tracked = self.tracked.get(generation_id)  # queued by this process: already known
        if tracked is None:
            gen = await self.generator.get_job(generation_id)
            message = self.message_for(gen)
            if message is None:
                return await no_hooks(generation_id)
            tracked = self.track(gen, message)
        tracked.running_here = True

        async def progress(percent: int, stage: str) -> None:
            tracked.progress(percent, stage)

        async def deliver(result: GenerationResult) -> None:
            await self.deliver(generation_id)

        return JobHooks(progress, deliver)

    # ---- delivery --------------------------------------------------------------------------------

    async def deliver(self, generation_id: int) -> None:
        """The final edit: the mp4 in the same message, or the failure; then one ping if it took long.

        Editing the message to its final state is idempotent, so two processes may both do it; only the
        one whose `delivered_at` update wins sends the notification.
        """
        if generation_id in self._delivering:
            return
        self._delivering.add(generation_id)
        try:
            gen = await self.generator.get_job(generation_id)
            message = self.message_for(gen)  # the tracked one, if any: it knows whether the token died
            ready_at = time.monotonic() + await self.untrack(generation_id)  # the updater's clock
            if message is None or not gen.status.is_terminal or gen.delivered_at is not None:
                return  # nothing to show, not over yet, or already shown (e.g. by the Cancel button)
            result = result_of(gen)
            upload_limit = gen.upload_limit or DEFAULT_UPLOAD_LIMIT
            body, upload = await self._result_body(gen, result, upload_limit)
            await asyncio.sleep(max(0.0, ready_at - time.monotonic()))  # the final edit keeps the pace too
            posted_new = await self._final_edit(gen, message, body, upload)
            if await self.generator.mark_delivered(gen.id):
                took = (gen.completed_at - gen.created_at).total_seconds() if gen.completed_at else 0.0
                if took > self.settings.notify_after and not posted_new:
                    await self._notify(gen, message)
        finally:
            self._delivering.discard(generation_id)

    async def _result_body(
        self, gen: Generation, result: GenerationResult, limit: int
    ) -> tuple[str, Path | None]:
        if result.status != "success" or not result.video_path:
            return failure_text(result.error_type, result.refunded, result.error_detail), None
        status = await self.services.quotas.status(gen.user_id, utc_day(gen.created_at))
        took = (gen.completed_at - gen.created_at).total_seconds() if gen.completed_at else result.duration
        line = finished_line(float(gen.video_seconds), took, gen.estimated_cost_usd, quota_left(status))
        source = Path(result.video_path)
        try:
            fitted = await fit_to_size(source, source.with_name(source.stem + ".upload.mp4"), limit)
        except GenerationError as exc:
            size = await asyncio.to_thread(lambda: source.stat().st_size if source.exists() else 0)
            return (
                f"{line}\nThe video is {human_size(size)}, more than this channel accepts ({human_size(limit)}),"
                f" even re-encoded. It stays in your /history. ({exc.detail})",
                None,
            )
        if fitted.reencoded:
            line += f"\nRe-encoded to {human_size(fitted.size_bytes)} to fit the upload limit."
        return line, fitted.path

    async def _final_edit(self, gen: Generation, message: JobMessage, body: str, upload: Path | None) -> bool:
        """Edit the result in; True when it had to go into a new message instead."""
        demo = gen.provider == "demo"
        embed = job_embed(gen, gen.status, body, demo=demo)
        view = finished_view(gen.id)

        def files() -> list[discord.File]:  # a File is consumed by one request: build it per attempt
            return [discord.File(upload, filename=f"video_{gen.id}.mp4")] if upload else []

        try:
            try:
                await message.edit(files, embed=embed, view=view)
            except discord.HTTPException as exc:
                if exc.status != 413 or upload is None:
                    raise
                # Discord refused the size although we checked it: say so instead of uploading.
                size = await asyncio.to_thread(lambda: upload.stat().st_size)
                note = f"{body}\nDiscord refused the {human_size(size)} upload; the video stays in your /history."
                embed = job_embed(gen, gen.status, note, demo=demo)
                upload = None
                await message.edit(embed=embed, attachments=[], view=view)
            return False
        except (MessageGone, discord.HTTPException) as exc:
            log.warning("job %s: editing the result in failed (%s); posting a new message", gen.id, exc)
            await message.post_new("your video job finished:", embed=embed, files=files(), view=view)
            await self.generator.attach_message(
                gen.id, channel_id=message.channel_id, message_id=message.message_id
            )
            return True

    async def _notify(self, gen: Generation, message: JobMessage) -> None:
        try:
            await message.notify(f"your video is ready: {message.jump_url}")
        except discord.HTTPException as exc:
            log.warning("job %s: could not notify the requester: %s", gen.id, exc)

    # ---- the display loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep queue positions current every EDIT_INTERVAL and deliver what nobody delivered."""
        last_sweep = -SWEEP_EVERY
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.show_positions()
                if loop.time() - last_sweep >= SWEEP_EVERY:
                    last_sweep = loop.time()
                    await self.deliver_missed()
            except Exception:  # the display must survive a database hiccup
                log.exception("job display loop failed; retrying")
            await asyncio.sleep(max(self.edit_interval, 0.5))

    async def show_positions(self) -> None:
        """Push `Queued · position p of n` to waiting jobs' messages (see core.jobs.positions for the pace)."""
        positions = await self.queue.positions()
        due = self.refresh.due(positions)
        unseen = [job_id for job_id in due if job_id not in self.tracked and job_id not in self._no_message]
        for gen in await self.generator.jobs(unseen) if unseen else []:
            message = self.message_for(gen)
            if message is None:
                self._no_message.add(gen.id)
            else:
                self.track(gen, message)
        for job_id, (place, total) in due.items():
            tracked = self.tracked.get(job_id)
            if tracked is not None and not tracked.running_here:  # a place read just before it started
                tracked.updater.push(Progress(0, f"Queued · position {place} of {total}", queued=True))
        await self._forget_left_line(positions)

    async def _forget_left_line(self, positions: dict[int, tuple[int, int]]) -> None:
        """Stop tracking jobs that left the line and that no worker here runs (another process does)."""
        now = self.monotonic()
        self._no_message &= positions.keys()
        for job_id, tracked in list(self.tracked.items()):
            if job_id in positions or tracked.running_here:
                tracked.waiting_seen_at = now
            elif now - tracked.waiting_seen_at > FORGET_AFTER:
                await self.untrack(job_id)

    async def deliver_missed(self) -> None:
        """Results that finished while the bot was down or Discord unreachable."""
        for job_id in await self.generator.undelivered(older_than=utcnow() - REDELIVER_AFTER):
            await self.deliver(job_id)
