"""fal.ai queue provider over plain aiohttp: submit, status, result, cancel and the media download.

Protocol: providers.md section 4.2. We do not use fal-client: its submit retries up to 10 times (a retried
submit can duplicate a paid job) and it has no base-URL option for tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDictProxy

from core.errors import ErrorCategory, GenerationError
from core.media.probe import looks_like_mp4
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource

log = logging.getLogger(__name__)

DEFAULT_QUEUE_URL = "https://queue.fal.run"
_CHUNK = 256 * 1024
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
_SNIPPET = 300

# No `x-fal-no-retry` header, on purpose. fal's server-side retries re-run the SAME queued request
# (same request_id) when a runner fails with 503/504 or drops its connection (up to 10 times, doc). They
# never create a second job on our account, and 5xx runner failures are not billed, so they only raise
# the success rate. Our at-most-once rule is about OUR client never repeating the submit POST, which
# this provider guarantees by never retrying submit itself.
_BASE_HEADERS = {"Accept": "application/json", "User-Agent": "videobot/0.1 (aiohttp)"}


def format_duration(seconds: int, duration_format: str) -> str | int:
    """The duration value in the form the endpoint family wants: "6s", "6" or 6."""
    if duration_format == "seconds_suffix":
        return f"{seconds}s"
    if duration_format == "string":
        return str(seconds)
    if duration_format == "integer":
        return seconds
    raise ValueError(f"unknown duration_format {duration_format!r}")


def endpoint_for(request: VideoRequest) -> str:
    """The fal endpoint id for this request: the image-to-video one when an image is given."""
    model = request.model
    if request.image is None:
        return model.provider_model_id
    if not model.image_model_id:
        raise GenerationError(
            ErrorCategory.INVALID_REQUEST,
            f"model {model.name} takes no image input on fal (no image_model_id)",
        )
    return model.image_model_id


def build_arguments(request: VideoRequest) -> dict[str, Any]:
    """The JSON arguments of a submit, shaped per model family from the catalog entry."""
    model = request.model
    args: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "duration": format_duration(request.duration, model.duration_format),
    }
    if model.send_resolution:
        args["resolution"] = request.resolution
    if model.audio == "optional":
        args["generate_audio"] = True
    if request.negative_prompt and model.negative_prompt:
        args["negative_prompt"] = request.negative_prompt
    if request.seed is not None and model.seed:
        args["seed"] = request.seed
    if request.image is not None:
        # fal accepts data URIs wherever it takes a file URL, so no upload step is needed.
        mime = request.image_mime_type or "image/png"
        args["image_url"] = f"data:{mime};base64,{base64.b64encode(request.image).decode('ascii')}"
    return args


@dataclass(frozen=True)
class _Urls:
    status: str
    response: str
    cancel: str


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: CIMultiDictProxy[str]
    text: str


@dataclass(frozen=True)
class _FalError:
    """What an error reply says: fal's message, its error_type, and whether it is a content-policy refusal."""

    message: str
    error_type: str | None
    content_policy: bool
    from_fal: bool  # a JSON body with `detail` (fal itself), not an ingress/proxy page

    @classmethod
    def parse(cls, reply: _Reply) -> _FalError:
        """Read `detail` (a string or a pydantic-style list) and error_type from a reply."""
        header_type = reply.headers.get("X-Fal-Error-Type")
        try:
            body = json.loads(reply.text)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "detail" not in body:
            return cls(_snippet(reply.text) or f"HTTP {reply.status}", header_type, False, False)
        detail = body["detail"]
        error_type = body.get("error_type") or header_type
        policy = error_type == "content_policy_violation"
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if not isinstance(item, dict):
                    parts.append(str(item))
                    continue
                policy = policy or item.get("type") == "content_policy_violation"
                loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
            message = "; ".join(parts)
        else:
            message = str(detail)
        return cls(_snippet(message), error_type if isinstance(error_type, str) else None, policy, True)


class FalProvider:
    """fal.ai queue (Veo 3.1, Kling v3, ...) with the video fetched from fal's media host."""

    name = "fal"
    supports_cancel = True

    def __init__(
        self,
        key: str,
        queue_url: str = DEFAULT_QUEUE_URL,
        *,
        poll_interval: float = 3.0,
        request_timeout: float = 60.0,
    ) -> None:
        self._key = key
        self._queue_url = queue_url.rstrip("/")
        self.poll_interval = poll_interval
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        # Downloads may be large: bound connecting and every read (a stall), not the whole transfer.
        self._fetch_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=request_timeout, sock_read=request_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"FalProvider(queue_url={self._queue_url!r})"

    # -- plumbing ----------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=_BASE_HEADERS)
        return self._session

    async def _call(self, method: str, url: str, payload: dict[str, Any] | None = None) -> _Reply:
        """One authenticated queue call; transport errors propagate for the caller to classify."""
        headers = {"Authorization": f"Key {self._key}"}
        async with self._http().request(
            method, url, json=payload, headers=headers, timeout=self._timeout, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            return _Reply(resp.status, resp.headers, raw.decode("utf-8", errors="replace"))

    def _urls(self, ref: JobRef) -> _Urls:
        """Rebuild the queue URLs from the endpoint and request id (sub-path rule: keep owner/app)."""
        app = "/".join(ref.provider_model_id.strip("/").split("/")[:2])
        base = f"{self._queue_url}/{app}/requests/{quote(ref.job_id, safe='')}"
        return _Urls(status=f"{base}/status", response=base, cancel=f"{base}/cancel")

    # -- submit ------------------------------------------------------------------------------------

    async def submit(self, request: VideoRequest) -> str:
        """POST the arguments to the queue and return fal's request_id. Never retried here."""
        endpoint = endpoint_for(request)
        arguments = build_arguments(request)
        try:
            reply = await self._call("POST", f"{self._queue_url}/{endpoint}", arguments)
        except aiohttp.ClientConnectorError as exc:
            # The connection was never established, so the request was never sent.
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"fal queue unreachable ({exc.__class__.__name__}); nothing was submitted",
                retryable=True,
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unknown_outcome(endpoint, _exc_text(exc)) from exc
        if 200 <= reply.status < 300:
            return self._accepted(endpoint, reply)
        raise _submit_error(endpoint, reply)

    def _accepted(self, endpoint: str, reply: _Reply) -> str:
        """The request_id of a successful submit reply (whose outcome is unknown if it is unreadable)."""
        try:
            body = json.loads(reply.text)
        except ValueError:
            raise _unknown_outcome(endpoint, f"HTTP {reply.status} with a body that is not JSON") from None
        rid = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(rid, str) or not rid:
            raise _unknown_outcome(endpoint, f"HTTP {reply.status} without a request_id")
        # We address the job by id later (also after a restart), so only the id is essential; still,
        # say so loudly if fal's URLs stop following the sub-path rule our rebuilt URLs rely on.
        expected = self._urls(JobRef(rid, endpoint))
        returned = {k: body.get(k) for k in ("status_url", "response_url", "cancel_url")}
        rebuilt = {
            "status_url": expected.status,
            "response_url": expected.response,
            "cancel_url": expected.cancel,
        }
        for key, value in returned.items():
            if not isinstance(value, str):
                log.warning("fal submit reply for %s lacks %s; using %s", rid, key, rebuilt[key])
            elif value.split("?")[0] != rebuilt[key]:
                log.warning("fal returned %s=%s but the rebuilt URL is %s", key, value, rebuilt[key])
        log.info("fal accepted request %s on %s", rid, endpoint)
        return rid

    # -- poll --------------------------------------------------------------------------------------

    async def poll(self, ref: JobRef) -> PollResult:
        """GET the status once; on COMPLETED also GET the result. Transient trouble is raised, retryable."""
        urls = self._urls(ref)
        reply = await self._poll_call("GET", f"{urls.status}?logs=1", ref, "status")
        if reply.status == 404:
            return _failed(ErrorCategory.UNKNOWN, f"the provider no longer knows job {ref.job_id}")
        if not 200 <= reply.status < 300:
            raise _poll_http_error(ref, "status", reply)
        body = _json_object(reply, ref, "status")
        state = body.get("status")
        if state == "IN_QUEUE":
            position = body.get("queue_position")
            if not isinstance(position, int) or isinstance(position, bool):
                raise _malformed(ref, "status", "IN_QUEUE without an integer queue_position")
            return PollResult(JobState.QUEUED, queue_position=position)
        if state not in ("IN_PROGRESS", "COMPLETED"):
            raise _malformed(ref, "status", f"unknown status {state!r}")
        if "logs" not in body:
            raise _malformed(ref, "status", f"{state} without a logs key")
        if state == "IN_PROGRESS":
            return PollResult(JobState.RUNNING, progress=_progress(body["logs"]))
        metrics = body.get("metrics")
        if isinstance(metrics, dict) and "inference_time" in metrics:
            log.debug("fal request %s inference_time=%s s", ref.job_id, metrics["inference_time"])
        if body.get("error") or body.get("error_type"):
            return _completed_with_error(ref, body.get("error"), body.get("error_type"))
        return await self._result(ref, urls)

    async def _result(self, ref: JobRef, urls: _Urls) -> PollResult:
        """GET the stored result of a COMPLETED request."""
        reply = await self._poll_call("GET", urls.response, ref, "result")
        if 200 <= reply.status < 300:
            body = _json_object(reply, ref, "result")
            video = body.get("video")
            url = video.get("url") if isinstance(video, dict) else None
            if not isinstance(url, str) or not url:
                return _failed(
                    ErrorCategory.GENERATION_FAILED,
                    f"fal result of {ref.job_id} has no video URL (keys: {', '.join(sorted(body))})",
                )
            size = video.get("file_size")
            size_hint = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None
            log.info("fal request %s succeeded (%s bytes)", ref.job_id, size_hint)
            return PollResult(JobState.SUCCEEDED, video=VideoSource(url=url, size_hint=size_hint))
        err = _FalError.parse(reply)
        if reply.status == 404:
            return _failed(ErrorCategory.UNKNOWN, f"the provider no longer knows job {ref.job_id}")
        # fal stores the app's error reply and returns it on every result GET (a JSON `detail`): that is
        # the job's outcome. A 429, or a 5xx page from the ingress (no JSON detail), is about this GET only.
        if reply.status in (401, 403, 408, 429) or (reply.status >= 500 and not err.from_fal):
            raise _poll_http_error(ref, "result", reply)
        if err.content_policy:
            return _failed(ErrorCategory.SAFETY_BLOCKED, f"fal refused job {ref.job_id}: {err.message}")
        kind = f" {err.error_type}" if err.error_type else ""
        return _failed(
            ErrorCategory.GENERATION_FAILED,
            f"fal job {ref.job_id} failed (HTTP {reply.status}{kind}): {err.message}",
        )

    async def _poll_call(self, method: str, url: str, ref: JobRef, what: str) -> _Reply:
        """A queue call whose transport failures are retryable (it cannot create a job)."""
        try:
            return await self._call(method, url)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"fal {what} of {ref.job_id} failed: {_exc_text(exc)}",
                retryable=True,
            ) from exc

    # -- fetch -------------------------------------------------------------------------------------

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Stream the video URL (plain unauthenticated GET) to `dest`; check size and mp4 signature."""
        if video.data is not None:
            return await _write_bytes(video.data, dest, max_bytes)
        if not video.url:
            raise GenerationError(ErrorCategory.GENERATION_FAILED, f"fal job {ref.job_id} gave no video URL")
        if video.size_hint is not None and video.size_hint > max_bytes:
            raise _too_large(max_bytes)
        try:
            size = await self._download(ref, video.url, video.size_hint, dest, max_bytes)
        except BaseException as exc:
            _discard(dest)  # also on cancellation: never leave a partial file behind
            if isinstance(exc, GenerationError) or not isinstance(exc, Exception):
                raise
            raise _fetch_error(ref, dest, exc) from exc
        log.info("fetched fal video %s: %d bytes", ref.job_id, size)
        return size

    async def _download(
        self, ref: JobRef, url: str, size_hint: int | None, dest: Path, max_bytes: int
    ) -> int:
        """GET and stream to disk; raises GenerationError for HTTP/size/signature problems."""
        # No Authorization header: the media host is public and must never see the key.
        async with self._http().get(url, timeout=self._fetch_timeout) as resp:
            if resp.status != 200:
                raise _download_http_error(ref, resp.status)
            declared = resp.content_length
            if declared is not None and declared > max_bytes:
                raise _too_large(max_bytes)
            size, head = await _stream_to_file(resp, dest, max_bytes)
        expected = declared if declared is not None else size_hint
        if expected is not None and size != expected:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"download of {ref.job_id} was truncated: got {size} of {expected} bytes",
                retryable=True,
            )
        if size_hint is not None and size != size_hint:
            log.warning("fal video %s is %d bytes but file_size said %d", ref.job_id, size, size_hint)
        _check_mp4(head)
        return size

    # -- cancel / close --------------------------------------------------------------------------------

    async def cancel(self, ref: JobRef) -> bool:
        """PUT the cancel URL: True when fal accepted the cancellation, False when it was too late."""
        try:
            reply = await self._call("PUT", self._urls(ref).cancel)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"fal cancel of {ref.job_id} failed: {_exc_text(exc)}",
                retryable=True,
            ) from exc
        try:
            body = json.loads(reply.text)
        except ValueError:
            body = None
        state = body.get("status") if isinstance(body, dict) else None
        if state == "CANCELLATION_REQUESTED" or (state is None and 200 <= reply.status < 300):
            log.info("fal cancellation requested for %s", ref.job_id)
            return True
        if state in ("ALREADY_COMPLETED", "NOT_FOUND") or reply.status == 404:
            log.info("fal could not cancel %s: %s", ref.job_id, state or f"HTTP {reply.status}")
            return False
        raise _poll_http_error(ref, "cancel", reply)

    async def list_models(self) -> list[str] | None:
        """fal offers no model listing we can check against; None tells `doctor` so."""
        return None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


# -- error mapping ------------------------------------------------------------------------------------


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _exc_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _retry_after(headers: CIMultiDictProxy[str]) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), or None."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _key_rejected(status: int) -> GenerationError:
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"fal rejected the API key (HTTP {status}); check FAL_KEY"
    )


def _unknown_outcome(endpoint: str, what: str) -> GenerationError:
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"submit to fal {endpoint} failed ({what}); the job may exist, outcome unknown, NOT resubmitted",
    )


def _submit_error(endpoint: str, reply: _Reply) -> GenerationError:
    """Map a non-2xx submit reply."""
    err = _FalError.parse(reply)
    status = reply.status
    if status == 429:
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            f"fal rate limit on submit (429): {err.message}; no job was created",
            retryable=True,
            retry_after=_retry_after(reply.headers),
        )
    if status == 503:
        # fal documents 5xx requests as not billed, and 503 is its "no runner / try again" answer.
        kind = f" {err.error_type}" if err.error_type else ""
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"fal unavailable on submit (503{kind}): {err.message}; not billed",
            retryable=True,
            retry_after=_retry_after(reply.headers),
        )
    if status >= 500:
        return _unknown_outcome(endpoint, f"HTTP {status}: {err.message}")
    if status in (401, 403):
        return _key_rejected(status)
    if status == 404:
        return GenerationError(
            ErrorCategory.MODEL_UNAVAILABLE,
            f"fal endpoint {endpoint} is no longer available (404: {err.message}); update the catalog",
        )
    if err.content_policy:
        return GenerationError(ErrorCategory.SAFETY_BLOCKED, f"fal refused the prompt: {err.message}")
    if status in (400, 422):
        return GenerationError(ErrorCategory.INVALID_REQUEST, f"fal rejected the request: {err.message}")
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"fal answered submit with HTTP {status}: {err.message}"
    )


def _poll_http_error(ref: JobRef, what: str, reply: _Reply) -> GenerationError:
    """Map an error reply to a status/result/cancel call (which never creates a job)."""
    err = _FalError.parse(reply)
    status = reply.status
    text = f"fal {what} of {ref.job_id}: HTTP {status}: {err.message}"
    if status == 429:
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            text,
            retryable=True,
            retry_after=_retry_after(reply.headers),
        )
    if status >= 500 or status in (408, 409):
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True, retry_after=_retry_after(reply.headers)
        )
    if status in (401, 403):
        return _key_rejected(status)
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text)


def _malformed(ref: JobRef, what: str, problem: str) -> GenerationError:
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"fal {what} of {ref.job_id} was malformed: {problem}",
        retryable=True,
    )


def _json_object(reply: _Reply, ref: JobRef, what: str) -> dict[str, Any]:
    try:
        body = json.loads(reply.text)
    except ValueError:
        raise _malformed(ref, what, f"not JSON: {_snippet(reply.text)[:80]}") from None
    if not isinstance(body, dict):
        raise _malformed(ref, what, "not a JSON object")
    return body


def _failed(category: ErrorCategory, detail: str) -> PollResult:
    log.info("fal job ended: %s: %s", category.value, detail)
    return PollResult(JobState.FAILED, error=GenerationError(category, detail))


def _completed_with_error(ref: JobRef, error: Any, error_type: Any) -> PollResult:
    """COMPLETED carrying error/error_type: cancelled, refused, or failed."""
    text = f"{error_type}: {error}" if error_type else str(error)
    lowered = text.lower()
    if error_type == "request_cancelled":
        return _failed(ErrorCategory.CANCELLED, f"fal job {ref.job_id} was cancelled ({error})")
    if "content_policy" in lowered or "content policy" in lowered:
        return _failed(ErrorCategory.SAFETY_BLOCKED, f"fal refused job {ref.job_id}: {text}")
    return _failed(ErrorCategory.GENERATION_FAILED, f"fal job {ref.job_id} failed: {_snippet(text)}")


def _progress(logs: Any) -> float | None:
    """The last "NN%" in the runner logs as 0.0-1.0, if any."""
    if not isinstance(logs, list):
        return None
    for entry in reversed(logs):
        message = entry.get("message") if isinstance(entry, dict) else None
        match = _PERCENT.search(message) if isinstance(message, str) else None
        if match:
            return min(float(match.group(1)) / 100, 1.0)
    return None


# -- download helpers ---------------------------------------------------------------------------------


def _too_large(max_bytes: int) -> GenerationError:
    return GenerationError(ErrorCategory.GENERATION_FAILED, f"video larger than {max_bytes} bytes")


def _download_http_error(ref: JobRef, status: int) -> GenerationError:
    # fal media URLs are plain GETs; a 404 right after completion may be propagation, so the
    # generator may retry a few times (it bounds the retries).
    text = f"download of {ref.job_id} failed with HTTP {status}"
    if status == 429:
        return GenerationError(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, text, retryable=True)
    if status in (404, 408) or status >= 500:
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True)
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text)


def _fetch_error(ref: JobRef, dest: Path, exc: Exception) -> GenerationError:
    """Map a download exception: truncation and transport trouble are retryable."""
    if isinstance(exc, aiohttp.ClientPayloadError):
        text = f"download of {ref.job_id} was truncated: {_exc_text(exc)}"
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True)
    if isinstance(exc, TimeoutError | aiohttp.ClientError):
        text = f"download of {ref.job_id} failed: {_exc_text(exc)}"
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True)
    if isinstance(exc, OSError):
        return GenerationError(ErrorCategory.UNKNOWN, f"could not write {dest}: {exc}")
    return GenerationError(ErrorCategory.UNKNOWN, f"download of {ref.job_id} failed: {_exc_text(exc)}")


def _discard(path: Path) -> None:
    """Remove a partial download, if any."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _check_mp4(head: bytes) -> None:
    if not looks_like_mp4(head):
        raise GenerationError(
            ErrorCategory.GENERATION_FAILED, "the downloaded file is not an mp4 (no ftyp box)"
        )


async def _stream_to_file(resp: aiohttp.ClientResponse, dest: Path, max_bytes: int) -> tuple[int, bytes]:
    """Write the body to `dest` chunk by chunk; return (size, first 8 bytes)."""
    size = 0
    head = b""
    out = await asyncio.to_thread(dest.open, "wb")
    try:
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            if len(head) < 8:
                head += chunk[: 8 - len(head)]
            out.write(chunk)
    finally:
        out.close()
    return size, head


async def _write_bytes(data: bytes, dest: Path, max_bytes: int) -> int:
    """Write inline video bytes after the size and signature checks."""
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    _check_mp4(data[:8])
    await asyncio.to_thread(dest.write_bytes, data)
    return len(data)
