"""What every provider needs the same way: Retry-After, the size and mp4 checks, a capped writer off the loop,
transport errors, bounded calls and small text helpers.

Each provider maps its own API's errors; the rules here are the ones that must not differ between providers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO, Any, Self, TypeVar

from core.errors import ErrorCategory, GenerationError
from core.media.probe import looks_like_mp4

T = TypeVar("T")

CANCEL_TIMEOUT = (
    10.0  # seconds a provider cancel may take before it gives up (the engine calls it in the background)
)
MP4_HEAD = 8  # bytes needed to check the mp4 signature (`ftyp` at byte 4)
_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")


# -- Retry-After ----------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3).

    All three HTTP-date forms are accepted (IMF-fixdate, RFC 850, asctime; a date without a zone is GMT).
    A date in the past means 0; anything unparseable means None (no hint).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # HTTP-dates are always GMT
    return max(0.0, when.timestamp() - now())


def retry_after(headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time) -> float | None:
    """The Retry-After header as seconds, or None; `headers` is a case-insensitive mapping (aiohttp, httpx)."""
    if headers is None:
        return None
    return parse_retry_after(headers.get("Retry-After"), now=now)


# -- errors ---------------------------------------------------------------------------------------------


def too_large(max_bytes: int) -> GenerationError:
    """The error for a video over the size cap (never retried: the same video stays too large)."""
    return GenerationError(ErrorCategory.GENERATION_FAILED, f"video larger than {max_bytes} bytes")


def check_mp4(head: bytes, what: str) -> None:
    """Raise GENERATION_FAILED unless `head` (the first bytes of `what`) carries the mp4 signature."""
    if not looks_like_mp4(head[:MP4_HEAD]):
        raise GenerationError(ErrorCategory.GENERATION_FAILED, f"{what} is not an mp4 (no ftyp box)")


def transport_error(what: str, exc: BaseException, *, retryable: bool = True) -> GenerationError:
    """A call that got no usable reply (connection, timeout, broken body): PROVIDER_UNAVAILABLE.

    Retryable unless the call may have created a paid job (a submit whose reply was lost).
    """
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"{what} failed: {exc_text(exc)}", retryable=retryable
    )


async def bounded(call: Awaitable[T], seconds: float, what: str) -> T:
    """Await `call` for at most `seconds`; past that, a retryable PROVIDER_UNAVAILABLE instead of a hang."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as exc:
        raise GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"{what} gave no answer within {seconds:g} s", retryable=True
        ) from exc


# -- text -----------------------------------------------------------------------------------------------


def exc_text(exc: BaseException) -> str:
    """`ClassName: message` (or just the class name) for error details."""
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def snippet(text: object, limit: int = 300) -> str:
    """One line of at most `limit` characters, for error details (HTML pages and dumps are long)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def json_or_none(text: str | bytes) -> Any:
    """The parsed JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- files ----------------------------------------------------------------------------------------------


class CappedSink:
    """An async, size-capped file writer whose file work runs off the event loop.

    `async with CappedSink(dest, max_bytes) as sink: await sink.write(chunk)`. Passing `max_bytes` raises
    `too_large`; any error (or cancellation) inside the block removes the partial file. `head` keeps the first
    bytes for the mp4 check. It also serves as the `destination` of google-genai's `files.download`.
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self.head = b""
        self._file: IO[bytes] | None = None

    async def __aenter__(self) -> Self:
        self._file = await asyncio.to_thread(self.path.open, "wb")
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        file, self._file = self._file, None
        if exc_type is None:
            if file is not None:
                await asyncio.to_thread(file.close)
            return
        # The thread finishes the clean-up even if this task is being cancelled.
        await asyncio.to_thread(_close_and_discard, file, self.path)

    async def write(self, chunk: bytes) -> int:
        """Append one chunk in a worker thread; raise `too_large` once the cap is passed."""
        if self._file is None:
            raise RuntimeError("CappedSink.write outside `async with`")
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if len(self.head) < MP4_HEAD:
            self.head += chunk[: MP4_HEAD - len(self.head)]
        return await asyncio.to_thread(self._file.write, chunk)


async def write_video(data: bytes, dest: Path, max_bytes: int, what: str) -> int:
    """Write inline video bytes after the size and mp4 checks, off the loop; no partial file on failure."""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    check_mp4(data, what)
    await asyncio.to_thread(_write_all, dest, data)
    return len(data)


def discard(path: Path) -> None:
    """Remove a partial file, if any (blocking: call it in a thread from async code)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _write_all(dest: Path, data: bytes) -> None:
    try:
        dest.write_bytes(data)
    except BaseException:
        discard(dest)
        raise


def _close_and_discard(file: IO[bytes] | None, path: Path) -> None:
    if file is not None:
        with contextlib.suppress(OSError):
            file.close()
    discard(path)
