"""/history: your jobs, newest first, ten a page, with Previous/Next; other people's for admins only."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.embeds import notice_embed, safe_text
from cogs.ui.errors import GuardedItem
from cogs.ui.links import with_gallery
from cogs.ui.permissions import is_admin
from core.accounts.history import HistoryPage, history_page
from core.presenter import STATUS_ICONS
from core.services import Services


def history_embed(user_id: int, page: HistoryPage) -> discord.Embed:
    """One page as an embed: id, status, prompt, model, length, created, link."""
    embed = discord.Embed(title="Video history", colour=discord.Colour.blurple())
    embed.description = f"<@{user_id}> · {page.total} job{'s' if page.total != 1 else ''}"
    if not page.items:
        embed.add_field(name="Nothing yet", value="Make one with /video.", inline=False)
    for job in page.items:
        link = ""
        if job.undeliverable:
            link = " · ⚠️ could not be delivered in Discord (channel gone or no access)"
        elif job.message_id and job.channel_id and not job.deleted:
            link = f" · [message](https://discord.com/channels/{job.guild_id or '@me'}/{job.channel_id}/{job.message_id})"
        elif job.deleted:
            link = " · message deleted"
        if job.parent_id is not None:
            link += f" · {job.chain_text or f'{job.relation} of #{job.parent_id}'}"
        embed.add_field(
            name=f"{STATUS_ICONS[job.status]} #{job.id} · {job.status.value}",
            value=(
                f"{safe_text(job.prompt, 80) or '*removed at your request*'}\n{job.model} · {job.video_seconds} s · "
                f"{discord.utils.format_dt(job.created_at, 'R')}{link}"
            ),
            inline=False,
        )
    embed.set_footer(text=f"Page {page.page} of {page.pages}")
    return embed


class HistoryPageButton(
    GuardedItem,
    template=r"history:(?P<user>\d+):(?P<page>\d+):(?P<dir>prev|next)",
):
    """Previous/Next; the user and the target page live in the custom_id."""

    def __init__(self, user_id: int, page: int, direction: str, disabled: bool = False) -> None:
        label = "◀ Previous" if direction == "prev" else "Next ▶"
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
                custom_id=f"history:{user_id}:{page}:{direction}",
            )
        )
        self.user_id, self.page = user_id, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ):
        return cls(int(match["user"]), int(match["page"]), match["dir"])

    async def run(self, interaction: discord.Interaction) -> None:
        cog: HistoryCog = interaction.client.get_cog("History")  # type: ignore[assignment]
        await cog.show_page(interaction, self.user_id, self.page, edit=True)


def pager(user_id: int, page: HistoryPage) -> discord.ui.View:
    """Previous/Next buttons for `page`."""
    view = discord.ui.View(timeout=None)
    view.add_item(HistoryPageButton(user_id, max(1, page.page - 1), "prev", disabled=page.page <= 1))
    view.add_item(
        HistoryPageButton(user_id, min(page.pages, page.page + 1), "next", disabled=page.page >= page.pages)
    )
    return view


class HistoryCog(commands.Cog, name="History"):
    """The /history command."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.services = services

    @app_commands.command(name="history")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def history(
        self,
        interaction: discord.Interaction,
        user: discord.User | None = None,
        page: app_commands.Range[int, 1, 10000] = 1,
    ) -> None:
        """Show video jobs, newest first.

        Args:
            user: Whose history (admins only; everyone else sees their own).
            page: Page number, 10 jobs a page.
        """
        await self.show_page(interaction, (user or interaction.user).id, page, edit=False)

    async def show_page(
        self, interaction: discord.Interaction, user_id: int, page: int, *, edit: bool
    ) -> None:
        """Render a page ephemerally, or edit the clicked page in place."""
        if user_id != interaction.user.id and not is_admin(
            interaction, self.services.settings.admin_user_ids
        ):
            await interaction.response.send_message(
                embed=notice_embed("Not allowed", "Only admins can see other people's history."),
                ephemeral=True,
            )
            return
        result = await history_page(user_id, page)
        embed, view = history_embed(user_id, result), pager(user_id, result)
        if user_id == interaction.user.id:  # a signed link to their own gallery (PUBLIC_BASE_URL)
            view = with_gallery(view, self.services, user_id)
        if edit:
            await interaction.response.edit_message(embed=embed, view=view)
        else:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
