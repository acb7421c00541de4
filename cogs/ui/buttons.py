"""Buttons on a job's message. Their custom_id carries the job id, so they work after a restart.

A click reaches its handler through `client.job_buttons` (wired in bot.py), an object with the
`JobButtonHandler` methods — buttons never import a cog.
"""

from __future__ import annotations

import re
from typing import ClassVar, Protocol

import discord

from cogs.ui.errors import GuardedItem


class JobButtonHandler(Protocol):
    """What the job buttons call."""

    async def on_cancel_click(self, interaction: discord.Interaction, job_id: int) -> None: ...
    async def on_regenerate_click(self, interaction: discord.Interaction, job_id: int) -> None: ...
    async def on_delete_click(self, interaction: discord.Interaction, job_id: int) -> None: ...
    async def on_info_click(self, interaction: discord.Interaction, job_id: int) -> None: ...


class CreativeButtonHandler(Protocol):
    """What Extend and Remix call (they open modals)."""

    async def on_extend_click(self, interaction: discord.Interaction, job_id: int) -> None: ...
    async def on_remix_click(self, interaction: discord.Interaction, job_id: int) -> None: ...


def _handler(interaction: discord.Interaction) -> JobButtonHandler:
    return interaction.client.job_buttons  # type: ignore[attr-defined]  # set in bot.py


def _creative(interaction: discord.Interaction) -> CreativeButtonHandler:
    return interaction.client.creative_buttons  # type: ignore[attr-defined]  # set in bot.py


class _JobButton(GuardedItem, template=r"(?!)"):
    """One action on one job: `ACTION` names it in the custom_id, `handle` does it."""

    ACTION: ClassVar[str]
    LABEL: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle]

    def __init__(self, job_id: int, *, label: str | None = None) -> None:
        """`label` replaces the usual one, e.g. `Extend 2` on a message of variants."""
        super().__init__(
            discord.ui.Button(
                label=label or self.LABEL, style=self.STYLE, custom_id=f"video:{self.ACTION}:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> _JobButton:
        return cls(int(match["job"]))


class CancelButton(_JobButton, template=r"video:cancel:(?P<job>\d+)"):
    """Cancel a queued or running job (requester or admin)."""

    ACTION, LABEL, STYLE = "cancel", "Cancel", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction) -> None:
        await _handler(interaction).on_cancel_click(interaction, self.job_id)


class RegenerateButton(_JobButton, template=r"video:regen:(?P<job>\d+)"):
    """Run the same request again (new seed where the model takes one); goes through quota."""

    ACTION, LABEL, STYLE = "regen", "Regenerate", discord.ButtonStyle.primary

    async def run(self, interaction: discord.Interaction) -> None:
        await _handler(interaction).on_regenerate_click(interaction, self.job_id)


class ExtendButton(_JobButton, template=r"video:extend:(?P<job>\d+)"):
    """Continue the clip (a modal with the prompt to steer it); charged to whoever clicks."""

    ACTION, LABEL, STYLE = "extend", "Extend", discord.ButtonStyle.primary

    async def run(self, interaction: discord.Interaction) -> None:
        await _creative(interaction).on_extend_click(interaction, self.job_id)


class RemixButton(_JobButton, template=r"video:remix:(?P<job>\d+)"):
    """The same job with edited prompt, negative prompt, duration or seed (a modal); charged to whoever clicks."""

    ACTION, LABEL, STYLE = "remix", "Remix", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        await _creative(interaction).on_remix_click(interaction, self.job_id)


class DeleteButton(_JobButton, template=r"video:delete:(?P<job>\d+)"):
    """Delete the message (requester or Manage Messages); history keeps the job, marked deleted."""

    ACTION, LABEL, STYLE = "delete", "Delete", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        await _handler(interaction).on_delete_click(interaction, self.job_id)


class InfoButton(_JobButton, template=r"video:info:(?P<job>\d+)"):
    """Every parameter of the job (the seed it used too), its cost and timings, and a `/video` line —
    shown only to whoever clicks."""

    ACTION, LABEL, STYLE = "info", "Info", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        await _handler(interaction).on_info_click(interaction, self.job_id)


def running_view(job_id: int) -> discord.ui.View:
    """Buttons while the job waits or runs."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def finished_view(job_id: int, *, extend: bool = False) -> discord.ui.View:
    """Buttons once the job is over (Extend only where the clip can be extended)."""
    view = discord.ui.View(timeout=None)
    view.add_item(RegenerateButton(job_id))
    if extend:
        view.add_item(ExtendButton(job_id))
    view.add_item(RemixButton(job_id))
    view.add_item(InfoButton(job_id))
    view.add_item(DeleteButton(job_id))
    return view


JOB_BUTTONS = (CancelButton, RegenerateButton, ExtendButton, RemixButton, InfoButton, DeleteButton)
