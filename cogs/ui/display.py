"""Showing jobs in Discord: live progress, queue positions, and the final result — exactly once.

Any process can show a job: its message is addressed by the job's `DeliveryTarget`. The worker that runs
a job edits its progress; the process that runs the display loop keeps waiting jobs' queue positions
current and delivers results that finished while nobody could (a restart, Discord down). What to show
comes from core (`Results.prepare`); the bookkeeping of deliveries too (`DeliveryLedger`): this module
renders and sends. Time is injected (`clock`), so tests drive it without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import discord

from cogs.ui.buttons import finished_view, running_view
from cogs.ui.embeds import job_embed
from cogs.ui.group_display import GroupMessages, Progress
from cogs.ui.links import with_full_quality
from cogs.ui.message import JobMessage, MessageGone
from core.jobs import store
from core.jobs.creative import extension_refusal
from core.jobs.positions import PositionRefresh
from core.jobs.progress import DOWNLOADING, progress_line
from core.jobs.queue import JobQueue
from core.jobs.results import ResultView
from core.jobs.views import GenerationResult, JobStatus, JobView
from core.jobs.worker import JobHooks, no_hooks
from core.media.files import human_size
from core.platform.clock import REAL_CLOCK, Clock
from core.platform.db_retry import retry_db
from core.platform.logs import add_job_log_fields, job_log_fields
from core.platform.supervise import every
from core.platform.throttle import CoalescingUpdater, StopUpdates
from core.services import Services

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES
BRIEF_STAGES_FROM = DOWNLOADING[0]  # Downloading, Complete
BRIEF_STAGE_GRACE = 1.0  # seconds such a stage must last before its progress edit is sent
ARRIVAL_MARGIN = 0.1  # edits are spaced 10 % more than EDIT_INTERVAL (see JobDisplay.edit_spacing)
OLD_MESSAGE_EDITS_USED_UP = 30046  # "Maximum number of edits to messages older than 1 hour reached"
FORGET_AFTER = 30.0  # seconds after a job left the line before a process not running it stops tracking it


class Tracked:
    """One job's message and the updater that edits it."""

    def __init__(self, display: JobDisplay, job: JobView, message: JobMessage) -> None:
        self.job = job
        self.message = message
        self.clock = display.clock
        self.display = display
        self.running_here = False  # a worker of this process runs it (and will deliver it)
        self.waiting_seen_at = display.clock.monotonic()  # last time it was waiting or running here
        self.group_id = job.group_id
        if self.group_id is not None:  # variants share their message's updater: one edit draws them all
            self.updater = display.groups.updater(self)
        else:
            self.updater = CoalescingUpdater(
                self._send, display.edit_spacing, monotonic=display.clock.monotonic, sleep=display.clock.sleep
            )
        self._held: asyncio.Task[None] | None = None

    def show(self, state: Progress) -> None:
        """Queue an edit showing `state` (for a variant: its line in the message's next drawing)."""
        if self.group_id is not None:
            self.display.groups.progress[self.job.id] = state
        self.updater.push(state)

    def progress(self, percent: int, stage: str) -> None:
        """Show a new stage. Downloading and Complete usually last a moment: they are shown only if they
        last BRIEF_STAGE_GRACE, so they never hold back the final edit by a whole EDIT_INTERVAL."""
        self._release_held()
        state = Progress(percent, stage)
        if percent >= BRIEF_STAGES_FROM:
            self._held = asyncio.create_task(self._push_later(state))
        else:
            self.show(state)

    async def _push_later(self, state: Progress) -> None:
        await self.clock.sleep(BRIEF_STAGE_GRACE)
        self.show(state)

    def _release_held(self) -> None:
        if self._held is not None:
            self._held.cancel()
            self._held = None

    async def close(self) -> float:
        """No more progress edits; returns the seconds until a final edit keeps the EDIT_INTERVAL pace."""
        self._release_held()
        if self.group_id is None or self.display.groups.leave(self):
            await self.updater.close()
        return self.updater.next_send_in()

    async def _send(self, state: Progress) -> None:
        status = JobStatus.QUEUED if state.queued else JobStatus.PROCESSING
        elapsed = (self.clock.now() - self.job.created_at).total_seconds()
        embed = job_embed(self.job, status, progress_line(state.percent, state.stage, elapsed))
        await self.edit_progress(embed=embed, view=running_view(self.job.id))

    async def edit_progress(self, **fields) -> None:
        """A progress edit; StopUpdates when the message can take no more of them."""
        try:
            self.display.edit_sent(self.message.message_id)
            await self.message.edit(**fields)
        except MessageGone as exc:
            raise StopUpdates from exc
        except discord.HTTPException as exc:
            if exc.code != OLD_MESSAGE_EDITS_USED_UP:
                raise
            # Discord allows only a few edits of a message older than an hour: keep them for the
            # result (which falls back to a new message if they are gone) and stop showing progress.
            log.info(
                "job %s: Discord refuses more edits of its hour-old message; progress stops", self.job.id
            )
            raise StopUpdates from exc


class JobDisplay:
    """Tracks the messages of jobs this process shows, and delivers results."""

    def __init__(
        self, bot: discord.Client, services: Services, queue: JobQueue, *, clock: Clock = REAL_CLOCK
    ) -> None:
        self.bot = bot
        self.services = services
        self.results = services.results
        self.ledger = services.deliveries
        self.settings = services.settings
        self.queue = queue
        self.clock = clock
        self.edit_interval = services.settings.edit_interval
        # Edits are spaced a little more than EDIT_INTERVAL so that, even when a busy event loop delays
        # one request more than the next, they still *arrive* at least EDIT_INTERVAL apart.
        self.edit_spacing = self.edit_interval * (1 + ARRIVAL_MARGIN)
        self.refresh = PositionRefresh(monotonic=clock.monotonic)
        self.tracked: dict[int, Tracked] = {}
        self._no_message: set[int] = set()  # waiting jobs with no Discord message (e.g. from the CLI)
        self._delivering: set[int] = set()
        self.groups = GroupMessages(self)  # variants sharing one message
        # Observers of every edit of a job's message this display sends (its id), e.g. the benchmark's
        # pacing check; a new message posted in place of one that can't be edited is not an edit.
        self.edit_observers: list[Callable[[int], None]] = []

    def edit_sent(self, message_id: int) -> None:
        """Tell the observers an edit of `message_id` goes out now."""
        for observe in self.edit_observers:
            observe(message_id)

    def message_for(self, job: JobView) -> JobMessage | None:
        """The job's message from its delivery target, or None when it has none (e.g. a CLI job)."""
        tracked = self.tracked.get(job.id)
        if tracked is not None:
            return tracked.message
        target = job.target
        if target is None:
            return None

        async def token_dead() -> None:
            await self.ledger.token_dead(job.id)

        return JobMessage(
            self.bot,
            requester_id=job.user_id,
            channel_id=target.channel_id,
            message_id=target.message_id,
            interaction_id=target.interaction_id,
            token=target.token,
            now=self.clock.now,
            on_token_dead=token_dead,
            metrics=self.services.metrics,
        )

    def track(self, job: JobView, message: JobMessage) -> Tracked:
        """Start (or keep) showing this job's progress."""
        if job.id not in self.tracked:
            self.tracked[job.id] = Tracked(self, job, message)
        return self.tracked[job.id]

    def show_queued(self, job: JobView) -> None:
        """A job this process just published: its message says Queued at once."""
        message = self.message_for(job)
        if message is not None:
            self.track(job, message).show(Progress(0, "Queued", queued=True))

    async def untrack(self, job_id: int) -> float:
        """Stop progress edits; returns the seconds until a final edit keeps the EDIT_INTERVAL pace."""
        tracked = self.tracked.pop(job_id, None)
        return await tracked.close() if tracked is not None else 0.0

    async def hooks_for(self, job_id: int) -> JobHooks:
        """Progress and delivery for a job a worker of this process just claimed."""
        tracked = self.tracked.get(job_id)  # queued by this process: already known
        if tracked is None:
            job = await store.get(job_id)
            message = self.message_for(job)
            if message is None:
                return await no_hooks(job_id)
            tracked = self.track(job, message)
        tracked.running_here = True

        async def progress(percent: int, stage: str) -> None:
            tracked.progress(percent, stage)

        async def deliver(_result: GenerationResult) -> None:
            await self.deliver(job_id)

        return JobHooks(progress, deliver)

    # ---- delivery --------------------------------------------------------------------------------

    async def deliver(self, job_id: int) -> None:
        """The final edit: the mp4 in the same message, or the failure; then one ping if it took long.

        Editing the message to its final state is idempotent, so two processes may both do it; only the
        one whose `delivered` mark wins sends the notification. A delivery that fails — the message and
        the channel both unreachable — is counted by the ledger, retried later, and given up visibly.
        """
        if job_id in self._delivering:
            return
        self._delivering.add(job_id)
        try:
            with job_log_fields(job_id=job_id):
                await self._deliver(job_id)
        finally:
            self._delivering.discard(job_id)

    async def _deliver(self, job_id: int) -> None:
        job = await retry_db(lambda: store.get(job_id), what="read job", sleep=self.clock.sleep)
        add_job_log_fields(user_id=job.user_id, guild_id=job.guild_id)
        message = self.message_for(job)  # the tracked one, if any: it knows whether the token died
        ready_at = self.clock.monotonic() + await self.untrack(job_id)  # the updater's clock
        if message is None or not job.finished or job.delivered:
            return  # nothing to show, not over yet, or already shown (e.g. by the Cancel button)
        if not await self.ledger.claim(job_id):
            return  # another process is delivering it right now
        if job.group_id is not None:
            try:
                await self.groups.deliver(job, message, ready_at)
            except (MessageGone, discord.HTTPException) as exc:
                await self.ledger.failed(job_id, str(exc))
            return
        limit = (job.target.upload_limit if job.target else None) or DEFAULT_UPLOAD_LIMIT
        result = await self.results.prepare(job_id, limit)
        await self.clock.sleep(max(0.0, ready_at - self.clock.monotonic()))  # the final edit's pace too
        await self.ledger.renew(job_id)  # fitting and pacing took a while: the upload starts now
        try:
            posted_new = await self._final_edit(result, message)
        except (MessageGone, discord.HTTPException) as exc:
            await self.ledger.failed(job_id, str(exc))
            return
        self.services.metrics.uploaded(result.upload_bytes if result.upload is not None else 0)
        if await self.ledger.delivered(job_id, job.completed_at) and result.notify and not posted_new:
            await self.notify(job, message)

    async def _final_edit(self, result: ResultView, message: JobMessage) -> bool:
        """Edit the result in; True when it had to go into a new message instead."""
        job = result.job
        embed = job_embed(job, job.status, result.body)
        view = with_full_quality(finished_view(job.id, extend=self.offers_extend(job)), self.services, result)
        upload = result.upload

        def files() -> list[discord.File]:  # a File is consumed by one request: build it per attempt
            spoiler = bool(job.config.get("spoiler"))  # the server's choice when the job was made
            return [discord.File(upload, filename=f"video_{job.id}.mp4", spoiler=spoiler)] if upload else []

        try:
            try:
                self.edit_sent(message.message_id)
                await message.edit(files, embed=embed, view=view)
            except discord.HTTPException as exc:
                if exc.status != 413 or upload is None:
                    raise
                # Discord refused the size although we checked it: say so instead of uploading.
                note = (
                    f"{result.body}\nDiscord refused the {human_size(result.upload_bytes)} upload;"
                    " the video stays in your /history."
                )
                embed = job_embed(job, job.status, note)
                upload = None
                view = with_full_quality(view, self.services, result, refused=True)
                self.edit_sent(message.message_id)
                await message.edit(embed=embed, attachments=[], view=view)
            return False
        except (MessageGone, discord.HTTPException) as exc:
            log.warning("job %s: editing the result in failed (%s); posting a new message", job.id, exc)
            await message.post_new("your video job finished:", embed=embed, files=files(), view=view)
            await self.ledger.moved(job.id, message.channel_id, message.message_id)
            return True

    async def notify(self, job: JobView, message: JobMessage) -> None:
        """Ping the requester once: the result is in (their job took long)."""
        try:
            await message.notify(f"your video is ready: {message.jump_url}")
        except discord.HTTPException as exc:
            log.warning("job %s: could not notify the requester: %s", job.id, exc)

    async def answer_with_result(self, interaction: discord.Interaction, job_id: int) -> None:
        """Answer a click on the job's message by editing that message to the job's final state
        (a cancelled job has no file to fit, so this is quick)."""
        await self.untrack(job_id)  # no progress edit may follow the final state
        job = await store.get(job_id)
        if job.group_id is not None:  # a variant: the message draws all of them (their files stay)
            embeds, view = await self.groups.draw(job.group_id)
            await interaction.response.edit_message(embeds=embeds, view=view)
            await self.ledger.delivered(job_id, job.completed_at)
            return
        result = await self.results.prepare(job_id, DEFAULT_UPLOAD_LIMIT)
        embed = job_embed(result.job, result.job.status, result.body)
        if interaction.message is not None:
            self.edit_sent(interaction.message.id)
        view = finished_view(job_id, extend=self.offers_extend(result.job))
        await interaction.response.edit_message(embed=embed, view=view)
        await self.ledger.delivered(job_id, job.completed_at)

    def offers_extend(self, job: JobView) -> bool:
        """Whether the finished message shows Extend: the model can extend and the clip has room."""
        return extension_refusal(job, self.services.catalog.get(job.model)) is None

    def deliver_soon(self, job_id: int) -> None:
        """Deliver in the background (e.g. after a Cancel: the click is answered first)."""
        task = asyncio.create_task(self.deliver(job_id), name=f"deliver-{job_id}")
        task.add_done_callback(_log_delivery_error)

    # ---- the display loops ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep queue positions current every EDIT_INTERVAL and deliver what nobody delivered (both supervised)."""
        await asyncio.gather(
            every(
                "queue positions", max(self.edit_interval, 0.5), self.show_positions, sleep=self.clock.sleep
            ),
            every("delivery sweep", self.ledger.redeliver_after, self.deliver_missed, sleep=self.clock.sleep),
        )

    async def show_positions(self) -> None:
        """Push `Queued · position p of n` to waiting jobs' messages (see core.jobs.positions for the pace)."""
        positions = await self.queue.positions()
        due = self.refresh.due(positions)
        unseen = [job_id for job_id in due if job_id not in self.tracked and job_id not in self._no_message]
        for job in await store.views(unseen) if unseen else []:
            message = self.message_for(job)
            if message is None:
                self._no_message.add(job.id)
            else:
                self.track(job, message)
        for job_id, (place, total) in due.items():
            tracked = self.tracked.get(job_id)
            if tracked is not None and not tracked.running_here:  # a place read just before it started
                tracked.show(Progress(0, f"Queued · position {place} of {total}", queued=True))
        await self._forget_left_line(positions)

    async def _forget_left_line(self, positions: dict[int, tuple[int, int]]) -> None:
        """Stop tracking jobs that left the line and that no worker here runs (another process does)."""
        now = self.clock.monotonic()
        self._no_message &= positions.keys()
        for job_id, tracked in list(self.tracked.items()):
            if job_id in positions or tracked.running_here:
                tracked.waiting_seen_at = now
            elif now - tracked.waiting_seen_at > FORGET_AFTER:
                await self.untrack(job_id)

    async def deliver_missed(self) -> None:
        """Results that finished while the bot was down or Discord unreachable; one failure never stops the rest."""
        for job_id in await self.ledger.due():
            try:
                await self.deliver(job_id)
            except Exception as exc:  # e.g. the database blinked while preparing this one
                log.exception("job %s: delivering a missed result failed", job_id)
                try:
                    await self.ledger.failed(job_id, repr(exc))
                except Exception:
                    log.exception("job %s: recording the failed delivery failed", job_id)


def _log_delivery_error(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background delivery failed", exc_info=task.exception())
