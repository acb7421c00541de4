"""/videoadmin blocklist add|remove|list and /videoadmin refusals: a server's prompt blocklist.

The group joins /videoadmin (cogs/admin.py) and runs the same admin check (`admin_check`) before any of
its commands; /videoadmin refusals is a command of the admin cog that shows `refusals_text`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.embeds import notice_embed, safe_text
from core.moderation.blocklist import BlocklistError
from core.services import Services

SERVER_ONLY = "The blocklist belongs to a server: use this in one (BLOCKLIST_FILE is the list for DMs)."


async def _reply(interaction: discord.Interaction, title: str, text: str) -> None:
    await interaction.response.send_message(
        embed=notice_embed(title, text, discord.Colour.blurple()), ephemeral=True
    )


class BlocklistGroup(app_commands.Group):
    """This server's prompt blocklist."""

    def __init__(
        self, services: Services, admin_check: Callable[[discord.Interaction], Awaitable[bool]]
    ) -> None:
        super().__init__(name="blocklist", description="This server's prompt blocklist")
        self.moderation = services.moderation
        self._admin_check = admin_check

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self._admin_check(interaction)

    @app_commands.command(name="add")
    async def add(self, interaction: discord.Interaction, pattern: app_commands.Range[str, 1, 250]) -> None:
        """Refuse prompts with a word (whole word, any case) or, after re:, matching a regular expression.

        Args:
            pattern: A word, or re: and a regular expression.
        """
        if interaction.guild_id is None:
            await _reply(interaction, "Not here", SERVER_ONLY)
            return
        try:
            entry = await self.moderation.add(interaction.guild_id, pattern, interaction.user.id)
        except (BlocklistError, ValueError) as exc:
            await _reply(interaction, "Not added", str(exc))
            return
        kind = "Word" if entry.kind == "word" else "Pattern"
        await _reply(
            interaction, "Added", f"{kind} `{safe_text(entry.display, 300)}` is now refused in prompts here."
        )

    @app_commands.command(name="remove")
    async def remove(
        self, interaction: discord.Interaction, pattern: app_commands.Range[str, 1, 250]
    ) -> None:
        """Take an entry off the list (as /videoadmin blocklist list shows it).

        Args:
            pattern: The entry as listed.
        """
        if interaction.guild_id is None:
            await _reply(interaction, "Not here", SERVER_ONLY)
            return
        if await self.moderation.remove(interaction.guild_id, pattern, interaction.user.id):
            await _reply(interaction, "Removed", f"`{safe_text(pattern, 300)}` is no longer refused here.")
        else:
            await _reply(
                interaction, "Not found", f"`{safe_text(pattern, 300)}` is not on this server's list."
            )

    @app_commands.command(name="list")
    async def list_entries(self, interaction: discord.Interaction) -> None:
        """This server's entries."""
        if interaction.guild_id is None:
            await _reply(interaction, "Not here", SERVER_ONLY)
            return
        entries = await self.moderation.entries(interaction.guild_id)
        text = "\n".join(f"`{safe_text(e, 200)}`" for e in entries) or "No entries."
        extra = len(self.moderation.global_list)
        if extra:
            text += f"\n\nBLOCKLIST_FILE adds {extra} entries everywhere."
        await _reply(interaction, f"Blocklist ({len(entries)})", text[:4000])


async def refusals_text(services: Services, guild_id: int | None) -> str:
    """The latest prompts the blocklists refused here: when, who, which field and entry (never the prompt)."""
    rows = await services.moderation.refusals(guild_id)
    lines = [
        f"{discord.utils.format_dt(r.at, 'R')} <@{r.user_id}> · {r.field} · `{safe_text(r.entry, 120)}`"
        for r in rows
    ]
    return "\n".join(lines) or "None yet."
