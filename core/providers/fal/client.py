"""FalProvider: fal.ai's queue over plain aiohttp (submit, status, status stream, result, cancel) and the
media download.

Protocol: providers.md section 4.2; the status stream (`watch`) is read in `stream`. We do not use fal-client:
its submit retries up to 10 times (a retried submit can duplicate a paid job) and it has no base-URL option
for tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
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
from core.providers.fal import errors, stream
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
    stream: str
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
        watch_silence: float = stream.DEFAULT_SILENCE,
        watch_reconnects: int = stream.DEFAULT_RECONNECTS,
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
        # The status stream stays open for the whole job: bound connecting; silence is `stream`'s to judge.
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=request_timeout)
        self._watch = stream.Policy(silence=watch_silence, reconnects=watch_reconnects)
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
        return _Urls(
            status=f"{base}/status", stream=f"{base}/status/stream", response=base, cancel=f"{base}/cancel"
        )

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
        reply = await self._poll_call("GET", f"{self._urls(ref).status}?logs=1", ref, "status")
        if reply.status == 404:
            return errors.lost(ref)
        if not 200 <= reply.status < 300:
            raise errors.poll_http_error(ref, "status", reply)
        return await self._observe(ref, errors.json_object(reply, ref, "status"), "status")

    async def _observe(self, ref: JobRef, body: dict[str, Any], what: str) -> PollResult:
        """The PollResult of one status object (a status reply or a stream event); on COMPLETED without an
        error this GETs the result, as a poll does."""
        outcome = errors.status_outcome(ref, body, what)
        return outcome if outcome is not None else await self._result(ref)

    async def _result(self, ref: JobRef) -> PollResult:
        """GET the stored result of a COMPLETED request."""
        reply = await self._poll_call("GET", self._urls(ref).response, ref, "result")
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

    # -- watch -------------------------------------------------------------------------------------

    def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        """Follow the job on fal's status stream (server-sent events) instead of polling: the state now, then
        each change, ending after SUCCEEDED or FAILED. Drops are re-opened a few times; silence past
        `watch_silence` seconds or a stream that keeps failing raises a retryable GenerationError."""
        link = stream.Link(
            open=lambda: self._stream_call(ref),
            observe=lambda body: self._observe(ref, body, "status stream"),
            poll=lambda: self.poll(ref),
        )
        return stream.watch(ref, link, self._watch)

    def _stream_call(self, ref: JobRef) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """The authenticated GET of the status stream, with the runner logs (progress)."""
        headers = {"Authorization": f"Key {self._key}", "Accept": "text/event-stream"}
        return self._http().get(
            f"{self._urls(ref).stream}?logs=1",
            headers=headers,
            timeout=self._stream_timeout,
            allow_redirects=False,
        )

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
