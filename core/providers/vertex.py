"""Veo 3.1 on Vertex AI via google-genai 3.6 (``vertexai=True``): predictLongRunning + fetchPredictOperation.

Vertex has no cancel: `cancel()` only tells the caller to stop polling; the video may still be generated
and billed. The finished video arrives inline (base64) in the poll reply, so `fetch()` only writes bytes.
That reply is parsed (base64 decoded, pydantic validated) in a worker thread, not on the event loop.
The request (first and last frame, the clip to extend, sound) is shaped in `vertex_request`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import google.auth
import google.auth.exceptions
import pydantic
from google import genai
from google.genai import errors, types

from core.errors import ErrorCategory, GenerationError
from core.providers._common import retry_after, snippet, write_video
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.vertex_request import config_for, source_for

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

log = logging.getLogger(__name__)

DEFAULT_LOCATION = "us-central1"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
NO_CREDENTIALS = (
    "no Google Cloud credentials: set VERTEX_API_KEY or configure application default credentials"
)
UNKNOWN_OUTCOME = "the outcome is unknown (a job may have been created) and it was NOT resubmitted"
# google.rpc codes in a failed operation's `error` (not HTTP statuses)
RPC_CANCELLED, RPC_INVALID_ARGUMENT, RPC_RESOURCE_EXHAUSTED = 1, 3, 8
_RETRY_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


class VertexProvider:
    """Veo on Vertex AI, in project mode (OAuth credentials) or express mode (API key)."""

    name = "vertex"
    supports_cancel = False

    def __init__(
        self,
        *,
        project: str | None = None,
        location: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        credentials: Credentials | None = None,
        poll_interval: float = 10.0,
        request_timeout: float = 60.0,
    ) -> None:
        self.poll_interval = poll_interval
        self._project = project
        self._location = location or DEFAULT_LOCATION
        self._api_key = api_key
        self._credentials = credentials
        self._http_options = types.HttpOptions(
            base_url=base_url,
            timeout=max(1, round(request_timeout * 1000)),
            retry_options=types.HttpRetryOptions(attempts=1),  # no SDK retries, no hidden connect retry
        )
        self._client: genai.Client | None = None
        self._client_lock = asyncio.Lock()

    async def submit(self, request: VideoRequest) -> str:
        """Start one Veo job and return its operation name. Never retries by itself."""
        client = await self._get_client()
        model_id = request.model.provider_model_id
        try:
            op = await client.aio.models.generate_videos(
                model=model_id, source=source_for(request), config=config_for(request)
            )
        except Exception as exc:
            raise _call_error(exc, submit=True, subject=model_id) from exc
        if not op.name:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"Vertex AI answered the {model_id} request without an operation name; {UNKNOWN_OUTCOME}",
            )
        log.info("vertex job submitted: model=%s operation=%s", model_id, op.name)
        return op.name

    async def poll(self, ref: JobRef) -> PollResult:
        """Fetch the operation once (also the resume call); transient errors are raised as retryable."""
        client = await self._get_client()
        try:
            reply = await client.aio.operations.get(_UnparsedOperation(name=ref.job_id))
        except Exception as exc:
            raise _call_error(exc, submit=False, subject=ref.job_id) from exc
        if isinstance(reply, dict) and not reply.get("done"):
            return PollResult(state=JobState.RUNNING)  # nothing heavy to parse
        try:
            op = await _parsed(reply)
        except pydantic.ValidationError as exc:
            # The SDK decodes the video while parsing: the operation is done, and its video is unusable.
            error = GenerationError(
                ErrorCategory.GENERATION_FAILED,
                f"Vertex AI finished operation {ref.job_id} with a video that could not be decoded: "
                f"{snippet(exc)}",
            )
            return PollResult(state=JobState.FAILED, error=error)
        if not op.done:
            return PollResult(state=JobState.RUNNING)
        return _finished(op, ref.job_id)

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Write the inline video bytes to `dest` after checking size and the mp4 signature."""
        data = video.data
        if data is None:
            where = f" at {video.url}" if video.url else ""
            raise GenerationError(
                ErrorCategory.GENERATION_FAILED,
                f"Vertex AI stored the video of {ref.job_id} in Cloud Storage{where}, which this bot cannot "
                "download (it never sets storageUri and has no GCS access)",
            )
        return await write_video(data, dest, max_bytes, f"the video of Vertex AI operation {ref.job_id}")

    async def cancel(self, ref: JobRef) -> bool:
        """Vertex AI has no cancel: return False at once (no request, so nothing can hang); the caller
        stops polling, and the video may still be billed."""
        log.info("vertex has no cancel; operation %s keeps running and may still be billed", ref.job_id)
        return False

    async def list_models(self) -> list[str] | None:
        """Vertex offers no model listing we can check against; None tells `doctor` so."""
        return None

    async def aclose(self) -> None:
        """Close the SDK's HTTP sessions."""
        client, self._client = self._client, None
        if client is not None:
            await client.aio.aclose()
            client.close()

    async def _get_client(self) -> genai.Client:
        """The SDK client, built on first use (resolving ADC in a thread when no project was given)."""
        async with self._client_lock:
            if self._client is None:
                self._client = await asyncio.to_thread(self._build_client)
            return self._client

    def _build_client(self) -> genai.Client:
        if self._api_key:
            options: dict[str, Any] = {"api_key": self._api_key}
        else:
            project, credentials = self._resolve_project()
            # credentials None: the SDK loads application default credentials at the first request
            options = {"project": project, "location": self._location, "credentials": credentials}
        try:
            return genai.Client(vertexai=True, http_options=self._http_options, **options)
        except ValueError as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE, f"the Vertex AI client could not be configured: {exc}"
            ) from exc

    def _resolve_project(self) -> tuple[str, Credentials | None]:
        """The configured project, else the ADC project (never the SDK's fallback to a GOOGLE_API_KEY key)."""
        if self._project:
            return self._project, self._credentials
        try:
            adc, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, NO_CREDENTIALS) from exc
        if not project:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                "no Google Cloud project for Vertex AI: configure the project, or use VERTEX_API_KEY",
            )
        return project, self._credentials or adc


class _UnparsedOperation(types.GenerateVideosOperation):
    """Handed to `operations.get`, which builds its answer with `operation.from_api_response`: this one
    returns the reply's dict as it is, so that the parse (and the base64 decode of an inline video, tens
    of MB at 4k) can run in a worker thread. The HTTP call itself stays async."""

    @classmethod
    def from_api_response(cls, api_response: Any, is_vertex_ai: bool = False) -> Any:  # type: ignore[override]
        """The raw reply, unparsed."""
        return api_response


async def _parsed(reply: Any) -> types.GenerateVideosOperation:
    """The operation parsed off the event loop (or as the SDK parsed it, should it ignore our hook)."""
    if isinstance(reply, types.GenerateVideosOperation):
        return reply
    return await asyncio.to_thread(types.GenerateVideosOperation.from_api_response, reply, is_vertex_ai=True)


def _finished(op: types.GenerateVideosOperation, job_id: str) -> PollResult:
    """Classify a done operation: video, safety block, or provider failure."""
    if op.error:
        return PollResult(state=JobState.FAILED, error=_operation_error(op.error, job_id))
    response = op.response or op.result
    videos = (response.generated_videos if response else None) or []
    for generated in videos:
        video = generated.video
        if video and video.video_bytes:
            data = video.video_bytes
            return PollResult(state=JobState.SUCCEEDED, video=VideoSource(data=data, size_hint=len(data)))
        if video and video.uri:
            return PollResult(state=JobState.SUCCEEDED, video=VideoSource(url=video.uri))
    if response and (response.rai_media_filtered_count or response.rai_media_filtered_reasons):
        reasons = "; ".join(response.rai_media_filtered_reasons or []) or "no reason given"
        error = GenerationError(ErrorCategory.SAFETY_BLOCKED, f"Vertex AI filtered the video: {reasons}")
        return PollResult(state=JobState.FAILED, error=error)
    error = GenerationError(
        ErrorCategory.GENERATION_FAILED, f"Vertex AI finished operation {job_id} without a video"
    )
    return PollResult(state=JobState.FAILED, error=error)


def _operation_error(error: dict[str, Any], job_id: str) -> GenerationError:
    """Map a failed operation's google.rpc error (code + message) to a category."""
    code = error.get("code")
    message = error.get("message") or "no message"
    detail = f"Vertex AI operation {job_id} failed (rpc code {code}): {message}"
    category = {
        RPC_RESOURCE_EXHAUSTED: ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
        RPC_INVALID_ARGUMENT: ErrorCategory.INVALID_REQUEST,
        RPC_CANCELLED: ErrorCategory.CANCELLED,
    }.get(code, ErrorCategory.GENERATION_FAILED)
    return GenerationError(category, detail)


def _call_error(exc: Exception, *, submit: bool, subject: str) -> GenerationError:
    """Map a failed create (`subject` = model id) or poll (`subject` = operation name).

    Retryable only where no job can have been created: a poll, or a create that never left this host.
    """
    if isinstance(exc, errors.APIError):
        return _api_error(exc, submit=submit, subject=subject)
    if submit and isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"could not connect to Vertex AI; the request was not sent: {exc}",
            retryable=True,
        )
    auth = _auth_error(exc)
    if auth is not None:
        return auth
    reason = _transport_reason(exc)
    doing = f"creating a {subject} job; {UNKNOWN_OUTCOME}" if submit else f"polling {subject}"
    if reason is None:
        return _unexpected(exc, doing)
    if submit:
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"Vertex AI create for {subject}: {reason}; {UNKNOWN_OUTCOME}"
        )
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"polling Vertex AI operation {subject}: {reason}", retryable=True
    )


def _transport_reason(exc: Exception) -> str | None:
    """Why a call got no usable reply (timeout, connection, bad JSON), or None for other exceptions."""
    if isinstance(exc, TimeoutError):
        return "no reply within the request timeout"
    if isinstance(exc, aiohttp.ClientError):
        return f"the connection failed ({type(exc).__name__}: {exc})"
    if isinstance(exc, json.JSONDecodeError):
        return f"the reply was not valid JSON ({exc})"
    return None


def _unexpected(exc: Exception, doing: str) -> GenerationError:
    log.warning("unexpected error from google-genai while %s", doing, exc_info=exc)
    return GenerationError(ErrorCategory.UNKNOWN, f"unexpected {type(exc).__name__} while {doing}: {exc}")


def _auth_error(exc: Exception) -> GenerationError | None:
    """Credential failures raised by google-auth before any request is sent."""
    if isinstance(exc, google.auth.exceptions.DefaultCredentialsError):
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, NO_CREDENTIALS)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"Google Cloud credentials were rejected on refresh: {exc}"
        )
    if isinstance(exc, google.auth.exceptions.TransportError):
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"could not reach Google to refresh credentials; the request was not sent: {exc}",
            retryable=True,
        )
    return None


def _api_error(exc: errors.APIError, *, submit: bool, subject: str) -> GenerationError:
    """Map an HTTP error reply (`ClientError` 4xx / `ServerError` 5xx) for a create or a poll."""
    code, message = exc.code, snippet(exc.message or "")
    if message.startswith("<"):
        message = "(an HTML error page)"
    what = f"HTTP {code} {exc.status or ''}".strip() + (f": {message}" if message else "")
    if code == 429:
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            f"Vertex AI rate limit ({what})",
            retryable=True,
            retry_after=_retry_delay(exc),
        )
    if code in (401, 403) or "API key not valid" in message:
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"Vertex AI rejected the key/credentials ({what})"
        )
    if code == 404:
        if submit:
            return GenerationError(
                ErrorCategory.MODEL_UNAVAILABLE,
                f"model {subject} is no longer available (or this project cannot use it); update the catalog "
                f"({what})",
            )
        return GenerationError(ErrorCategory.UNKNOWN, f"the provider no longer knows job {subject} ({what})")
    if 400 <= code < 500 and code != 408:
        return GenerationError(ErrorCategory.INVALID_REQUEST, f"Vertex AI refused the request: {message}")
    if submit:
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"Vertex AI create for {subject} failed ({what}); {UNKNOWN_OUTCOME}",
        )
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"polling Vertex AI operation {subject} failed ({what})",
        retryable=True,
    )


def _retry_delay(exc: errors.APIError) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date) or a google.rpc.RetryInfo detail."""
    seconds = retry_after(getattr(exc.response, "headers", None))
    if seconds is not None:
        return seconds
    details = exc.details.get("error", {}).get("details", []) if isinstance(exc.details, dict) else []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    return None
