"""fal's queue status stream, `GET {queue}/{owner}/{app}/requests/{id}/status/stream`: server-sent events.

Wire format (fal's "Stream request status" reference; fal-js `streamStatus` and fal-java `subscribeToStatus`
consume it the same way): `Content-Type: text/event-stream`; each event is a `data:` line holding one status
object with the same fields as the status route's reply (IN_QUEUE + queue_position, IN_PROGRESS + logs,
COMPLETED + logs/metrics and maybe error/error_type); a comment line every 15 s keeps the connection open; the
server closes the stream after the COMPLETED event. There are no event ids, so a dropped stream cannot be
resumed where it stopped: the status route tells what was missed, then the stream is opened again. With
`?logs=1` an event carries only the log lines new since the previous one (fal-js accumulates them "to match
the polling behaviour"), so the last progress seen is kept until a new percentage arrives.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.errors import ErrorCategory, GenerationError
from core.providers._common import exc_text, json_or_none, snippet
from core.providers.base import JobRef, JobState, PollResult
from core.providers.fal import errors
from core.providers.fal.errors import Reply

log = logging.getLogger(__name__)

KEEPALIVE = 15.0  # seconds between fal's keep-alive comments (doc)
DEFAULT_SILENCE = 2 * KEEPALIVE + 10.0  # two missed keep-alives and a margin: then the stream is dead
DEFAULT_RECONNECTS = 3  # re-opens of a dropped stream within one watch, before the caller polls instead

_TERMINAL = (JobState.SUCCEEDED, JobState.FAILED)
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Policy:
    """How long a stream may stay silent (seconds) and how often a dropped one is re-opened."""

    silence: float = DEFAULT_SILENCE
    reconnects: int = DEFAULT_RECONNECTS


@dataclass(frozen=True)
class Link:
    """The provider calls a watch needs: open the stream, map one status object (fetching the result on
    COMPLETED, as a poll does), and poll the status route once."""

    open: Callable[[], AbstractAsyncContextManager[aiohttp.ClientResponse]]
    observe: Callable[[dict[str, Any]], Awaitable[PollResult]]
    poll: Callable[[], Awaitable[PollResult]]


# -- text/event-stream ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SseEvent:
    """One dispatched server-sent event."""

    data: str
    event: str = "message"
    id: str | None = None


class SseDecoder:
    """An incremental text/event-stream parser, following the WHATWG HTML rules for interpreting an event
    stream: UTF-8 (a leading BOM dropped), lines ending in CRLF, LF or CR, `:` comments ignored, `data:` lines
    joined with LF, an event dispatched at a blank line, one without data dropped, and an event left
    unterminated at the end of the stream discarded."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._started = False
        self._after_cr = False
        self._data: list[str] = []
        self._type = ""
        self._last_id: str | None = None
        self.comments = 0  # comment lines seen (fal's keep-alives)

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Parse the next bytes; return the events they complete."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text:
            text = text.removeprefix("\n")  # the LF of a CRLF split between two chunks
            self._after_cr = False
        self._text += text
        events = []
        while (match := _EOL.search(self._text)) is not None:
            # A CR ending the chunk ends its line now, without waiting to see whether an LF follows.
            self._after_cr = match.group() == "\r" and match.end() == len(self._text)
            line, self._text = self._text[: match.start()], self._text[match.end() :]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None  # `retry` and unknown fields are ignored

    def _dispatch(self) -> SseEvent | None:
        data, kind = self._data, self._type
        self._data, self._type = [], ""
        if not data:
            return None
        return SseEvent("\n".join(data), kind or "message", self._last_id)


# -- watching one job -----------------------------------------------------------------------------------


class _Dropped(Exception):
    """The connection failed or ended before COMPLETED; the stream may be opened again."""


class _NotFound(Exception):
    """The stream route answered 404: only the status route may call the job lost."""


def silent(ref: JobRef, seconds: float) -> GenerationError:
    """The stream sent nothing, not even a keep-alive, for `seconds`: retryable, the caller polls instead."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"fal status stream of {ref.job_id} was silent for {seconds:g} s (keep-alive every {KEEPALIVE:g} s); "
        "polling instead",
        retryable=True,
    )


async def watch(ref: JobRef, link: Link, policy: Policy) -> AsyncIterator[PollResult]:
    """Yield the job's state from the status stream: the state now, then each change, ending after a
    terminal result. A drop (or an end before COMPLETED) is re-opened at most `policy.reconnects` times,
    each time after one status poll for what the gap hid; then a retryable GenerationError."""
    last: PollResult | None = None
    reopened = 0
    while True:
        try:
            async with contextlib.aclosing(_stream(ref, link, policy.silence)) as results:
                async for result in results:
                    result = _carry_progress(result, last)
                    if result != last:
                        last = result
                        yield result
                    if result.state in _TERMINAL:
                        return
            reason = "it ended before COMPLETED"
        except _Dropped as exc:
            reason = str(exc)
        except _NotFound:
            result = _carry_progress(await link.poll(), last)
            if result != last:
                yield result
            if result.state in _TERMINAL:
                return
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"fal status stream of {ref.job_id} answered 404 though the status route knows the job; "
                "polling instead",
                retryable=True,
            ) from None
        if reopened >= policy.reconnects:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"fal status stream of {ref.job_id} dropped {reopened + 1} times (last: {reason}); "
                "polling instead",
                retryable=True,
            )
        reopened += 1
        log.info(
            "fal status stream of %s dropped (%s); re-opening (%d of %d)",
            ref.job_id,
            reason,
            reopened,
            policy.reconnects,
        )
        # No event ids on fal: one status poll says what happened while the stream was down.
        result = _carry_progress(await link.poll(), last)
        if result != last:
            last = result
            yield result
        if result.state in _TERMINAL:
            return


def _carry_progress(result: PollResult, last: PollResult | None) -> PollResult:
    """A RUNNING result whose (new) log lines hold no percentage keeps the progress seen last."""
    if (
        result.state is JobState.RUNNING
        and result.progress is None
        and last is not None
        and last.state is JobState.RUNNING
        and last.progress is not None
    ):
        return dataclasses.replace(result, progress=last.progress)
    return result


async def _stream(ref: JobRef, link: Link, silence: float) -> AsyncIterator[PollResult]:
    """One connection of the status stream, each event mapped to a PollResult, until the stream ends."""
    async with contextlib.AsyncExitStack() as stack:
        reply: Reply | None = None
        try:
            async with asyncio.timeout(silence):
                resp = await stack.enter_async_context(link.open())
                if not 200 <= resp.status < 300:
                    raw = await resp.read()
                    reply = Reply(resp.status, resp.headers, raw.decode("utf-8", errors="replace"))
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise _Dropped(f"opening it failed: {exc_text(exc)}") from exc
        except TimeoutError as exc:
            raise silent(ref, silence) from exc
        if reply is not None:
            if reply.status == 404:
                raise _NotFound
            raise errors.stream_http_error(ref, reply)
        content_type = resp.headers.get("Content-Type", "")
        if not content_type.lower().startswith("text/event-stream"):
            raise errors.malformed(
                ref, "status stream", f"content type {content_type!r}, not text/event-stream"
            )
        events = await stack.enter_async_context(contextlib.aclosing(_events(ref, resp, silence)))
        async for event in events:
            body = json_or_none(event.data)
            if not isinstance(body, dict):
                raise errors.malformed(
                    ref, "status stream", f"an event that is not a JSON object: {snippet(event.data)[:80]}"
                )
            log.debug("fal status stream of %s: %s", ref.job_id, body.get("status"))
            yield await link.observe(body)


async def _events(ref: JobRef, resp: aiohttp.ClientResponse, silence: float) -> AsyncIterator[SseEvent]:
    """The events of an open stream until it ends; any bytes (a keep-alive too) restart the silence clock."""
    decoder = SseDecoder()
    while True:
        try:
            async with asyncio.timeout(silence):
                chunk = await resp.content.readany()
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise _Dropped(f"the connection broke: {exc_text(exc)}") from exc
        except TimeoutError as exc:
            raise silent(ref, silence) from exc
        if not chunk:
            return
        for event in decoder.feed(chunk):
            yield event
