"""FalProvider: fal.ai's queue over plain aiohttp (submit, status, result, cancel) and the media download.

Protocol: providers.md section 4.2. We do not use fal-client: its submit retries up to 10 times (a retried
submit can duplicate a paid job) and it has no base-URL option for tests.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from core.errors import ErrorCategory, GenerationError
from core.providers._common import (
    CANCEL_TIMEOUT,
    CappedSink,
    bounded,
    check_mp4,
    discard,
    exc_text,
    json_or_none,
    too_large,
    transport_error,
    write_video,
)
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.fal import errors
from core.providers.fal.errors import Reply
from core.providers.fal.request import build_arguments, endpoint_for

log = logging.getLogger(__name__)

DEFAULT_QUEUE_URL = "https://queue.fal.run"
_CHUNK = 256 * 1024

# No `x-fal-no-retry` header, on purpose. fal's server-side retries re-run the SAME queued request
# (same request_id) when a runner fails with 503/504 or drops its connection (up to 10 times, doc). They
# never create a second job on our account, and 5xx runner failures are not billed, so they only raise
# the success rate. Our at-most-once rule is about OUR client never repeating the submit POST, which
# this provider guarantees by never retrying submit itself.
_BASE_HEADERS = {"Accept": "application/json", "User-Agent": "videobot/0.1 (aiohttp)"}


@dataclass(frozen=True)
class _Urls:
    status: str
    response: str
    cancel: str


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
        cancel_timeout: float = CANCEL_TIMEOUT,
    ) -> None:
        self._key = key
        self._queue_url = queue_url.rstrip("/")
        self.poll_interval = poll_interval
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._cancel_timeout = cancel_timeout
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

    async def _call(
        self,
        method: str,
        url: str,
        payload: dict[str, Any] | None = None,
        time_limit: aiohttp.ClientTimeout | None = None,
    ) -> Reply:
        """One authenticated queue call; transport errors propagate for the caller to classify."""
        headers = {"Authorization": f"Key {self._key}"}
        async with self._http().request(
            method,
            url,
            json=payload,
            headers=headers,
            timeout=time_limit or self._timeout,
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            return Reply(resp.status, resp.headers, raw.decode("utf-8", errors="replace"))

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
            raise errors.unknown_outcome(endpoint, exc_text(exc)) from exc
        if 200 <= reply.status < 300:
            return self._accepted(endpoint, reply)
        raise errors.submit_error(endpoint, reply)

    def _accepted(self, endpoint: str, reply: Reply) -> str:
        """The request_id of a successful submit reply (whose outcome is unknown if it is unreadable)."""
        body = json_or_none(reply.text)
        if body is None:
            raise errors.unknown_outcome(endpoint, f"HTTP {reply.status} with a body that is not JSON")
        rid = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(rid, str) or not rid:
            raise errors.unknown_outcome(endpoint, f"HTTP {reply.status} without a request_id")
        # We address the job by id later (also after a restart), so only the id is essential; still,
        # say so loudly if fal's URLs stop following the sub-path rule our rebuilt URLs rely on.
        expected = self._urls(JobRef(rid, endpoint))
        rebuilt = {
            "status_url": expected.status,
            "response_url": expected.response,
            "cancel_url": expected.cancel,
        }
        for key, wanted in rebuilt.items():
            value = body.get(key)
            if not isinstance(value, str):
                log.warning("fal submit reply for %s lacks %s; using %s", rid, key, wanted)
            elif value.split("?")[0] != wanted:
                log.warning("fal returned %s=%s but the rebuilt URL is %s", key, value, wanted)
        log.info("fal accepted request %s on %s", rid, endpoint)
        return rid

    # -- poll --------------------------------------------------------------------------------------

    async def poll(self, ref: JobRef) -> PollResult:
        """GET the status once; on COMPLETED also GET the result. Transient trouble is raised, retryable."""
        urls = self._urls(ref)
        reply = await self._poll_call("GET", f"{urls.status}?logs=1", ref, "status")
        if reply.status == 404:
            return errors.failed(ErrorCategory.UNKNOWN, f"the provider no longer knows job {ref.job_id}")
        if not 200 <= reply.status < 300:
            raise errors.poll_http_error(ref, "status", reply)
        body = errors.json_object(reply, ref, "status")
        state = body.get("status")
        if state == "IN_QUEUE":
            position = body.get("queue_position")
            if not isinstance(position, int) or isinstance(position, bool):
                raise errors.malformed(ref, "status", "IN_QUEUE without an integer queue_position")
            return PollResult(JobState.QUEUED, queue_position=position)
        if state not in ("IN_PROGRESS", "COMPLETED"):
            raise errors.malformed(ref, "status", f"unknown status {state!r}")
        if "logs" not in body:
            raise errors.malformed(ref, "status", f"{state} without a logs key")
        if state == "IN_PROGRESS":
            return PollResult(JobState.RUNNING, progress=errors.progress(body["logs"]))
        metrics = body.get("metrics")
        if isinstance(metrics, dict) and "inference_time" in metrics:
            log.debug("fal request %s inference_time=%s s", ref.job_id, metrics["inference_time"])
        if body.get("error") or body.get("error_type"):
            return errors.completed_with_error(ref, body.get("error"), body.get("error_type"))
        return await self._result(ref, urls)

    async def _result(self, ref: JobRef, urls: _Urls) -> PollResult:
        """GET the stored result of a COMPLETED request."""
        reply = await self._poll_call("GET", urls.response, ref, "result")
        if not 200 <= reply.status < 300:
            return errors.result_error(ref, reply)
        body = errors.json_object(reply, ref, "result")
        video = body.get("video")
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str) or not url:
            return errors.failed(
                ErrorCategory.GENERATION_FAILED,
                f"fal result of {ref.job_id} has no video URL (keys: {', '.join(sorted(body))})",
            )
        size = video.get("file_size")
        size_hint = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None
        log.info("fal request %s succeeded (%s bytes)", ref.job_id, size_hint)
        return PollResult(JobState.SUCCEEDED, video=VideoSource(url=url, size_hint=size_hint))

    async def _poll_call(self, method: str, url: str, ref: JobRef, what: str) -> Reply:
        """A queue call whose transport failures are retryable (it cannot create a job)."""
        try:
            return await self._call(method, url)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(f"fal {what} of {ref.job_id}", exc) from exc

    # -- fetch -------------------------------------------------------------------------------------

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Stream the video URL (plain unauthenticated GET) to `dest`; check size and mp4 signature."""
        if video.data is not None:
            return await write_video(video.data, dest, max_bytes, f"the video of fal job {ref.job_id}")
        if not video.url:
            raise GenerationError(ErrorCategory.GENERATION_FAILED, f"fal job {ref.job_id} gave no video URL")
        if video.size_hint is not None and video.size_hint > max_bytes:
            raise too_large(max_bytes)
        try:
            size = await self._download(ref, video.url, video.size_hint, dest, max_bytes)
        except BaseException as exc:
            # Also on cancellation: never leave a partial file behind (the thread finishes even then).
            await asyncio.to_thread(discard, dest)
            if isinstance(exc, GenerationError) or not isinstance(exc, Exception):
                raise
            raise errors.fetch_error(ref, dest, exc) from exc
        log.info("fetched fal video %s: %d bytes", ref.job_id, size)
        return size

    async def _download(
        self, ref: JobRef, url: str, size_hint: int | None, dest: Path, max_bytes: int
    ) -> int:
        """GET and stream to disk off the loop; raises GenerationError for HTTP/size/signature problems."""
        # No Authorization header: the media host is public and must never see the key.
        async with self._http().get(url, timeout=self._fetch_timeout) as resp:
            if resp.status != 200:
                raise errors.download_http_error(ref, resp.status)
            declared = resp.content_length
            if declared is not None and declared > max_bytes:
                raise too_large(max_bytes)
            async with CappedSink(dest, max_bytes) as sink:
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    await sink.write(chunk)
        size = sink.size
        expected = declared if declared is not None else size_hint
        if expected is not None and size != expected:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"download of {ref.job_id} was truncated: got {size} of {expected} bytes",
                retryable=True,
            )
        if size_hint is not None and size != size_hint:
            log.warning("fal video %s is %d bytes but file_size said %d", ref.job_id, size, size_hint)
        check_mp4(sink.head, "the downloaded file")
        return size

    # -- cancel / close --------------------------------------------------------------------------------

    async def cancel(self, ref: JobRef) -> bool:
        """PUT the cancel URL: True when fal accepted it, False when it was too late. Gives up after
        `cancel_timeout` seconds with a retryable GenerationError."""
        what = f"fal cancel of {ref.job_id}"
        # The request's own timeout ends a stall; `bounded` is the backstop should anything else hang.
        return await bounded(self._cancel(ref, what), self._cancel_timeout + 1.0, what)

    async def _cancel(self, ref: JobRef, what: str) -> bool:
        try:
            reply = await self._call(
                "PUT", self._urls(ref).cancel, time_limit=aiohttp.ClientTimeout(total=self._cancel_timeout)
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(what, exc) from exc
        body = json_or_none(reply.text)
        state = body.get("status") if isinstance(body, dict) else None
        if state == "CANCELLATION_REQUESTED" or (state is None and 200 <= reply.status < 300):
            log.info("fal cancellation requested for %s", ref.job_id)
            return True
        if state in ("ALREADY_COMPLETED", "NOT_FOUND") or reply.status == 404:
            log.info("fal could not cancel %s: %s", ref.job_id, state or f"HTTP {reply.status}")
            return False
        raise errors.poll_http_error(ref, "cancel", reply)

    async def list_models(self) -> list[str] | None:
        """fal offers no model listing we can check against; None tells `doctor` so."""
        return None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
