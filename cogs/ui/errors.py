"""One handler for every app-command error: a short ephemeral reply with an error id, the traceback in the log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

import discord
from discord import app_commands

from cogs.ui.embeds import notice_embed

log = logging.getLogger(__name__)

T = TypeVar("T")


EXPIRED_INTERACTION = 10062  # Discord's "Unknown interaction": its 3 s (or the token's 15 min) ran out


def expired(error: BaseException) -> bool:
    """The interaction was gone before we answered: nothing can be said to the user through it."""
    original = getattr(error, "original", error)
    return isinstance(original, discord.NotFound) and original.code == EXPIRED_INTERACTION


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """Reply ephemerally; log the traceback under the same id. An interaction that expired before we
    answered is one log line: no traceback and no reply (there is nothing to reply to) — under a
    flood of commands, formatting a traceback and sending a doomed reply for each late one would
    make the rest later still."""
    if expired(error):
        command = interaction.command.qualified_name if interaction.command else "?"
        log.warning(
            "/%s for user %s: answered too late, Discord had dropped it", command, interaction.user.id
        )
        return
    if isinstance(error, app_commands.CheckFailure) and interaction.response.is_done():
        return  # the check already told the user why
    if isinstance(error, app_commands.CommandOnCooldown):
        await _tell(interaction, f"Slow down: try again in {error.retry_after:.0f} s.")
    elif isinstance(error, app_commands.TransformerError):
        await _tell(interaction, f"That value doesn't work for this option: {error.value!r}.")
    else:
        command = interaction.command.qualified_name if interaction.command else "?"
        await report_unexpected(interaction, error, f"/{command}")


async def report_unexpected(interaction: discord.Interaction, error: BaseException, where: str) -> None:
    """Log the traceback under a short id and tell the user that id, ephemerally."""
    error_id = uuid.uuid4().hex[:8]
    log.error("error %s in %s for user %s", error_id, where, interaction.user.id, exc_info=error)
    await _tell(interaction, f"Something went wrong on our side. Error id: `{error_id}` (tell an admin).")


class GuardedItem(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """Base for our buttons: an unexpected error in `run` still answers the click (with an error id)."""

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction)  # type: ignore[attr-defined]  # each button defines run()
        except Exception as exc:
            if expired(exc):
                log.warning("button %s for user %s: answered too late", self.custom_id, interaction.user.id)
                return
            await report_unexpected(interaction, exc, f"button {self.custom_id}")


async def _tell(interaction: discord.Interaction, text: str) -> None:
    try:
        await send_ephemeral(interaction, notice_embed("Error", text, discord.Colour.red()))
    except discord.HTTPException:
        log.warning("could not report an error to user %s", interaction.user.id)


ANSWER_WAIT = 1.5  # seconds core may take before the interaction is deferred (Discord allows 3)
ANSWER_BY = 2.0  # ...but the answer leaves by this many seconds after Discord created the interaction


def answer_budget(interaction: discord.Interaction, wait: float = ANSWER_WAIT) -> float:
    """Seconds we may still wait before deferring: ANSWER_WAIT, less the time the interaction took to
    reach us when the event loop is behind (Discord's 3 s count from the interaction's creation)."""
    age = (discord.utils.utcnow() - discord.utils.snowflake_time(interaction.id)).total_seconds()
    if age < 0:  # our clock is behind Discord's: count from now
        return wait
    return max(0.05, min(wait, ANSWER_BY - age))


async def within_answer_time(
    interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool = False, thinking: bool = False
) -> T:
    """Await `work`; if it takes longer than ANSWER_WAIT, defer the interaction first so Discord gets
    its answer in time (the caller then answers with a follow-up or an edit)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=answer_budget(interaction))
    if task not in done and not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
    return await task


async def send_ephemeral(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """An ephemeral answer, as the response or (once the response is used) as a follow-up."""
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=True)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=True)
