"""The words and numbers users see about a job, as plain text (the cogs put them into embeds)."""

from __future__ import annotations

from collections.abc import Callable

from core.accounts.quotas import QuotaStatus
from core.errors import USER_MESSAGES, ErrorCategory
from core.jobs.progress import format_elapsed
from core.jobs.views import JobStatus as GenerationStatus

STATUS_ICONS = {
    GenerationStatus.PENDING: "⏳",
    GenerationStatus.QUEUED: "⏳",
    GenerationStatus.PROCESSING: "🎬",
    GenerationStatus.COMPLETED: "✅",
    GenerationStatus.FAILED: "❌",
    GenerationStatus.CANCELLED: "🚫",
}


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def params_line(config: dict, model: str) -> str:
    """`veo-3.1 · 8 s · 16:9 · 720p · seed 7`."""
    parts = [
        model,
        f"{config.get('duration')} s",
        str(config.get("aspect_ratio")),
        str(config.get("resolution")),
    ]
    if config.get("seed") is not None:
        parts.append(f"seed {config['seed']}")
    if config.get("image_path"):
        parts.append("first frame from image")
    return " · ".join(parts)


def quota_left(status: QuotaStatus) -> str:
    """`3 videos and 40 s left today` (or `no daily limit`)."""
    parts = []
    if status.videos_left is not None:
        parts.append(f"{status.videos_left} video{'s' if status.videos_left != 1 else ''}")
    if status.seconds_left is not None:
        parts.append(f"{status.seconds_left} s")
    return " and ".join(parts) + " left today" if parts else "no daily limit"


def finished_line(video_seconds: float, took: float | None, cost_usd: float, left: str) -> str:
    """`Length 4.0 s · took 1:12 · est. $0.42 · 3 videos left today`."""
    took_text = format_elapsed(took) if took is not None else "?"
    return f"Length {video_seconds:.1f} s · took {took_text} · est. ${cost_usd:.2f} · {left}"


# Failures whose detail is the operator's own server speaking (a ComfyUI node's exception, e.g. "CUDA out of
# memory"): worth showing the user, unlike a hosted API's internals.
SERVER_MESSAGE_PREFIXES = ("ComfyUI ",)


def failure_text(error_type: str | None, refunded: bool, detail: str | None = None) -> str:
    """The category's advice, whether the quota came back, and (for bad input) what exactly was wrong."""
    category = ErrorCategory(error_type) if error_type else ErrorCategory.UNKNOWN
    lines = [USER_MESSAGES[category]]
    if detail and category is ErrorCategory.INVALID_REQUEST:
        lines.insert(0, detail)
    if detail and category is ErrorCategory.GENERATION_FAILED and detail.startswith(SERVER_MESSAGE_PREFIXES):
        shown = detail if len(detail) <= 300 else detail[:299] + "…"
        lines.insert(1, "`" + shown.replace("`", "'") + "`")
    if category is not ErrorCategory.CANCELLED or refunded:
        lines.append(
            "Your quota was refunded." if refunded else "This job still counts against today's quota."
        )
    return "\n".join(lines)


SHOWS_REASON = frozenset(
    {
        ErrorCategory.USER_QUOTA_EXCEEDED,
        ErrorCategory.TOO_MANY_WAITING,
        ErrorCategory.BLOCKED,
        ErrorCategory.PROMPT_BLOCKED,  # which field, and "word" or "pattern" (never the list)
        ErrorCategory.WRONG_CHANNEL,  # where videos are made instead
        ErrorCategory.ROLE_REQUIRED,  # which roles
        ErrorCategory.SERVER_QUOTA_EXCEEDED,  # which cap
        ErrorCategory.SPEND_CAP_REACHED,
        ErrorCategory.MODEL_UNAVAILABLE,  # e.g. "retired on 2026-12-03; use 'omni-1.2-flash' instead"
    }
)


# Reasons made only of the bot's own words and ids: shown as they are, so a channel or role mention renders
# as its name (mentions never ping: the bot allows none).
WRITTEN_BY_US = frozenset({ErrorCategory.WRONG_CHANNEL, ErrorCategory.ROLE_REQUIRED})


def refusal_text(category: ErrorCategory, detail: str, escape: Callable[[str], str] = str) -> str:
    """What a refused user reads: the exact field problem, or the category's advice with its reason
    (`escape` makes the reason safe to show, e.g. an admin's block reason in Discord markdown)."""
    if category is ErrorCategory.INVALID_REQUEST:
        return detail
    if category in SHOWS_REASON:
        reason = detail if category in WRITTEN_BY_US else escape(detail)
        return f"{USER_MESSAGES[category]}\n({reason})"
    return USER_MESSAGES[category]
