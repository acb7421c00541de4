"""Discord embeds for a job: progress, result, failure. Prompts are escaped and truncated here."""

from __future__ import annotations

import discord

from core.jobs.info import JobInfo
from core.jobs.views import JobStatus as GenerationStatus
from core.jobs.views import JobView
from core.presenter import params_line, truncate

COLOURS = {
    GenerationStatus.PENDING: discord.Colour.light_grey(),
    GenerationStatus.QUEUED: discord.Colour.light_grey(),
    GenerationStatus.PROCESSING: discord.Colour.blurple(),
    GenerationStatus.COMPLETED: discord.Colour.green(),
    GenerationStatus.FAILED: discord.Colour.red(),
    GenerationStatus.CANCELLED: discord.Colour.dark_grey(),
}
TITLES = {
    GenerationStatus.PENDING: "⏳ Video requested",
    GenerationStatus.QUEUED: "⏳ Waiting for a free slot",
    GenerationStatus.PROCESSING: "🎬 Generating video",
    GenerationStatus.COMPLETED: "✅ Video ready",
    GenerationStatus.FAILED: "❌ Video failed",
    GenerationStatus.CANCELLED: "🚫 Video cancelled",
}
PROMPT_LIMIT = 1000


def safe_text(text: str, limit: int) -> str:
    """Markdown and mentions escaped, then truncated: prompts never format or ping."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    return truncate(escaped, limit)


def job_embed(job: JobView, status: GenerationStatus, body: str) -> discord.Embed:
    """The one embed of a job's message (the demo model's results say they are not AI output)."""
    embed = discord.Embed(title=TITLES[status], colour=COLOURS[status])
    embed.add_field(name="Prompt", value=safe_text(job.shown_prompt, PROMPT_LIMIT) or "—", inline=False)
    embed.add_field(name="Model", value=params_line(job.config, job.model), inline=False)
    if body:
        embed.add_field(name="Status", value=truncate(body, 1024), inline=False)
    footer = f"Job #{job.id}"
    if job.is_demo:
        footer += " · demo model: a rendered test pattern, not AI output"
    embed.set_footer(text=footer)
    return embed


def notice_embed(title: str, text: str, colour: discord.Colour | None = None) -> discord.Embed:
    """A short ephemeral message: refusals, admin answers."""
    return discord.Embed(
        title=title, description=truncate(text, 4000), colour=colour or discord.Colour.orange()
    )


def info_embed(info: JobInfo) -> discord.Embed:
    """The Info of a job: its parameters as fields, and the `/video` line in a code block."""
    embed = discord.Embed(title=f"ℹ️ {info.title}", colour=discord.Colour.blurple())
    for name, value in info.fields:
        text = safe_text(value, 1024) if name in ("Prompt", "Negative prompt") else truncate(value, 1024)
        embed.add_field(
            name=name, value=text or "—", inline=name not in ("Prompt", "Negative prompt", "Timings")
        )
    command = info.command.replace("`", "ˋ")  # a backtick in a prompt would end the code block
    embed.add_field(name="Ask for it again", value=truncate(f"```\n{command}\n```", 1024), inline=False)
    return embed
