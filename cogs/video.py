"""/video: refuse bad requests ephemerally, else defer and keep ONE message up to date until the mp4 is in it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.buttons import finished_view
from cogs.ui.display import DEFAULT_UPLOAD_LIMIT, JobDisplay, Progress
from cogs.ui.embeds import job_embed, notice_embed, safe_text
from cogs.ui.permissions import is_admin
from core.accounts.admin import BotPaused, ensure_accepting, mark_deleted
from core.errors import ErrorCategory, GenerationError
from core.jobs.generator import Requester
from core.jobs.queue import JobQueue
from core.jobs.worker import Worker
from core.media.files import human_size
from core.presenter import failure_text
from core.services import Services
from core.validation import MAX_IMAGE_BYTES, GenerationParams
from models import Generation

log = logging.getLogger(__name__)

ADMIT_WAIT = 1.5  # seconds the database may take before we defer anyway (Discord allows 3)
IMAGE_READ_TIMEOUT = 20.0


class VideoCog(commands.Cog, name="Video"):
    """The /video command and the buttons on its messages."""

    def __init__(
        self,
        bot: commands.Bot,
        services: Services,
        queue: JobQueue,
        display: JobDisplay,
        worker: Worker | None,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.generator = services.generator
        self.queue = queue
        self.display = display
        self.worker = worker

    # ---- /video ------------------------------------------------------------------------------

    @app_commands.command(name="video")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def video(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 2000],
        model: str | None = None,
        duration: app_commands.Range[int, 1, 60] | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        negative_prompt: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 4294967295] | None = None,
        image: discord.Attachment | None = None,
    ) -> None:
        """Generate a video from a text prompt.

        Args:
            prompt: What the video should show.
            model: Which model to use (prices and limits are shown while you type).
            duration: Length in seconds; the allowed values depend on the model.
            aspect_ratio: 16:9 (landscape), 9:16 (portrait) or 1:1 where the model offers it.
            resolution: e.g. 720p; higher costs more and may need a longer duration.
            negative_prompt: What to avoid, for models that take it.
            seed: A number to make results repeatable, for models that take it.
            image: A first frame for models that animate an image (PNG, JPEG or WebP).
        """
        params = GenerationParams(
            prompt=prompt,
            model=model,
            duration=duration,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            negative_prompt=negative_prompt,
            seed=seed,
            image=b"" if image is not None else None,
            image_mime_type=(image.content_type or "").split(";")[0] if image is not None else None,
        )
        if image is not None and image.size > MAX_IMAGE_BYTES:
            await self._refuse(
                interaction,
                f"image: {human_size(image.size)} is more than the {human_size(MAX_IMAGE_BYTES)} allowed",
            )
            return
        await self.start_job(interaction, params, attachment=image)

    @video.autocomplete("model")
    async def _model_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = []
        for spec in self.generator.available_models():
            if current.lower() in spec.name.lower() or current.lower() in spec.label.lower():
                label = f"{spec.name} — {spec.describe_limits()}"
                choices.append(app_commands.Choice(name=label[:100], value=spec.name))
        return choices[:25]

    @video.autocomplete("aspect_ratio")
    async def _aspect_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        spec = self._spec_in(interaction)
        return [app_commands.Choice(name=a, value=a) for a in spec.aspect_ratios if current in a][:25]

    @video.autocomplete("resolution")
    async def _resolution_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        spec = self._spec_in(interaction)
        return [
            app_commands.Choice(name=f"{r} · ${spec.price_per_second(r):.3f}/s", value=r)
            for r in spec.resolutions
            if current.lower() in r
        ][:25]

    def _spec_in(self, interaction: discord.Interaction):
        name = getattr(interaction.namespace, "model", None) or self.settings.default_model
        return self.services.catalog.get(name) or self.services.catalog.get(self.settings.default_model)

    # ---- starting a job ----------------------------------------------------------------------

    async def start_job(
        self,
        interaction: discord.Interaction,
        params: GenerationParams,
        attachment: discord.Attachment | None = None,
    ) -> None:
        """Refuse ephemerally before any defer, or defer publicly within 3 s and run the job."""
        try:
            self.generator.validate(params)
        except GenerationError as exc:
            await self._refuse(interaction, _refusal_text(exc))
            return
        requester = Requester(
            user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id
        )
        deferred = None
        if attachment is not None:
            # Reading the image may take longer than Discord's 3 s: defer first, refuse in place.
            deferred = await interaction.response.defer(thinking=True)
            try:
                image = await asyncio.wait_for(attachment.read(), IMAGE_READ_TIMEOUT)
            except (discord.HTTPException, TimeoutError):
                await self._refuse_in_place(
                    interaction, "image: could not download the attachment; try again"
                )
                return
            params = GenerationParams(**{**params.__dict__, "image": image})
        admit = asyncio.create_task(self._admit(params, requester))
        if not interaction.response.is_done():
            done, _ = await asyncio.wait({admit}, timeout=ADMIT_WAIT)
            if admit in done and isinstance(admit.exception(), GenerationError | BotPaused):
                await self._refuse(interaction, _refusal_text(admit.exception()))
                return
            if admit in done:
                admit.result()  # an unexpected error: re-raised for the global error handler
            deferred = await interaction.response.defer(thinking=True)
        try:
            gen = await admit
        except (GenerationError, BotPaused) as exc:
            await self._refuse_in_place(interaction, _refusal_text(exc))
            return
        try:
            await self._queue_with_message(interaction, gen, getattr(deferred, "message_id", None))
        except BaseException:
            await self.generator.cancel(gen.id)  # nothing can show this job: never run it, refund it
            raise

    async def _queue_with_message(
        self, interaction: discord.Interaction, gen: Generation, message_id: int | None
    ) -> None:
        """Remember the deferred message on the job, show it, and put the job in the queue."""
        if message_id is None:
            message_id = (await interaction.original_response()).id
        channel_id = interaction.channel_id
        limit = (
            interaction.filesize_limit
            or getattr(interaction.guild, "filesize_limit", None)
            or DEFAULT_UPLOAD_LIMIT
        )
        await self.generator.attach_message(
            gen.id,
            channel_id=channel_id,
            message_id=message_id,
            interaction_id=interaction.id,
            token=interaction.token,
            upload_limit=limit,
        )
        gen.channel_id, gen.message_id, gen.upload_limit = channel_id, message_id, limit  # as just stored
        gen.interaction_id, gen.interaction_token = interaction.id, interaction.token
        message = self.display.message_for(gen)
        assert message is not None, "the job has its message ids now"
        self.display.track(gen, message).updater.push(Progress(0, "Queued", queued=True))
        await self.queue.enqueue(gen.id)
        if self.worker is not None:
            self.worker.wake()

    async def _admit(self, params: GenerationParams, requester: Requester) -> Generation:
        await ensure_accepting()
        return await self.generator.create_job(
            params, requester, max_waiting=self.queue.policy.user_max_queued
        )

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        embed = notice_embed("Can't make that video", text)
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)

    async def _refuse_in_place(self, interaction: discord.Interaction, text: str) -> None:
        """After a public defer the message can't become ephemeral: it becomes the refusal."""
        await interaction.edit_original_response(embed=notice_embed("Can't make that video", text), view=None)

    # ---- buttons -----------------------------------------------------------------------------------

    async def on_cancel_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Cancel: requester or admin."""
        gen = await self.generator.find_job(job_id)
        if gen is None:
            await self._refuse(interaction, f"Job #{job_id} does not exist.")
            return
        if interaction.user.id != gen.user_id and not is_admin(interaction, self.settings.admin_user_ids):
            await self._refuse(
                interaction, "Only the person who asked for this video (or an admin) can cancel it."
            )
            return
        if not await self.generator.cancel(job_id):
            await self._refuse(interaction, f"Job #{job_id} has already finished.")
            return
        await self.display.untrack(job_id)
        gen = await self.generator.get_job(job_id)
        log.info("job %s cancelled by user %s", job_id, interaction.user.id)
        body = failure_text(gen.error_type, gen.refunded)
        await interaction.response.edit_message(
            embed=job_embed(gen, gen.status, body, demo=gen.provider == "demo"), view=finished_view(job_id)
        )
        await self.generator.mark_delivered(job_id)

    async def on_regenerate_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Regenerate: the same request again, charged to whoever clicks."""
        gen = await self.generator.find_job(job_id)
        if gen is None:
            await self._refuse(interaction, f"Job #{job_id} does not exist.")
            return
        try:
            params = self.generator.params_of(gen, new_seed=random.randrange(2**32))
        except GenerationError as exc:
            await self._refuse(interaction, exc.detail)
            return
        await self.start_job(interaction, params)

    async def on_delete_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Delete: requester, or someone who may manage messages here."""
        gen = await self.generator.find_job(job_id)
        allowed = gen is not None and (
            interaction.user.id == gen.user_id
            or interaction.permissions.manage_messages
            or is_admin(interaction, self.settings.admin_user_ids)
        )
        if not allowed:
            await self._refuse(
                interaction, "Only the person who asked for this video, or a moderator, can delete it."
            )
            return
        await interaction.response.defer()
        if interaction.message is not None:
            with contextlib.suppress(discord.NotFound):
                await interaction.message.delete()
        await mark_deleted(job_id)
        log.info("job %s: message deleted by user %s", job_id, interaction.user.id)


def _refusal_text(exc: BaseException | None) -> str:
    """What a refused user reads: the exact field problem, or the category's advice with its reason."""
    if isinstance(exc, GenerationError):
        if exc.category is ErrorCategory.INVALID_REQUEST:
            return exc.detail
        if exc.category in (
            ErrorCategory.USER_QUOTA_EXCEEDED,
            ErrorCategory.BLOCKED,
            ErrorCategory.SPEND_CAP_REACHED,
        ):
            return f"{exc.user_message}\n({safe_text(exc.detail, 300)})"
        return exc.user_message
    return str(exc)
