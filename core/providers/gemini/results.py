"""Reading an Interaction: its status, video, error and usage, as a PollResult."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any

from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoSource
from core.providers.gemini.errors import retry_in, str_or_none

log = logging.getLogger(__name__)

# Statuses after which the interaction never changes. Everything else (queued, in_progress, a missing
# status, requires_continuation, strings this SDK does not know) is treated as still running; the
# generator's overall deadline ends jobs that never settle.
_TERMINAL = frozenset(
    {"completed", "failed", "cancelled", "incomplete", "budget_exceeded", "requires_action"}
)


async def to_poll_result(ref: JobRef, interaction: Any) -> PollResult:
    """Map one Interaction to a PollResult."""
    status = interaction.status
    video = interaction.output_video
    if status == "completed" and video is not None:
        return await _succeeded(ref, interaction, video)
    code, message = _interaction_error(interaction)
    if code == "too_many_requests":
        # The rate cap can answer create with 200 + id and fail the job on the first poll. The job id
        # exists and may be billed, so this is terminal: never resubmit automatically.
        return _failed(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            f"job {ref.job_id} was accepted, then rejected with too_many_requests (status {status}); "
            f"not resubmitted: {message}",
            retry_after=retry_in(message),
        )
    if status == "queued":
        return PollResult(JobState.QUEUED)
    if status not in _TERMINAL:
        if status != "in_progress":
            log.debug("gemini job %s has status %r; treating it as running", ref.job_id, status)
        return PollResult(JobState.RUNNING)
    if status == "completed":
        refusal = (interaction.output_text or "").strip() or "no text"
        return _failed(
            ErrorCategory.SAFETY_BLOCKED,
            f"job {ref.job_id} completed without a video (refused): {refusal}",
        )
    if status == "cancelled":
        return _failed(ErrorCategory.CANCELLED, f"job {ref.job_id} was cancelled")
    if status == "failed":
        return _failed(
            ErrorCategory.GENERATION_FAILED,
            f"job {ref.job_id} failed: {code or 'no error code'}: {message or 'no message'}",
        )
    return _failed(
        ErrorCategory.GENERATION_FAILED,
        f"job {ref.job_id} ended with status {status}" + (f": {code}: {message}" if code or message else ""),
    )


async def _succeeded(ref: JobRef, interaction: Any, video: Any) -> PollResult:
    """A completed interaction with a video: inline bytes (decoded off the loop) or a file URI."""
    tokens = _video_tokens(interaction.usage)
    log.info(
        "gemini job %s completed (%s video tokens, %s)",
        ref.job_id,
        tokens if tokens is not None else "unknown",
        "uri" if video.uri else "inline",
    )
    if video.data:
        try:
            # An inline 4k video is tens of MB of base64: decode it off the event loop.
            data = await asyncio.to_thread(decode_video, video.data)
        except (binascii.Error, ValueError) as exc:
            return _failed(
                ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} returned corrupt base64 video: {exc}"
            )
        return PollResult(JobState.SUCCEEDED, video=VideoSource(data=data, size_hint=len(data)))
    if video.uri:
        return PollResult(JobState.SUCCEEDED, video=VideoSource(url=video.uri))
    return _failed(ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} completed with an empty video block")


def decode_video(data: str) -> bytes:
    """The bytes of an inline (base64) video; binascii.Error when it is not valid base64."""
    return base64.b64decode(data, validate=True)


def _failed(category: ErrorCategory, detail: str, *, retry_after: float | None = None) -> PollResult:
    """A FAILED observation carrying its error."""
    return PollResult(JobState.FAILED, error=GenerationError(category, detail, retry_after=retry_after))


def _interaction_error(interaction: Any) -> tuple[str | None, str]:
    """(code, message) of the interaction's error: the top-level `error`, else the first of `errors`."""
    extra = interaction.model_extra or {}
    error = extra.get("error")
    if isinstance(error, dict):
        return str_or_none(error.get("code")), str(error.get("message") or "")
    for item in interaction.errors or ():
        return str_or_none(item.code), item.message or ""
    return None, ""


def _video_tokens(usage: Any) -> int | None:
    """The video entry of usage.output_tokens_by_modality, or None."""
    for entry in getattr(usage, "output_tokens_by_modality", None) or ():
        if str(entry.modality).lower().endswith("video"):
            return entry.tokens
    return None
