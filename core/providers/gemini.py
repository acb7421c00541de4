"""Gemini Omni Flash through the Gemini API Interactions API (google-genai 3.4, async).

Wire protocol, status values and error quirks: /work/shared/docs/providers.md section 2.
The client is built with `HttpRetryOptions(attempts=1)`: the SDK's default retries would repeat the
create POST after a 5xx or timeout and could bill a second video. Polls and downloads are retried by
the caller (polls) or by the download loop here (late files), never by the SDK. A file that still 404s
when the download window is over is final: the caller does not start another window.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from google import genai
from google.genai import _interactions as gi
from google.genai import errors as genai_errors
from google.genai import types

from core.errors import ErrorCategory, GenerationError
from core.providers._common import (
    CANCEL_TIMEOUT,
    CappedSink,
    bounded,
    check_mp4,
    discard,
    retry_after,
    snippet,
    transport_error,
    write_video,
)
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource

log = logging.getLogger(__name__)

# Statuses after which the interaction never changes. Everything else (queued, in_progress, a missing
# status, requires_continuation, strings this SDK does not know) is treated as still running; the
# generator's overall deadline ends jobs that never settle.
_TERMINAL = frozenset(
    {"completed", "failed", "cancelled", "incomplete", "budget_exceeded", "requires_action"}
)
_RETRY_IN = re.compile(r"retry in ([0-9]+(?:\.[0-9]+)?)\s*s", re.IGNORECASE)


def _connect_error_types() -> tuple[type[BaseException], ...]:
    """httpx/httpx2 errors that mean the TCP connection never opened (so the request was not sent)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found += [module.ConnectError, module.ConnectTimeout]
    return tuple(found)


_CONNECT_ERRORS = _connect_error_types()


class GeminiProvider:
    """Omni Flash video jobs: create in the background, poll by interaction id, download the file."""

    name = "gemini"
    supports_cancel = True

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        poll_interval: float = 5.0,
        request_timeout: float = 60.0,
        download_retry_for: float = 120.0,
        download_retry_interval: float = 5.0,
        cancel_timeout: float = CANCEL_TIMEOUT,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poll_interval = poll_interval
        self._request_timeout = request_timeout
        self._cancel_timeout = cancel_timeout
        self._download_retry_for = download_retry_for
        self._download_retry_interval = download_retry_interval
        self._sleep = sleep
        self._clock = clock
        options: dict[str, Any] = {
            "api_version": "v1beta",
            "timeout": int(request_timeout * 1000),
            "retry_options": types.HttpRetryOptions(attempts=1),
        }
        if base_url:
            options["base_url"] = base_url
        self._client = genai.Client(api_key=api_key, http_options=types.HttpOptions(**options))

    # -- Provider interface ----------------------------------------------------------------------

    async def submit(self, request: VideoRequest) -> str:
        """Create a background interaction and return its id. Never retries by itself."""
        model_id = request.model.provider_model_id
        kwargs: dict[str, Any] = {
            "model": model_id,
            "input": _build_input(request),
            "background": True,
            "response_format": {
                "type": "video",
                "aspect_ratio": request.aspect_ratio,
                "duration": f"{request.duration}s",
                "resolution": request.resolution,
                "delivery": "uri",
            },
        }
        if request.seed is not None:
            kwargs["generation_config"] = {"seed": request.seed}
        try:
            interaction = await self._client.aio.interactions.create(**kwargs)
        except gi.APIError as exc:
            raise _map_api_error(exc, action=f"create on {model_id}", job_id=None) from exc
        if not interaction.id:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"create on {model_id} answered without an interaction id; the outcome is unknown and "
                "it was NOT resubmitted",
            )
        log.info(
            "gemini create accepted: job %s on %s (status %s)", interaction.id, model_id, interaction.status
        )
        return interaction.id

    async def poll(self, ref: JobRef) -> PollResult:
        """Observe the interaction once (also the resume call after a restart)."""
        try:
            interaction = await self._client.aio.interactions.get(ref.job_id)
        except gi.APIError as exc:
            raise _map_api_error(exc, action=f"poll of job {ref.job_id}", job_id=ref.job_id) from exc
        return await _to_poll_result(ref, interaction)

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Write the video to `dest` (inline bytes, or the file URI streamed); return its size."""
        what = f"the video of job {ref.job_id}"
        try:
            if video.data is not None:
                return await write_video(video.data, dest, max_bytes, what)
            if video.url:
                sink = await self._download(ref, video.url, dest, max_bytes)
                check_mp4(sink.head, what)
                return sink.size
            raise GenerationError(ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} has no video to fetch")
        except BaseException:
            await asyncio.to_thread(discard, dest)  # runs to the end even if this task is cancelled
            raise

    async def cancel(self, ref: JobRef) -> bool:
        """Ask the API to stop the interaction; give up after `cancel_timeout` s (retryable error)."""
        action = f"cancel of job {ref.job_id}"
        try:
            # The SDK's per-call timeout ends a stalled reply; `bounded` is the backstop for anything else.
            await bounded(
                self._client.aio.interactions.cancel(ref.job_id, timeout=self._cancel_timeout),
                self._cancel_timeout + 1.0,
                f"gemini {action}",
            )
        except gi.APIError as exc:
            raise _map_api_error(exc, action=action, job_id=ref.job_id) from exc
        log.info("gemini job %s cancelled", ref.job_id)
        return True

    async def list_models(self) -> list[str] | None:
        """Model ids the Gemini API lists (GET /v1beta/models), without the "models/" prefix."""
        try:
            pager = await self._client.aio.models.list()
            return [(m.name or "").removeprefix("models/") async for m in pager]
        except (genai_errors.APIError, gi.APIError) as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE, f"listing models failed: {_squash(str(exc))}"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error("listing models", exc, retryable=False) from exc

    async def aclose(self) -> None:
        """Close the SDK's HTTP sessions."""
        await self._client.aio.aclose()

    # -- download --------------------------------------------------------------------------------

    async def _download(self, ref: JobRef, uri: str, dest: Path, max_bytes: int) -> CappedSink:
        """files.download while the file still 404s (it can lag `completed` by ~95 s), for at most
        `download_retry_for` seconds; a 404 after that is final (not retryable)."""
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with CappedSink(dest, max_bytes) as sink:
                    await self._client.aio.files.download(file=uri, destination=sink)
                return sink
            except genai_errors.ClientError as exc:
                waited = self._clock() - started
                if exc.code == 404 and waited < self._download_retry_for:
                    log.info(
                        "gemini file for job %s not ready (404, attempt %d, %.0f s); retrying in %.0f s",
                        ref.job_id,
                        attempt,
                        waited,
                        self._download_retry_interval,
                    )
                    await self._sleep(self._download_retry_interval)
                    continue
                raise _map_download_error(exc, ref.job_id, waited) from exc
            except genai_errors.APIError as exc:
                raise _map_download_error(exc, ref.job_id, self._clock() - started) from exc
            except aiohttp.ClientPayloadError as exc:
                raise GenerationError(
                    ErrorCategory.PROVIDER_UNAVAILABLE,
                    f"download of job {ref.job_id} was truncated: {exc}",
                    retryable=True,
                ) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise transport_error(f"download of job {ref.job_id}", exc) from exc
            except ValueError as exc:  # the SDK rejects URIs it cannot turn into a file id
                raise GenerationError(
                    ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} returned an unusable video URI: {exc}"
                ) from exc


# -- request building ----------------------------------------------------------------------------


def _build_input(request: VideoRequest) -> str | list[dict[str, Any]]:
    """The prompt, or image + text content blocks when a first-frame image is given."""
    text = request.prompt
    if request.negative_prompt:
        # Omni has no negative-prompt parameter, so the wish goes into the prompt itself.
        text = f"{text}\n\nAvoid: {request.negative_prompt}"
    if request.image is None:
        return text
    return [
        {
            "type": "image",
            "data": base64.b64encode(request.image).decode("ascii"),
            "mime_type": request.image_mime_type or "image/png",
        },
        {"type": "text", "text": text},
    ]


# -- poll results --------------------------------------------------------------------------------


async def _to_poll_result(ref: JobRef, interaction: Any) -> PollResult:
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
            retry_after=_retry_in(message),
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
            data = await asyncio.to_thread(_decode_video, video.data)
        except (binascii.Error, ValueError) as exc:
            return _failed(
                ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} returned corrupt base64 video: {exc}"
            )
        return PollResult(JobState.SUCCEEDED, video=VideoSource(data=data, size_hint=len(data)))
    if video.uri:
        return PollResult(JobState.SUCCEEDED, video=VideoSource(url=video.uri))
    return _failed(ErrorCategory.GENERATION_FAILED, f"job {ref.job_id} completed with an empty video block")


def _decode_video(data: str) -> bytes:
    """The bytes of an inline (base64) video; binascii.Error when it is not valid base64."""
    return base64.b64decode(data, validate=True)


def _failed(category: ErrorCategory, detail: str, *, retry_after: float | None = None) -> PollResult:
    return PollResult(JobState.FAILED, error=GenerationError(category, detail, retry_after=retry_after))


def _interaction_error(interaction: Any) -> tuple[str | None, str]:
    """(code, message) of the interaction's error: the top-level `error`, else the first of `errors`."""
    extra = interaction.model_extra or {}
    error = extra.get("error")
    if isinstance(error, dict):
        return _str_or_none(error.get("code")), str(error.get("message") or "")
    for item in interaction.errors or ():
        return _str_or_none(item.code), item.message or ""
    return None, ""


def _video_tokens(usage: Any) -> int | None:
    for entry in getattr(usage, "output_tokens_by_modality", None) or ():
        if str(entry.modality).lower().endswith("video"):
            return entry.tokens
    return None


# -- errors --------------------------------------------------------------------------------------


def _map_api_error(exc: gi.APIError, *, action: str, job_id: str | None) -> GenerationError:
    """Turn an Interactions SDK error into a GenerationError; `job_id` is None for create."""
    submitting = job_id is None
    unknown_outcome = "the outcome is unknown and it was NOT resubmitted"

    if isinstance(exc, gi.APIConnectionError):  # includes APITimeoutError
        if _never_connected(exc):
            return GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"{action}: could not connect to the Gemini API ({_cause_name(exc)}); nothing was sent",
                retryable=True,
            )
        what = "timed out" if isinstance(exc, gi.APITimeoutError) else f"lost the connection ({exc})"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{action} {what}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{action} {what}", retryable=True)

    if isinstance(exc, gi.APIResponseValidationError):
        detail = f"{action} got a malformed reply (HTTP {exc.status_code}): {exc.message}"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)

    if not isinstance(exc, gi.APIStatusError):
        detail = f"{action} failed: {exc}"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)

    status = exc.status_code
    code, message = _body_error(exc.body)
    detail = f"{action}: HTTP {status}" + (f" {code}" if code else "") + f": {message or 'no message'}"
    lowered = message.lower()

    if status == 429:
        # A 429 creates no job, and a poll/cancel changes nothing, so repeating is safe.
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            detail,
            retryable=True,
            retry_after=_retry_after(exc, message),
        )
    if status in (401, 403) or "api key not valid" in lowered or "api_key_invalid" in str(exc.body).lower():
        return _key_rejected(detail)
    if "is no longer available" in lowered:
        return GenerationError(ErrorCategory.MODEL_UNAVAILABLE, detail)
    if job_id is not None and (
        (status == 400 and "invalid interaction name" in lowered)
        or (status == 404 and "model" not in lowered)
    ):
        return GenerationError(ErrorCategory.UNKNOWN, f"the provider no longer knows job {job_id} ({detail})")
    if status == 404:
        return GenerationError(ErrorCategory.MODEL_UNAVAILABLE, detail)
    if status >= 500 or status == 408:
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)
    if "safety" in lowered or "content policy" in lowered:
        return GenerationError(ErrorCategory.SAFETY_BLOCKED, detail)
    return GenerationError(ErrorCategory.INVALID_REQUEST, detail)


def _map_download_error(exc: genai_errors.APIError, job_id: str, waited: float) -> GenerationError:
    """files.download errors (google.genai.errors, not the Interactions classes)."""
    detail = f"download of job {job_id}: HTTP {exc.code}" + (f" {exc.status}" if exc.status else "")
    detail += f": {exc.message or 'no message'}"
    if exc.code == 404:
        # Final: the download loop already waited out the file's usual delay, and another window from the
        # caller would only stretch a missing file's failure to many minutes.
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail} (still missing after {waited:.0f} s)"
        )
    if exc.code == 429:
        return GenerationError(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, detail, retryable=True)
    if exc.code in (401, 403) or "api key not valid" in (exc.message or "").lower():
        return _key_rejected(detail)
    if exc.code >= 500 or exc.code == 408:
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)
    return GenerationError(ErrorCategory.GENERATION_FAILED, detail)


def _key_rejected(detail: str) -> GenerationError:
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"the Gemini API key was rejected: {detail}")


def _body_error(body: object) -> tuple[str | None, str]:
    """(code, message) from `{"error": {...}}`, a list of those, or a plain text body."""
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return _str_or_none(error.get("code")), str(error.get("message") or "")
        return None, str(error)
    if isinstance(body, str):
        return None, _squash(body)
    return None, ""


def _retry_after(exc: gi.APIStatusError, message: str) -> float | None:
    """The Retry-After header (seconds or an HTTP date), else the "retry in N s" of the message."""
    seconds = retry_after(exc.response.headers) if exc.response is not None else None
    return seconds if seconds is not None else _retry_in(message)


def _retry_in(message: str) -> float | None:
    match = _RETRY_IN.search(message or "")
    return float(match.group(1)) if match else None


def _never_connected(exc: BaseException) -> bool:
    """True when the cause chain holds a connect failure, i.e. the request never left this host."""
    seen: BaseException | None = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, _CONNECT_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cause_name(exc: BaseException) -> str:
    cause = exc.__cause__
    return f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _squash(text: str, limit: int = 300) -> str:
    """Tags and whitespace out of an HTML error page, shortened for logs."""
    return snippet(re.sub(r"<[^>]+>", " ", text), limit)
