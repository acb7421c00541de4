"""/videoadmin: quotas, blocks, the queue, pause/resume, statistics, command sync. Admins only."""

from __future__ import annotations

import datetime as dt
import logging

import discord
from discord import app_commands
from discord.ext import commands

from cogs.moderation import BlocklistGroup, refusals_text
from cogs.policy import ChannelGroup
from cogs.privacy import confirmation
from cogs.roles import RoleGroup
from cogs.server_policy import ServerGroup
from cogs.ui.display import JobDisplay
from cogs.ui.embeds import notice_embed, safe_text
from cogs.ui.errors import send_ephemeral, within_answer_time
from cogs.ui.permissions import actor_of, is_admin
from core.accounts.history import active_jobs, undeliverable_jobs
from core.jobs.progress import format_elapsed
from core.platform.clock import utc_day, utcnow
from core.presenter import STATUS_ICONS, quota_left, truncate
from core.services import Services

log = logging.getLogger(__name__)


def _today() -> dt.date:
    return utc_day(utcnow())


def _day_start() -> dt.datetime:
    return dt.datetime.combine(_today(), dt.time(), tzinfo=dt.UTC)


@app_commands.default_permissions(manage_guild=True)
class AdminCog(commands.GroupCog, group_name="videoadmin", group_description="Video bot administration"):
    """Every subcommand re-checks admin rights at run time: Discord's default permissions are only a hint."""

    quota = app_commands.Group(name="quota", description="Per-user daily limits")

    def __init__(self, bot: commands.Bot, services: Services, display: JobDisplay) -> None:
        self.bot = bot
        self.display = display
        self.services = services
        self.admin = services.admin
        super().__init__()
        for group in (BlocklistGroup, ChannelGroup, ServerGroup, RoleGroup):
            self.__cog_app_commands_group__.add_command(group(services, self.interaction_check))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if is_admin(interaction, self.services.settings.admin_user_ids):
            return True
        log.info("user %s was refused /videoadmin", interaction.user.id)
        await interaction.response.send_message(
            embed=notice_embed("Admins only", "You need Manage Server here (or to be a bot admin)."),
            ephemeral=True,
        )
        return False

    async def _reply(self, interaction: discord.Interaction, title: str, text: str) -> None:
        await interaction.response.send_message(
            embed=notice_embed(title, text, discord.Colour.blurple()), ephemeral=True
        )

    @quota.command(name="set")
    async def quota_set(
        self,
        interaction: discord.Interaction,
        user: discord.User,
        daily_videos: app_commands.Range[int, 0, 100000] | None = None,
        daily_seconds: app_commands.Range[int, 0, 10000000] | None = None,
    ) -> None:
        """Set a user's daily limits (0 = unlimited).

        Args:
            user: Whose limits.
            daily_videos: Videos per UTC day.
            daily_seconds: Video-seconds per UTC day.
        """
        row = await self.admin.set_quota(interaction.user.id, user.id, daily_videos, daily_seconds)
        limits = self.services.quotas.limits_for(row)
        await self._reply(
            interaction,
            "Quota set",
            f"{user.mention}: {limits.videos or 'unlimited'} videos and {limits.seconds or 'unlimited'} s a day.",
        )

    @quota.command(name="reset")
    async def quota_reset(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Clear what a user has used today.

        Args:
            user: Whose usage.
        """
        await self.admin.reset_usage(interaction.user.id, user.id, _today())
        await self._reply(interaction, "Quota reset", f"{user.mention}'s usage today is back to zero.")

    @quota.command(name="show")
    async def quota_show(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Show a user's usage and limits today.

        Args:
            user: Whose quota.
        """
        roles = [r.id for r in getattr(user, "roles", ())]  # a member of this server: their quota tier
        tier = (await self.services.policy.of(interaction.guild_id)).tier(roles)
        st = await self.services.quotas.status(user.id, _today(), tier)
        blocked = f"\nBlocked: {safe_text(st.blocked_reason or 'no reason given', 200)}" if st.blocked else ""
        await self._reply(
            interaction,
            "Quota",
            f"{user.mention}: {st.videos_used} videos and {st.seconds_used} s used today; {quota_left(st)}.{blocked}",
        )

    @app_commands.command(name="block")
    async def block(
        self, interaction: discord.Interaction, user: discord.User, reason: str | None = None
    ) -> None:
        """Stop a user from making videos.

        Args:
            user: Who to block.
            reason: Shown to them when they try.
        """
        await self.admin.block(interaction.user.id, user.id, reason)
        await self._reply(interaction, "Blocked", f"{user.mention} can no longer make videos.")

    @app_commands.command(name="unblock")
    async def unblock(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Let a blocked user make videos again.

        Args:
            user: Who to unblock.
        """
        changed = await self.admin.unblock(interaction.user.id, user.id)
        text = f"{user.mention} can make videos again." if changed else f"{user.mention} was not blocked."
        await self._reply(interaction, "Unblocked", text)

    @app_commands.command(name="queue")
    async def queue(self, interaction: discord.Interaction) -> None:
        """List queued and running jobs."""
        jobs = await active_jobs()
        stuck = await undeliverable_jobs()
        now = utcnow()
        lines = [
            f"{STATUS_ICONS[j.status]} #{j.id} · {j.status.value} · <@{j.user_id}> · {j.model} · "
            f"{format_elapsed((now - j.created_at).total_seconds())} old"
            for j in jobs
        ] or ["Nothing waiting or running."]
        if stuck:
            lines.append(
                f"\nUndeliverable ({len(stuck)}): results Discord would not take (channel gone or no access):"
            )
            lines += [f"⚠️ #{j.id} · {j.status.value} · <@{j.user_id}> · <#{j.channel_id}>" for j in stuck]
        await self._reply(interaction, f"Queue ({len(jobs)})", truncate("\n".join(lines), 4000))

    @app_commands.command(name="cancel")
    async def cancel(self, interaction: discord.Interaction, job: app_commands.Range[int, 1]) -> None:
        """Cancel any unfinished job.

        Args:
            job: The job id (see /videoadmin queue).
        """
        actor = actor_of(interaction, self.services.settings.admin_user_ids)
        outcome = await within_answer_time(
            interaction, self.services.actions.cancel(job, actor), ephemeral=True
        )
        if outcome.ok:
            self.display.deliver_soon(job)  # the job's message shows it right after
        log.info("admin %s cancelled job %s: %s", interaction.user.id, job, outcome.refusal or "done")
        if outcome.ok:
            text = f"Job #{job} cancelled."
        else:
            text = f"Job #{job} is not running." if outcome.job is not None else f"Job #{job} does not exist."
        await send_ephemeral(interaction, notice_embed("Cancel", text, discord.Colour.blurple()))

    @app_commands.command(name="pause")
    async def pause(self, interaction: discord.Interaction) -> None:
        """Stop taking new jobs (running ones finish)."""
        await self.admin.set_paused(interaction.user.id, True)
        await self._reply(interaction, "Paused", "New /video requests are refused until /videoadmin resume.")

    @app_commands.command(name="resume")
    async def resume(self, interaction: discord.Interaction) -> None:
        """Take new jobs again."""
        await self.admin.set_paused(interaction.user.id, False)
        await self._reply(interaction, "Resumed", "New /video requests are accepted again.")

    @app_commands.command(name="stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        """Today's jobs, success rate, time per model and estimated spend."""
        s = await self.admin.stats(_today())
        lines = [
            "By status: " + (", ".join(f"{k} {v}" for k, v in sorted(s.by_status.items())) or "none"),
            "By model: " + (", ".join(f"{k} {v}" for k, v in sorted(s.by_model.items())) or "none"),
            "Success rate: " + (f"{s.success_rate:.0%}" if s.success_rate is not None else "n/a"),
            "Median time: "
            + (", ".join(f"{m} {format_elapsed(t)}" for m, t in sorted(s.median_seconds.items())) or "n/a"),
            f"Estimated spend: ${s.spent_usd:.2f}"
            + (f" of ${s.cap_usd:.2f} cap" if s.cap_usd else " (no cap)"),
            f"Undeliverable results: {s.undeliverable}",
            f"Prompts refused by a blocklist: {await self.services.moderation.refusals_since(_day_start())}",
        ]
        await self._reply(interaction, f"Stats for {s.day.isoformat()} (UTC)", "\n".join(lines))

    @app_commands.command(name="forget")
    async def forget(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Delete a user's prompts, images and videos from this bot (after a confirmation; counts stay).

        Args:
            user: Whose data.
        """
        embed, view = confirmation(user.id, f"{user.mention}'s")
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="refusals")
    async def refusals(self, interaction: discord.Interaction) -> None:
        """The latest prompts the blocklists refused here (who, when, which entry)."""
        text = await refusals_text(self.services, interaction.guild_id)
        await self._reply(interaction, "Latest blocklist refusals", text)

    @app_commands.command(name="sync")
    async def sync(self, interaction: discord.Interaction) -> None:
        """Push the slash commands to Discord now."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.sync_commands(force=True)  # type: ignore[attr-defined]
        log.info("admin %s forced a command sync (%d commands)", interaction.user.id, count)
        await interaction.followup.send(
            embed=notice_embed("Synced", f"{count} commands pushed to Discord.", discord.Colour.blurple()),
            ephemeral=True,
        )
