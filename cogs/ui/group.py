"""One message for the variants of one /video: an embed per variant, every finished mp4, buttons per variant.

The message is always drawn whole from the database (plus this process's latest progress lines), so any
process may draw it and the last edit shows every variant as it then was. Buttons carry the variant's
own job id and say its number (`Extend 2`); Delete removes the whole message.
"""

from __future__ import annotations

import discord

from cogs.ui.buttons import CancelButton, DeleteButton, ExtendButton, InfoButton, RemixButton
from cogs.ui.embeds import COLOURS, PROMPT_LIMIT, TITLES, safe_text
from core.jobs.views import JobStatus, JobView
from core.presenter import failure_text, params_line, truncate

GROUP_REQUEST_LIMIT = 25 * 1024 * 1024  # Discord caps a whole message request at 25 MiB


def variant_upload_limit(per_file: int, variants: int) -> int:
    """Bytes each variant's file may take so that all of them fit one request (and each the per-file limit)."""
    return min(per_file, GROUP_REQUEST_LIMIT // max(1, variants) - 64 * 1024)


def variant_body(job: JobView, line: str | None) -> str:
    """A variant's status: its progress line while unfinished, else how it ended."""
    if job.status is JobStatus.COMPLETED:
        if not job.video_path:
            return "Ready, but its file is gone."
        return f"Ready · `video_{job.id}.mp4` · {job.config.get('total_seconds') or job.video_seconds} s"
    if job.finished:
        return failure_text(job.error_type, job.refunded, job.error)
    return line or ("Queued" if job.status is JobStatus.QUEUED else "Starting")


def group_embeds(jobs: list[JobView], lines: dict[int, str]) -> list[discord.Embed]:
    """The first embed names the prompt and settings; then one short embed per variant."""
    first = jobs[0]
    done = sum(1 for j in jobs if j.finished)
    head = discord.Embed(
        title=f"🎞️ {len(jobs)} variants · {done} of {len(jobs)} finished",
        colour=discord.Colour.green() if done == len(jobs) else discord.Colour.blurple(),
    )
    hidden = next((j for j in jobs if j.prompt_hidden), first)  # one variant refused: hide it for all
    head.add_field(name="Prompt", value=safe_text(hidden.shown_prompt, PROMPT_LIMIT) or "—", inline=False)
    head.add_field(name="Model", value=params_line({**first.config, "seed": None}, first.model), inline=False)
    footer = f"Jobs #{first.id}–#{jobs[-1].id}"
    if first.is_demo:
        footer += " · demo model: a rendered test pattern, not AI output"
    head.set_footer(text=footer)
    embeds = [head]
    for job in jobs:
        seed = job.config.get("seed")
        embed = discord.Embed(
            title=f"{TITLES[job.status]} · variant {job.variant}",
            description=truncate(variant_body(job, lines.get(job.id)), 1000),
            colour=COLOURS[job.status],
        )
        embed.set_footer(text=f"Job #{job.id}" + (f" · seed {seed}" if seed is not None else ""))
        embeds.append(embed)
    return embeds


def group_view(jobs: list[JobView], extendable: set[int]) -> discord.ui.View:
    """A row per variant — Cancel while it runs; Extend (where it can), Remix and Info once finished —
    and Delete for the whole message once every variant is over."""
    view = discord.ui.View(timeout=None)
    for row, job in enumerate(jobs):
        number = job.variant
        if not job.finished:
            view.add_item(_in_row(CancelButton(job.id, label=f"Cancel {number}"), row))
            continue
        if job.id in extendable:
            view.add_item(_in_row(ExtendButton(job.id, label=f"Extend {number}"), row))
        view.add_item(_in_row(RemixButton(job.id, label=f"Remix {number}"), row))
        view.add_item(_in_row(InfoButton(job.id, label=f"Info {number}"), row))
    if all(j.finished for j in jobs):
        view.add_item(_in_row(DeleteButton(jobs[0].id), len(jobs)))
    return view


def _in_row(item: discord.ui.Item, row: int) -> discord.ui.Item:
    item.row = row
    return item
