"""Following one prompt on ComfyUI's WebSocket (`/ws?clientId=`): step progress as it happens.

Events (providers.md section 9): `execution_start`, `execution_cached`, `executing` (`node` null = the prompt
is done and its history written), `progress` (`value`/`max`), `executed`, `execution_success`,
`execution_error`, `execution_interrupted` (broadcast: checked by prompt id), `status` (queue changes).
A dropped socket is reconnected after each of `reconnect_delays` (the events it missed don't come back,
so a reconnect first yields what a poll says then); past the last delay it raises a retryable
GenerationError and the runner polls instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from core.errors import ErrorCategory, GenerationError
from core.providers._common import exc_text, json_or_none
from core.providers.base import JobState, PollResult
from core.providers.comfyui.replies import error_outcome

Connect = Callable[[], AbstractAsyncContextManager[aiohttp.ClientWebSocketResponse]]
Poll = Callable[[], Awaitable[PollResult]]
Place = Callable[[], Awaitable[PollResult | None]]  # QUEUED/RUNNING from the queue alone, None if not there

log = logging.getLogger(__name__)

_TERMINAL = (JobState.SUCCEEDED, JobState.FAILED)


def dropped(prompt_id: str, why: str) -> GenerationError:
    """The socket failed: retryable, so the caller polls instead."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"ComfyUI WebSocket for prompt {prompt_id} dropped ({why}); polling instead",
        retryable=True,
    )


async def follow(
    prompt_id: str,
    connect: Connect,
    poll: Poll,
    place: Place,
    *,
    reconnect_delays: Sequence[float] = (),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[PollResult]:
    """Open the socket, yield what a poll says now, then each change the events bring, until the end;
    reconnect after a drop (see the module's docstring)."""
    last: PollResult | None = None
    for attempt in range(len(reconnect_delays) + 1):
        try:
            async with connect() as ws:
                now = await poll()
                if now != last:
                    last = now
                    yield now
                if now.state in _TERMINAL:
                    return
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        continue  # previews
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    result = await _on_event(json_or_none(message.data), prompt_id, poll, place, now)
                    if result is not None and result != now:
                        now = last = result
                        yield result
                        if result.state in _TERMINAL:
                            return
            why = "closed before the prompt finished"
        except GenerationError as exc:
            if not exc.retryable:
                raise dropped(prompt_id, exc.detail) from exc
            why = exc.detail
        except (TimeoutError, aiohttp.ClientError) as exc:
            why = exc_text(exc)
        if attempt == len(reconnect_delays):
            raise dropped(prompt_id, why)
        log.info("ComfyUI WebSocket for prompt %s dropped (%s); reconnecting", prompt_id, why)
        await sleep(reconnect_delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


async def _on_event(
    body: Any, prompt_id: str, poll: Poll, place: Place, last: PollResult
) -> PollResult | None:
    """What one event says about our prompt, or None when it says nothing new."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return None
    event, data = body.get("type"), body["data"]
    owner = data.get("prompt_id")
    if owner is not None and owner != prompt_id:
        return None  # another prompt's (a broadcast, or an old prompt of this socket)
    if event == "execution_interrupted":
        return error_outcome(event, data, prompt_id) if owner == prompt_id else None
    if event == "execution_error":
        return error_outcome(event, data, prompt_id)
    if event == "progress":
        value, most = data.get("value"), data.get("max")
        if isinstance(value, int | float) and isinstance(most, int | float) and most > 0:
            return PollResult(JobState.RUNNING, progress=min(max(value / most, 0.0), 1.0))
        return None
    if event == "execution_success" or (event == "executing" and data.get("node") is None):
        # The history is written after execution_success and before `executing` null: ask it.
        result = await poll()
        return result if result.state in _TERMINAL else None
    if event in ("execution_start", "execution_cached", "executing", "executed"):
        return last if last.state == JobState.RUNNING else PollResult(JobState.RUNNING)
    if event == "status" and last.state == JobState.QUEUED:
        # The queue moved: a new position. Only the queue is read; the events tell the rest.
        found = await place()
        return found if found is not None and found.state == JobState.QUEUED else None
    return None
