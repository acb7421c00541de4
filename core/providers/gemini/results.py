"""Reading an interaction: its status, video, refusal text, error and usage, as a PollResult.

Polls and the stream share this mapping: a poll reads the SDK's Interaction (`observe`), the stream builds
the same `Observation` from its events (`core.providers.gemini.stream`), and both end in `to_poll_result`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoSource
from core.providers.gemini.errors import retry_in, str_or_none

log = logging.getLogger(__name__)

# Statuses after which the server does no more work on the interaction. `idle` (google-genai 3.5.0+) means
# "the server has completed all processing"; `requires_action` is deprecated in its favour, so both settle
# like `completed`: a success when there is a video. Everything else (queued, in_progress, a missing status,
# requires_continuation, strings the SDK does not know) is still running; the runner's deadline ends jobs
# that never settle.
SETTLED = frozenset({"completed", "idle", "requires_action"})
TERMINAL = SETTLED | {"failed", "cancelled", "incomplete", "budget_exceeded"}


@dataclass(frozen=True)
class Observation:
    """What one look at an interaction showed, whatever it came from (a GET or stream events)."""

    status: str | None
    video: Any = None  # a video content block (object or dict with `data` / `uri`), or None
    text: str = ""  # the model's text output (a refusal, for a video model)
    error_code: str | None = None
    error_message: str = ""
    video_tokens: int | None = None


def observe(interaction: Any) -> Observation:
    """The Observation of an SDK Interaction (a poll's answer)."""
    code, message = interaction_error(interaction)
    return Observation(
        status=interaction.status,
        video=interaction.output_video,
        text=interaction.output_text or "",
        error_code=code,
        error_message=message,
        video_tokens=video_tokens(interaction.usage),
    )


async def to_poll_result(ref: JobRef, seen: Observation) -> PollResult:
    """Map one Observation to a PollResult (the same rules for polls and streams)."""
    status = seen.status
    if status in SETTLED and seen.video is not None:
        return await _succeeded(ref, seen)
    code, message = seen.error_code, seen.error_message
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
    if status not in TERMINAL:
        if status != "in_progress":
            log.debug("gemini job %s has status %r; treating it as running", ref.job_id, status)
        return PollResult(JobState.RUNNING)
    if status in SETTLED:
        refusal = seen.text.strip()
        if refusal:
            return _failed(
                ErrorCategory.SAFETY_BLOCKED,
                f"job {ref.job_id} {status} without a video (refused): {refusal}",
            )
        # Nothing at all, e.g. a task that is not offered in the user's region: not a safety refusal.
        return _failed(
            ErrorCategory.GENERATION_FAILED,
            f"job {ref.job_id} ended with status {status} without a video or an explanation",
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


async def _succeeded(ref: JobRef, seen: Observation) -> PollResult:
    """A settled interaction with a video: inline bytes (decoded off the loop) or a file URI."""
    data, uri = field(seen.video, "data"), field(seen.video, "uri")
    log.info(
        "gemini job %s %s (%s video tokens, %s)",
        ref.job_id,
        seen.status,
        seen.video_tokens if seen.video_tokens is not None else "unknown",
        "uri" if uri else "inline",
    )
    if data:
        try:
            # An inline 4k video is tens of MB of base64: decode it off the event loop.
            decoded = await asyncio.to_thread(decode_video, data)
        except (binascii.Error, ValueError) as exc:
            return _failed(
                ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} returned corrupt base64 video: {exc}"
            )
        return PollResult(JobState.SUCCEEDED, video=VideoSource(data=decoded, size_hint=len(decoded)))
    if uri:
        return PollResult(JobState.SUCCEEDED, video=VideoSource(url=uri))
    return _failed(ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} completed with an empty video block")


def decode_video(data: str) -> bytes:
    """The bytes of an inline (base64) video; binascii.Error when it is not valid base64."""
    return base64.b64decode(data, validate=True)


def _failed(category: ErrorCategory, detail: str, *, retry_after: float | None = None) -> PollResult:
    """A FAILED observation carrying its error."""
    return PollResult(JobState.FAILED, error=GenerationError(category, detail, retry_after=retry_after))


# -- reading SDK objects and raw event payloads alike ------------------------------------------------


def field(value: Any, name: str) -> Any:
    """`value[name]` for a mapping, else `value.name`; None when absent (SDK models and raw JSON alike)."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def interaction_error(interaction: Any) -> tuple[str | None, str]:
    """(code, message) of an interaction's error: the top-level `error`, else the first of `errors`."""
    error = field(interaction, "error")
    if error is None and not isinstance(interaction, Mapping):
        error = (getattr(interaction, "model_extra", None) or {}).get("error")
    if isinstance(error, Mapping):
        return str_or_none(error.get("code")), str(error.get("message") or "")
    for item in field(interaction, "errors") or ():
        return str_or_none(field(item, "code")), field(item, "message") or ""
    return None, ""


def video_tokens(usage: Any) -> int | None:
    """The video entry of usage.output_tokens_by_modality, or None."""
    for entry in field(usage, "output_tokens_by_modality") or ():
        if str(field(entry, "modality")).lower().endswith("video"):
            return field(entry, "tokens")
    return None


def outputs_of(steps: Iterable[Any]) -> tuple[Any, str]:
    """(video block, text) of the model's answer: the model_output steps after the last user input, the
    last video found and their text, as the SDK derives `output_video` / `output_text`."""
    video: Any = None
    texts: list[str] = []
    for step in reversed(list(steps)):
        kind = field(step, "type")
        if kind == "user_input":
            break
        if kind != "model_output":
            continue
        for item in reversed(field(step, "content") or ()):
            if field(item, "type") == "video" and video is None:
                video = item
            elif field(item, "type") == "text":
                texts.append(str(field(item, "text") or ""))
    return video, "".join(reversed(texts))
