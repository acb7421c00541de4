"""/presets: save, list, delete and pick the default of your /video presets. Every reply is ephemeral."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.embeds import notice_embed, safe_text
from cogs.ui.errors import send_ephemeral, within_answer_time
from core.accounts.presets import MAX_PRESETS, PresetView
from core.errors import GenerationError
from core.presenter import refusal_text, truncate
from core.services import Services

T = TypeVar("T")


def _line(preset: PresetView) -> str:
    return safe_text(preset.summary(), 900) or "—"


async def preset_choices(services: Services, user_id: int, current: str) -> list[app_commands.Choice[str]]:
    """The user's presets whose name contains what they typed (for `name` here and /video's `preset`)."""
    typed = current.strip().lower()
    return [
        app_commands.Choice(
            name=truncate(f"{p.name}{' (default)' if p.is_default else ''} — {p.summary()}", 100),
            value=p.name,
        )
        for p in await services.presets.presets(user_id)
        if typed in p.name.lower()
    ][:25]


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)  # as /video
class PresetsCog(commands.GroupCog, group_name="presets", group_description="Your saved /video settings"):
    """/presets save, list, delete and default."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.services = services
        self.presets = services.presets
        super().__init__()

    async def _run(self, interaction: discord.Interaction, work: Awaitable[T], title: str) -> T | None:
        """Await core (deferring ephemerally if it is slow); a refusal is told to the user and gives None."""
        try:
            return await within_answer_time(interaction, work, ephemeral=True)
        except GenerationError as exc:
            text = safe_text(refusal_text(exc.category, exc.detail), 1500)
            await send_ephemeral(interaction, notice_embed(title, text))
            return None

    async def _reply(self, interaction: discord.Interaction, title: str, text: str) -> None:
        await send_ephemeral(interaction, notice_embed(title, text, discord.Colour.blurple()))

    @app_commands.command(name="save")
    async def save(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 32],
        model: str | None = None,
        duration: app_commands.Range[int, 1, 60] | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        negative_prompt: app_commands.Range[str, 1, 500] | None = None,
        suffix: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        """Save a preset of /video options (saving an existing name replaces it).

        Args:
            name: The preset's name: 1-32 letters, digits, - or _ (case does not matter).
            model: The model it uses (otherwise the bot's default model).
            duration: Length in seconds; the allowed values depend on the model.
            aspect_ratio: The frame's shape, e.g. 16:9 or 9:16.
            resolution: e.g. 720p.
            negative_prompt: What to avoid, for models that take it.
            suffix: Text added to the end of every prompt that uses this preset.
        """
        saved = await self._run(
            interaction,
            self.presets.save(
                interaction.user.id,
                name,
                model=model,
                duration=duration,
                aspect_ratio=aspect_ratio,
                resolution=resolution,
                negative_prompt=negative_prompt,
                suffix=suffix,
            ),
            "Can't save that preset",
        )
        if saved is not None:
            p = saved.preset
            verb = "replaced" if saved.replaced else "saved"
            note = " It is your default." if p.is_default else ""
            await self._reply(
                interaction,
                f"Preset {verb}",
                f"**{safe_text(p.name, 40)}**: {_line(p)}\nUse it with `/video preset:{p.name}`.{note}",
            )

    @app_commands.command(name="list")
    async def list_presets(self, interaction: discord.Interaction) -> None:
        """Show your presets and which one is your default."""
        presets = await self._run(
            interaction, self.presets.presets(interaction.user.id), "Can't list presets"
        )
        if presets is None:
            return
        if not presets:
            await self._reply(interaction, "Your presets", "None yet. Save one with `/presets save`.")
            return
        lines = [
            f"**{safe_text(p.name, 40)}**{' ⭐ default' if p.is_default else ''} — {_line(p)}"
            for p in presets
        ]
        footer = f"{len(presets)} of {MAX_PRESETS}."
        if not any(p.is_default for p in presets):
            footer += " No default: `/presets default name:…` picks one."
        await self._reply(interaction, "Your presets", truncate("\n".join(lines), 3800) + f"\n\n{footer}")

    @app_commands.command(name="delete")
    async def delete(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 32]) -> None:
        """Delete one of your presets.

        Args:
            name: The preset to delete.
        """
        gone = await self._run(
            interaction, self.presets.delete(interaction.user.id, name), "Can't delete that"
        )
        if gone is not None:
            note = " It was your default: you now have none." if gone.is_default else ""
            await self._reply(interaction, "Preset deleted", f"**{safe_text(gone.name, 40)}** is gone.{note}")

    @app_commands.command(name="default")
    async def default(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 32] | None = None
    ) -> None:
        """Pick the preset /video uses when you name none; without a name, clear it.

        Args:
            name: The preset to use by default (leave it out to have no default).
        """
        work = self.presets.set_default(interaction.user.id, name)
        if (chosen := await self._run(interaction, work, "Can't set the default")) is not None:
            text = f"/video now uses **{safe_text(chosen.name, 40)}** unless you name another preset."
            await self._reply(interaction, "Default preset set", text)
        elif name is None:
            await self._reply(
                interaction, "Default preset cleared", "/video uses no preset unless you name one."
            )

    @delete.autocomplete("name")
    @default.autocomplete("name")
    async def _name_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await preset_choices(self.services, interaction.user.id, current)

    @save.autocomplete("model")
    async def _model_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=truncate(f"{m.name} — {m.describe_limits()}", 100), value=m.name)
            for m in self.services.intake.available_models()
            if typed in m.name.lower() or typed in m.label.lower()
        ][:25]

    @save.autocomplete("aspect_ratio")
    async def _aspect_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        spec = self._spec_in(interaction)
        return [app_commands.Choice(name=a, value=a) for a in spec.aspect_ratios if current.strip() in a][:25]

    @save.autocomplete("resolution")
    async def _resolution_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        spec = self._spec_in(interaction)
        return [
            app_commands.Choice(name=r, value=r) for r in spec.resolutions if current.strip().lower() in r
        ][:25]

    def _spec_in(self, interaction: discord.Interaction):
        catalog, default = self.services.catalog, self.services.settings.default_model
        return catalog.get(getattr(interaction.namespace, "model", None) or default) or catalog.get(default)
