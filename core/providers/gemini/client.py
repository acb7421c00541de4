"""GeminiProvider: Omni Flash through the Gemini API Interactions API (google-genai 3.6, async).

Wire protocol, status values and error quirks: /work/shared/docs/providers.md section 2.
The client is built with `HttpRetryOptions(attempts=1)`: the SDK's default retries would repeat the
create POST after a 5xx or timeout and could bill a second video. Polls and downloads are retried by
the caller (polls) or by the download loop here (late files), never by the SDK. A file that still 404s
when the download window is over is final: the caller does not start another window. `watch` reads the
interaction's event stream instead of polling it (`stream`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
    transport_error,
    write_video,
)
from core.providers.base import JobRef, PollResult, VideoRequest, VideoSource
from core.providers.gemini.errors import map_api_error, map_download_error, squash
from core.providers.gemini.request import create_arguments
from core.providers.gemini.results import observe, to_poll_result
from core.providers.gemini.stream import STREAM_SILENCE_LIMIT, watch_interaction

log = logging.getLogger(__name__)


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
        stream_silence_limit: float = STREAM_SILENCE_LIMIT,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poll_interval = poll_interval
        self._request_timeout = request_timeout
        self._cancel_timeout = cancel_timeout
        self._stream_silence_limit = stream_silence_limit
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
        kwargs = create_arguments(request)
        try:
            interaction = await self._client.aio.interactions.create(**kwargs)
        except gi.APIError as exc:
            raise map_api_error(exc, action=f"create on {model_id}", job_id=None) from exc
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
            raise map_api_error(exc, action=f"poll of job {ref.job_id}", job_id=ref.job_id) from exc
        return await to_poll_result(ref, observe(interaction))

    def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        """The job's state as the API pushes it (Watchable): now, each change, then the end."""
        return watch_interaction(
            self._client, ref, silence_limit=self._stream_silence_limit, read_whole=self.poll
        )

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
            raise map_api_error(exc, action=action, job_id=ref.job_id) from exc
        log.info("gemini job %s cancelled", ref.job_id)
        return True

    async def list_models(self) -> list[str] | None:
        """Model ids the Gemini API lists (GET /v1beta/models), without the "models/" prefix."""
        try:
            pager = await self._client.aio.models.list()
            return [(m.name or "").removeprefix("models/") async for m in pager]
        except (genai_errors.APIError, gi.APIError) as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE, f"listing models failed: {squash(str(exc))}"
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
                raise map_download_error(exc, ref.job_id, waited) from exc
            except genai_errors.APIError as exc:
                raise map_download_error(exc, ref.job_id, self._clock() - started) from exc
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
