"""/video: refuse bad requests ephemerally, else defer and keep ONE message up to date until the mp4 is in it.

The order of a job's start is core's (`Intake.admit` → `Intake.publish`); this cog only decides how to
answer Discord in time: a refusal known within ADMIT_WAIT stays ephemeral; otherwise the public
"thinking…" reply becomes the job's message. If that reply can't be made, the admitted job is withdrawn
(cancelled and refunded), never left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from cogs.presets import preset_choices
from cogs.ui.display import DEFAULT_UPLOAD_LIMIT, JobDisplay
from cogs.ui.embeds import info_embed, notice_embed, safe_text
from cogs.ui.errors import answer_budget, send_ephemeral, within_answer_time
from cogs.ui.permissions import actor_of, requester_of
from core.jobs.intake import Admitted, Refusal
from core.jobs.views import DeliveryTarget, JobStatus, Requester
from core.media.files import human_size
from core.presenter import refusal_text
from core.services import Services
from core.validation import MAX_IMAGE_BYTES, GenerationParams

log = logging.getLogger(__name__)

ASPECT_NAMES = {
    "16:9": "landscape",
    "9:16": "portrait",
    "1:1": "square",
    "4:3": "classic landscape",
    "3:4": "classic portrait",
    "21:9": "ultrawide",
}
ADMIT_WAIT = 1.5  # seconds the database may take before we defer anyway (Discord allows 3)
IMAGE_READ_TIMEOUT = 20.0


def refusal_message(refusal: Refusal) -> str:
    """What a refused user reads."""
    return refusal_text(refusal.category, refusal.detail, lambda s: safe_text(s, 300))


def _mime(attachment: discord.Attachment | None) -> str | None:
    return (attachment.content_type or "").split(";")[0] if attachment is not None else None


class VideoCog(commands.Cog, name="Video"):
    """The /video command and the buttons on its messages."""

    def __init__(self, bot: commands.Bot, services: Services, display: JobDisplay) -> None:
        self.services = services
        self.settings = services.settings
        self.intake = services.intake
        self.actions = services.actions
        self.display = display

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
        preset: app_commands.Range[str, 1, 32] | None = None,
        last_frame: discord.Attachment | None = None,
        loop: bool | None = None,
        audio: bool | None = None,
        variants: app_commands.Range[int, 1, 4] | None = None,
    ) -> None:
        """Generate a video from a text prompt.

        Args:
            prompt: What the video should show.
            model: Which model to use (prices and limits are shown while you type).
            duration: Length in seconds; the allowed values depend on the model.
            aspect_ratio: The frame's shape, e.g. 16:9 (landscape) or 9:16 (portrait); choices depend on the model.
            resolution: e.g. 720p; higher costs more and may need a longer duration.
            negative_prompt: What to avoid, for models that take it.
            seed: A number to make results repeatable, for models that take it.
            image: A first frame for models that animate an image (PNG, JPEG or WebP).
            preset: One of your /presets (else your default preset); options you give here win.
            last_frame: A closing frame, for models that take one (needs image too).
            loop: End on the first frame (the image), for models that take a last frame.
            audio: Sound on or off, for models where sound is optional (silence may cost less).
            variants: Make 1-4 videos at once (each charged, each its own seed), shown in one message.
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
            image_mime_type=_mime(image),
            last_frame=b"" if last_frame is not None else None,
            last_frame_mime_type=_mime(last_frame),
            loop=bool(loop),
            audio=audio,
            variants=variants or 1,
        )
        for name, attachment in (("image", image), ("last_frame", last_frame)):
            if attachment is not None and attachment.size > MAX_IMAGE_BYTES:
                await self.refuse(
                    interaction,
                    f"{name}: {human_size(attachment.size)} is more than the {human_size(MAX_IMAGE_BYTES)} allowed",
                )
                return
        requester = requester_of(interaction)
        if image is None and last_frame is None:  # the preset is read and applied within the answer time
            await self.start_job(interaction, lambda: self.services.presets.admit(params, requester, preset))
            return
        prepared = await self._with_image(interaction, params, (image, last_frame), requester, preset)
        if prepared is None:
            return
        params, message_id = prepared
        await self.start_job(interaction, lambda: self.intake.admit(params, requester), message_id=message_id)

    @video.autocomplete("preset")
    async def _preset_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await preset_choices(self.services, interaction.user.id, current)

    @video.autocomplete("model")
    async def _model_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        allowed = (await self.services.policy.of(interaction.guild_id)).server.allowed_models
        choices = []
        for spec in self.intake.available_models():
            if allowed is not None and spec.name not in allowed:
                continue  # the server does not allow it
            if current.lower() in spec.name.lower() or current.lower() in spec.label.lower():
                label = f"{spec.name} — {spec.describe_limits()}"
                choices.append(app_commands.Choice(name=label[:100], value=spec.name))
        return choices[:25]

    @video.autocomplete("aspect_ratio")
    async def _aspect_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Only the chosen model's aspect ratios (validation names the allowed ones for anything else)."""
        spec = await self._spec_in(interaction)
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=f"{a} · {ASPECT_NAMES[a]}" if a in ASPECT_NAMES else a, value=a)
            for a in spec.aspect_ratios
            if typed in a or typed in ASPECT_NAMES.get(a, "")
        ][:25]

    @video.autocomplete("duration")
    async def _duration_choices(
        self, interaction: discord.Interaction, current: object
    ) -> list[app_commands.Choice[int]]:
        """The chosen model's lengths, each with its estimated cost at the chosen resolution."""
        spec = await self._spec_in(interaction)
        resolution = getattr(interaction.namespace, "resolution", None)
        if resolution not in spec.resolutions:
            resolution = spec.default_resolution
        typed = str(current or "").strip()
        return [
            app_commands.Choice(name=f"{d} s · est. ${spec.estimate_cost(d, resolution):.2f}", value=d)
            for d in spec.durations
            if str(d).startswith(typed)
        ][:25]

    @video.autocomplete("resolution")
    async def _resolution_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        spec = await self._spec_in(interaction)
        return [
            app_commands.Choice(name=f"{r} · ${spec.price_per_second(r):.3f}/s", value=r)
            for r in spec.resolutions
            if current.lower() in r
        ][:25]

    async def _spec_in(self, interaction: discord.Interaction):
        """The model being asked for: the one typed, else the channel's or server's default, else the bot's."""
        policy = self.services.policy
        requester = requester_of(interaction)
        default = policy.effective(await policy.of(interaction.guild_id), requester).limits.default_model
        name = getattr(interaction.namespace, "model", None) or default or self.settings.default_model
        return self.services.catalog.get(name) or self.services.catalog.get(self.settings.default_model)

    # ---- starting a job ----------------------------------------------------------------------

    async def _with_image(
        self,
        interaction: discord.Interaction,
        params: GenerationParams,
        images: tuple[discord.Attachment | None, discord.Attachment | None],
        requester: Requester,
        preset: str | None,
    ) -> tuple[GenerationParams, int | None] | None:
        """Apply the preset and refuse a request that can't work before downloading its image; the
        download may take longer than Discord's 3 s, so the reply is deferred first and a refusal then
        takes its place. The parameters (preset applied) with the image, and the id of the deferred reply."""

        async def resolve() -> GenerationParams | Refusal:
            resolved = await self.services.presets.resolve(params, requester, preset)
            if isinstance(resolved, Refusal):
                return resolved
            return await self.intake.check_for(resolved, requester) or resolved

        resolved = await within_answer_time(interaction, resolve(), thinking=True)  # deferred if slow
        refusal = resolved if isinstance(resolved, Refusal) else None
        if refusal is not None:
            refuse = self._refuse_in_place if interaction.response.is_done() else self.refuse
            await refuse(interaction, refusal_message(refusal))
            return None
        params = resolved
        deferred = None if interaction.response.is_done() else await interaction.response.defer(thinking=True)
        read = {}
        for name, attachment in zip(("image", "last_frame"), images, strict=True):
            if attachment is None:
                continue
            try:
                read[name] = await asyncio.wait_for(attachment.read(), IMAGE_READ_TIMEOUT)
            except (discord.HTTPException, TimeoutError):
                await self._refuse_in_place(
                    interaction, f"{name}: could not download the attachment; try again"
                )
                return None
        return dataclasses.replace(params, **read), getattr(deferred, "message_id", None)

    async def start_job(
        self,
        interaction: discord.Interaction,
        admit: Callable[[], Awaitable[Admitted | Refusal]],
        *,
        message_id: int | None = None,
    ) -> None:
        """Admit, answer Discord in time, publish — or refuse, ephemerally whenever Discord still allows it.

        `message_id` is the reply's id when the caller already deferred it."""
        admission = asyncio.create_task(admit())
        try:
            if not interaction.response.is_done():
                done, _ = await asyncio.wait({admission}, timeout=answer_budget(interaction, ADMIT_WAIT))
                if admission in done and isinstance(admission.result(), Refusal):
                    await self.refuse(interaction, refusal_message(admission.result()))
                    return
                deferred = await interaction.response.defer(thinking=True)  # becomes the job's public message
                message_id = getattr(deferred, "message_id", None)
            outcome = await admission
        except BaseException:
            await asyncio.shield(self._withdraw_when_admitted(admission))
            await asyncio.shield(self._take_back_reply(interaction))
            raise
        if isinstance(outcome, Refusal):
            await self._refuse_in_place(interaction, refusal_message(outcome))
            return
        ids = [job.id for job in outcome.jobs]  # the variants share the one message
        try:
            target = await self._target(interaction, message_id)
            await self.intake.publish(ids, target)
        except BaseException:
            for job_id in ids:
                await asyncio.shield(self.intake.withdraw(job_id, "its Discord message could not be made"))
            await asyncio.shield(self._take_back_reply(interaction))
            raise
        for job in outcome.jobs:
            self.display.show_queued(dataclasses.replace(job, status=JobStatus.QUEUED, target=target))

    @staticmethod
    async def _take_back_reply(interaction: discord.Interaction) -> None:
        """No job came of it: the public "thinking…" reply goes (the error is then told privately), so a
        failure never leaves a public trace. Best effort: Discord may have refused the reply already."""
        if interaction.response.is_done():
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()

    async def _withdraw_when_admitted(self, admission: asyncio.Task) -> None:
        """Discord failed us before the job had a message: once admission decides, undo an admission."""
        try:
            outcome = await admission
        except Exception:
            return  # admission itself failed: its transaction left nothing behind
        if isinstance(outcome, Admitted):
            for job in outcome.jobs:
                try:
                    await self.intake.withdraw(job.id, "Discord did not accept the reply")
                except Exception:  # the stale-pending sweep withdraws it later
                    log.exception("job %s: withdrawing it failed", job.id)

    @staticmethod
    async def _target(interaction: discord.Interaction, message_id: int | None) -> DeliveryTarget:
        if message_id is None:
            message_id = (await interaction.original_response()).id
        limit = (
            interaction.filesize_limit
            or getattr(interaction.guild, "filesize_limit", None)
            or DEFAULT_UPLOAD_LIMIT
        )
        return DeliveryTarget(interaction.channel_id, message_id, interaction.id, interaction.token, limit)

    async def refuse(self, interaction: discord.Interaction, text: str) -> None:
        """An ephemeral refusal (nothing was started)."""
        await send_ephemeral(interaction, notice_embed("Can't make that video", text))

    async def _refuse_in_place(self, interaction: discord.Interaction, text: str) -> None:
        """A refusal that came after the public defer: the "thinking…" reply is deleted and the refusal
        sent privately, so even a slow decision never shows anyone else a refusal. Should Discord not
        delete it, the reply itself becomes the refusal."""
        embed = notice_embed("Can't make that video", text)
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            await interaction.edit_original_response(embed=embed, view=None)
            return
        await interaction.followup.send(embed=embed, ephemeral=True)

    # ---- buttons (reached through bot.job_buttons, see cogs/ui/buttons.py) ---------------------------

    async def on_cancel_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Cancel (requester or admin). Core's part is a database update (the provider is told in the
        background); if even that is slow, the click is answered first and the message follows."""
        actor = actor_of(interaction, self.settings.admin_user_ids)
        outcome = await within_answer_time(interaction, self.actions.cancel(job_id, actor))
        if not outcome.ok:
            await self.refuse(interaction, outcome.refusal)
        elif interaction.response.is_done():
            self.display.deliver_soon(job_id)
        else:
            await self.display.answer_with_result(interaction, job_id)

    async def on_regenerate_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Regenerate: the same request again, charged to whoever clicks."""
        requester = requester_of(interaction)
        await self.start_job(interaction, lambda: self.actions.regenerate(job_id, requester))

    async def on_delete_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Delete: requester, or someone who may manage messages here."""
        outcome = await self.actions.delete(job_id, actor_of(interaction, self.settings.admin_user_ids))
        if not outcome.ok:
            await self.refuse(interaction, outcome.refusal)
            return
        await interaction.response.defer()
        if interaction.message is not None:
            with contextlib.suppress(discord.NotFound):
                await interaction.message.delete()

    async def on_info_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Info: the job's parameters, the seed it used, cost, timings and a `/video` line — privately."""
        info = await self.actions.info(job_id)
        if info is None:
            await send_ephemeral(interaction, notice_embed("No such job", f"Job #{job_id} does not exist."))
            return
        await send_ephemeral(interaction, info_embed(info))
