"""Extend, Remix and Animate: a modal, then a new job through the same start as /video.

Restart-proof: a modal's submit is handled from its custom id (`video:extend-modal:<job>`, ...) by
`on_interaction`, never by the Modal object discord.py keeps in memory, so a modal opened before a
restart still works after it. Each new job is charged to whoever submits, like Regenerate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.embeds import notice_embed
from cogs.ui.errors import report_unexpected, send_ephemeral
from cogs.ui.modals import modal_values, prompt_modal, remix_modal
from cogs.ui.permissions import requester_of
from cogs.video import VideoCog, refusal_message
from core.errors import ErrorCategory
from core.jobs import store
from core.jobs.intake import Refusal
from core.services import Services
from core.validation import IMAGE_TYPES, MAX_IMAGE_BYTES, GenerationParams

log = logging.getLogger(__name__)

MODAL_ID = re.compile(r"video:(?P<action>extend|remix|animate)-modal:(?P<a>\d+)(?::(?P<b>\d+))?")
IMAGE_READ_TIMEOUT = 20.0
REMEMBERED_IMAGES = 1000  # Animate modals open at once whose image this process keeps (others re-read it)


class CreativeCog(commands.Cog, name="Creative"):
    """The Extend and Remix buttons' modals and the Animate message command."""

    def __init__(self, bot: commands.Bot, services: Services, video: VideoCog) -> None:
        self.bot = bot
        self.services = services
        self.actions = services.actions
        self.video = video  # the Video cog: start_job answers Discord in time and publishes
        self._menu = app_commands.ContextMenu(name="Animate", callback=self.animate)
        self._menu.allowed_contexts = app_commands.AppCommandContext(guild=True, dm_channel=True)
        self._images: dict[str, discord.Attachment] = {}  # modal custom id -> the image (this process)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)

    # ---- buttons open modals (reached through bot.creative_buttons, see cogs/ui/buttons.py) ----------

    async def on_extend_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Extend: a modal with the job's prompt, to steer the continuation."""
        job = await store.find(job_id)
        if job is None:
            await self._no_job(interaction, job_id)
            return
        await interaction.response.send_modal(
            prompt_modal(f"Extend video #{job_id}", f"video:extend-modal:{job_id}", job.prompt)
        )

    async def on_remix_click(self, interaction: discord.Interaction, job_id: int) -> None:
        """Remix: a modal with the job's prompt, negative prompt, duration and seed."""
        job = await store.find(job_id)
        if job is None:
            await self._no_job(interaction, job_id)
            return
        spec = self.services.catalog.get(job.model)
        await interaction.response.send_modal(
            remix_modal(
                job, negative=spec is not None and spec.negative_prompt, seed=spec is not None and spec.seed
            )
        )

    async def _no_job(self, interaction: discord.Interaction, job_id: int) -> None:
        await send_ephemeral(interaction, notice_embed("No such job", f"Job #{job_id} does not exist."))

    # ---- Animate (message command) ------------------------------------------------------------------

    async def animate(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Animate: any message with an image attachment; the modal asks for the prompt (and a model)."""
        image = next((a for a in message.attachments if _is_image(a)), None)
        if image is None:
            await send_ephemeral(
                interaction,
                notice_embed("Can't animate that", "That message has no PNG, JPEG or WebP image attached."),
            )
            return
        custom_id = f"video:animate-modal:{message.channel.id}:{message.id}"
        self._images[custom_id] = image
        while len(self._images) > REMEMBERED_IMAGES:  # modals never submitted: forget the oldest
            self._images.pop(next(iter(self._images)))
        await interaction.response.send_modal(prompt_modal("Animate this image", custom_id, "", model=True))

    # ---- modal submits ------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        custom_id = (interaction.data or {}).get("custom_id", "")
        match = MODAL_ID.fullmatch(custom_id)
        if match is None:
            return
        try:
            values = modal_values(interaction.data)
            if match["action"] == "extend":
                await self._submit_extend(interaction, int(match["a"]), values)
            elif match["action"] == "remix":
                await self._submit_remix(interaction, int(match["a"]), values)
            else:
                await self._submit_animate(interaction, custom_id, int(match["a"]), int(match["b"]), values)
        except Exception as exc:
            await report_unexpected(interaction, exc, f"modal {custom_id}")

    async def _submit_extend(
        self, interaction: discord.Interaction, job_id: int, values: dict[str, str]
    ) -> None:
        requester = requester_of(interaction)
        prompt = values.get("prompt", "")
        await self.video.start_job(interaction, lambda: self.actions.extend(job_id, requester, prompt))

    async def _submit_remix(
        self, interaction: discord.Interaction, job_id: int, values: dict[str, str]
    ) -> None:
        numbers = {}
        for field in ("duration", "seed"):
            text = values.get(field, "").strip()
            if text and not text.isdigit():
                await self.video.refuse(interaction, f"{field}: '{text}' is not a whole number")
                return
            numbers[field] = int(text) if text else None
        requester = requester_of(interaction)
        await self.video.start_job(
            interaction,
            lambda: self.actions.remix(
                job_id,
                requester,
                prompt=values.get("prompt", ""),
                negative_prompt=values.get("negative_prompt") or None,
                duration=numbers["duration"],
                seed=numbers["seed"],
            ),
        )

    async def _submit_animate(
        self,
        interaction: discord.Interaction,
        custom_id: str,
        channel_id: int,
        message_id: int,
        values: dict[str, str],
    ) -> None:
        image = self._images.pop(custom_id, None) or await self._image_of(channel_id, message_id)
        if image is None:
            await self.video.refuse(
                interaction, "image: that message's image is gone; use Animate on it again"
            )
            return
        if image.size > MAX_IMAGE_BYTES:
            await self.video.refuse(
                interaction, f"image: more than the {MAX_IMAGE_BYTES // 2**20} MiB allowed"
            )
            return
        params = GenerationParams(
            prompt=values.get("prompt", ""),
            model=values.get("model") or None,
            image=b"",
            image_mime_type=(image.content_type or "").split(";")[0],
        )
        requester = requester_of(interaction)
        refusal = await self.services.intake.check_for(params, requester)
        if refusal is not None:
            await self.video.refuse(interaction, refusal_message(refusal))
            return

        async def admit() -> Any:
            try:
                data = await asyncio.wait_for(image.read(), IMAGE_READ_TIMEOUT)
            except (discord.HTTPException, TimeoutError):
                return Refusal(
                    ErrorCategory.INVALID_REQUEST, "image: could not download the attachment; try again"
                )
            return await self.services.intake.admit(dataclasses.replace(params, image=data), requester)

        await self.video.start_job(interaction, admit)

    async def _image_of(self, channel_id: int, message_id: int) -> discord.Attachment | None:
        """After a restart: the message's image, read again from Discord."""
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            message = await channel.fetch_message(message_id)  # type: ignore[union-attr]
        except discord.HTTPException:
            return None
        return next((a for a in message.attachments if _is_image(a)), None)


def _is_image(attachment: discord.Attachment) -> bool:
    return (attachment.content_type or "").split(";")[0] in IMAGE_TYPES
