"""Following one prompt on ComfyUI's WebSocket (`/ws?clientId=`): step progress as it happens.

Events (providers.md section 9): `execution_start`, `execution_cached`, `executing` (`node` null = the prompt
is done and its history written), `progress` (`value`/`max`), `executed`, `execution_success`,
`execution_error`, `execution_interrupted` (broadcast: checked by prompt id), `status` (queue changes).
A dropped socket is NOT reconnected here: it raises a retryable GenerationError and the runner polls instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
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

_TERMINAL = (JobState.SUCCEEDED, JobState.FAILED)


def dropped(prompt_id: str, why: str) -> GenerationError:
    """The socket failed: retryable, so the caller polls instead."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"ComfyUI WebSocket for prompt {prompt_id} dropped ({why}); polling instead",
        retryable=True,
    )


async def follow(prompt_id: str, connect: Connect, poll: Poll, place: Place) -> AsyncIterator[PollResult]:
    """Open the socket, yield what a poll says now, then each change the events bring, until the end."""
    try:
        async with connect() as ws:
            last = await poll()
            yield last
            if last.state in _TERMINAL:
                return
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    continue  # previews
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                result = await _on_event(json_or_none(message.data), prompt_id, poll, place, last)
                if result is not None and result != last:
                    last = result
                    yield result
                    if result.state in _TERMINAL:
                        return
    except GenerationError as exc:
        if exc.retryable:
            raise
        raise dropped(prompt_id, exc.detail) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise dropped(prompt_id, exc_text(exc)) from exc
    raise dropped(prompt_id, "closed before the prompt finished")


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
