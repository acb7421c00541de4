"""Buttons on a job's message. Their custom_id carries the job id, so they work after a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from cogs.ui.errors import GuardedItem

if TYPE_CHECKING:
    from cogs.video import VideoCog


def _cog(interaction: discord.Interaction) -> VideoCog:
    cog = interaction.client.get_cog("Video")  # type: ignore[union-attr]
    assert cog is not None, "the Video cog is loaded in setup_hook"
    return cog  # type: ignore[return-value]


class CancelButton(GuardedItem, template=r"video:cancel:(?P<job>\d+)"):
    """Cancel a queued or running job (requester or admin)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"video:cancel:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["job"]))

    async def run(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).on_cancel_click(interaction, self.job_id)


class RegenerateButton(GuardedItem, template=r"video:regen:(?P<job>\d+)"):
    """Run the same request again (new seed where the model takes one); goes through quota."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Regenerate", style=discord.ButtonStyle.primary, custom_id=f"video:regen:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RegenerateButton:
        return cls(int(match["job"]))

    async def run(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).on_regenerate_click(interaction, self.job_id)


class DeleteButton(GuardedItem, template=r"video:delete:(?P<job>\d+)"):
    """Delete the message (requester or Manage Messages); history keeps the job, marked deleted."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete", style=discord.ButtonStyle.secondary, custom_id=f"video:delete:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> DeleteButton:
        return cls(int(match["job"]))

    async def run(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).on_delete_click(interaction, self.job_id)


def running_view(job_id: int) -> discord.ui.View:
    """Buttons while the job waits or runs."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def finished_view(job_id: int) -> discord.ui.View:
    """Buttons once the job is over."""
    view = discord.ui.View(timeout=None)
    view.add_item(RegenerateButton(job_id))
    view.add_item(DeleteButton(job_id))
    return view


JOB_BUTTONS = (CancelButton, RegenerateButton, DeleteButton)
