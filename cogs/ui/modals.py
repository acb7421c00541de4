"""The modals of Extend, Remix and Animate, and reading a submit's values by input custom id.

The Modal objects only describe what the user sees: a submit is handled from the modal's custom id
(see cogs/creative.py), so nothing here has an `on_submit`.
"""

from __future__ import annotations

from typing import Any

import discord

from core.jobs.views import JobView
from core.validation import MAX_NEGATIVE_PROMPT_CHARS, MAX_PROMPT_CHARS

TEXT_INPUT, LABEL = 4, 18


class _Described(discord.ui.Modal):
    """A modal whose submit is read elsewhere (by custom id): discord.py's own dispatch does nothing."""

    def __init__(self, title: str, custom_id: str) -> None:
        super().__init__(title=title[:45], custom_id=custom_id, timeout=None)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # handled by custom id
        return None


def _prompt(value: str) -> discord.ui.TextInput:
    return discord.ui.TextInput(
        label="Prompt",
        custom_id="prompt",
        style=discord.TextStyle.paragraph,
        default=value[:MAX_PROMPT_CHARS] or None,
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
    )


def prompt_modal(title: str, custom_id: str, prompt: str, *, model: bool = False) -> discord.ui.Modal:
    """A Prompt input prefilled with `prompt` (and an optional Model input, for Animate)."""
    modal = _Described(title, custom_id)
    modal.add_item(_prompt(prompt))
    if model:
        modal.add_item(
            discord.ui.TextInput(
                label="Model (optional)",
                custom_id="model",
                placeholder="the default model",
                required=False,
                max_length=64,
            )
        )
    return modal


def remix_modal(job: JobView, *, negative: bool, seed: bool) -> discord.ui.Modal:
    """Prompt, negative prompt (where the model takes one), duration and seed, prefilled from `job`."""
    modal = _Described(f"Remix video #{job.id}", f"video:remix-modal:{job.id}")
    modal.add_item(_prompt(job.prompt))
    if negative:
        modal.add_item(
            discord.ui.TextInput(
                label="Negative prompt",
                custom_id="negative_prompt",
                style=discord.TextStyle.paragraph,
                default=job.config.get("negative_prompt") or None,
                required=False,
                max_length=MAX_NEGATIVE_PROMPT_CHARS,
            )
        )
    modal.add_item(
        discord.ui.TextInput(
            label="Duration (seconds)",
            custom_id="duration",
            default=str(job.config.get("duration", "")),
            max_length=3,
        )
    )
    if seed:
        modal.add_item(
            discord.ui.TextInput(
                label="Seed (empty: a new one)",
                custom_id="seed",
                default=str(job.config["seed"]) if job.config.get("seed") is not None else None,
                required=False,
                max_length=10,
            )
        )
    return modal


def modal_values(data: Any) -> dict[str, str]:
    """custom_id → value of every text input in a modal submit's `data` (rows or labels)."""
    values: dict[str, str] = {}

    def visit(component: dict[str, Any]) -> None:
        if component.get("type") == TEXT_INPUT:
            values[component["custom_id"]] = component.get("value") or ""
        for child in component.get("components") or []:
            visit(child)
        if isinstance(component.get("component"), dict):
            visit(component["component"])

    for component in (data or {}).get("components") or []:
        visit(component)
    return values
