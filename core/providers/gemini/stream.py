"""Watching an interaction through the streaming GET instead of polling it (the provider's `watch`).

`GET /{v}/interactions/{id}?stream=true[&last_event_id=…]` answers with server-sent events (`event: <type>`
and `data: <json>` lines; providers.md section 0). google-genai 3.6.1 sends exactly that request from
`client.aio.interactions.get(id, stream=True, last_event_id=…)` (Accept: text/event-stream, the same key
and client headers as a poll) and parses each `data:` line into an event keyed by its `event_type`:
`interaction.created` / `interaction.completed` carry the interaction, `interaction.status_update` its new
status, `step.start` / `step.delta` / `step.stop` the outputs, `error` an error. The deprecated
`interaction.complete` arrives as the SDK's UnknownInteractionSSEEvent with the raw payload; it is read the
same way. Each event's `event_id` (inside the JSON: the SDK keeps nothing else of the SSE frame) is where a
dropped connection resumes.

The completion event may leave the outputs out ("empty outputs to reduce the payload size"): the video and
any refusal text are collected from the step events. When the stream ends settled but showed neither (or
failed without an error code), one GET reads the whole interaction. Every result goes through
`results.to_poll_result`, the mapping polls use.

Silence: the SDK's per-request timeout is httpx's read timeout, i.e. the longest wait for the next bytes
of the stream, so keep-alive comments (which the SDK's decoder drops before they reach this code) still
count as life. See STREAM_SILENCE_LIMIT for the value.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from google.genai import _interactions as gi

from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult
from core.providers.gemini.errors import map_api_error, str_or_none
from core.providers.gemini.results import (
    SETTLED,
    TERMINAL,
    Observation,
    field,
    interaction_error,
    observe,
    outputs_of,
    to_poll_result,
    video_tokens,
)

log = logging.getLogger(__name__)

# Seconds the stream may go without a single byte before it counts as dead. Neither the Interactions
# reference nor the SDK documents a keep-alive interval for this stream (fal documents 15 s for its own;
# Gemini's generateContent streams are reported to stay silent for minutes while a model thinks). A video
# job sends its lifecycle events and then may say nothing until it settles, 30-80 s later (providers.md
# 2.5). 90 s lets a typical job finish on one quiet connection, and is still 3 missed beats should the
# server send keep-alives at the usual 15-30 s; past it the runner polls instead (at most 90 s late).
STREAM_SILENCE_LIMIT = 90.0
# Resumed connections in a row that brought no new event before the watch gives up (the runner polls).
MAX_EMPTY_RESUMES = 3

_COMPLETED = frozenset({"interaction.completed", "interaction.complete"})  # the latter is deprecated


class StreamState:
    """What the events of one interaction have shown so far (kept across resumed connections)."""

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.status: str | None = None
        self.completed = False  # an interaction.completed event arrived
        self.final_steps: list[Any] = []  # the steps the completion event carried, if it carried any
        self.steps: dict[int, dict[str, Any]] = {}  # from step.start / step.delta, by step index
        self.error: tuple[str | None, str] = (None, "")
        self.usage: Any = None

    def apply(self, event: Any) -> None:
        """Take in one parsed event."""
        payload = field(event, "raw") if field(event, "is_unknown") else event
        event_id = field(payload, "event_id")
        if event_id:
            self.last_event_id = str(event_id)
        kind = field(payload, "event_type")
        if kind == "interaction.created" or kind in _COMPLETED:
            interaction = field(payload, "interaction")
            self._status(field(interaction, "status"))
            self.usage = field(interaction, "usage") or self.usage
            code, message = interaction_error(interaction) if interaction is not None else (None, "")
            if code or message:
                self.error = (code, message)
            self.completed = kind in _COMPLETED  # a new hop's `created` starts over
            if self.completed:
                self.final_steps = list(field(interaction, "steps") or ())
        elif kind == "interaction.status_update":
            self._status(field(payload, "status"))
            self.usage = field(payload, "usage") or self.usage
        elif kind == "step.start":
            step = field(payload, "step")
            content = [_plain(item) for item in field(step, "content") or ()]
            self.steps[int(field(payload, "index") or 0)] = {"type": field(step, "type"), "content": content}
        elif kind == "step.delta":
            self._delta(int(field(payload, "index") or 0), field(payload, "delta"))
        elif kind == "error":
            error = field(payload, "error")
            self.error = (str_or_none(field(error, "code")), str(field(error, "message") or ""))

    @property
    def terminal(self) -> bool:
        """The last status seen ends the interaction."""
        return self.status in TERMINAL

    def observation(self) -> Observation:
        """The Observation the events add up to."""
        steps = self.final_steps or [self.steps[i] for i in sorted(self.steps)]
        video, text = outputs_of(steps)
        return Observation(
            status=self.status,
            video=video,
            text=text,
            error_code=self.error[0],
            error_message=self.error[1],
            video_tokens=video_tokens(self.usage),
        )

    def conclusive(self, seen: Observation) -> bool:
        """Whether the events alone show how the job ended (else one GET reads the whole interaction)."""
        if seen.status in SETTLED:
            return seen.video is not None or bool(seen.text.strip()) or bool(self.final_steps)
        if seen.status == "failed":
            return seen.error_code is not None
        return True

    def _status(self, status: Any) -> None:
        if status is not None:
            self.status = str(status)

    def _delta(self, index: int, delta: Any) -> None:
        kind = field(delta, "type")
        if kind not in ("video", "text"):
            return  # thought signatures and the like say nothing about the result
        content = self.steps.setdefault(index, {"type": "model_output", "content": []})["content"]
        if kind == "text":
            content.append({"type": "text", "text": field(delta, "text") or ""})
            return
        last = content[-1] if content else None
        if last is not None and last.get("type") == "video" and last.get("data") and field(delta, "data"):
            last["data"] += field(delta, "data")  # inline bytes may come in several deltas
            return
        content.append(_plain(delta))


def _plain(item: Any) -> dict[str, Any]:
    """A content block or delta as a plain dict with the fields the mapping reads."""
    return {name: field(item, name) for name in ("type", "text", "data", "uri", "mime_type")}


async def watch_interaction(
    client: Any,
    ref: JobRef,
    *,
    silence_limit: float,
    read_whole: Callable[[JobRef], Awaitable[PollResult]],
) -> AsyncIterator[PollResult]:
    """Yield the job's PollResults from the stream: its state now, each change, and the end; resume a
    dropped connection from the last event id. `read_whole` is the poll (one GET) for an end the events
    do not spell out. Raises a retryable GenerationError when the stream fails or stays silent."""
    state = StreamState()
    last: PollResult | None = None
    empty_resumes = 0
    while True:
        stream = await _open(client, ref, state.last_event_id, silence_limit)
        if not hasattr(stream, "__aiter__"):  # a plain JSON interaction instead of a stream
            result = await to_poll_result(ref, observe(stream))
            if result.state in (JobState.SUCCEEDED, JobState.FAILED):
                yield result
                return
            raise _fallback(f"the API answered the stream request of job {ref.job_id} without a stream")
        news = 0
        dropped: Exception | None = None
        try:
            async for event in stream:
                news += 1
                state.apply(event)
                if state.completed and state.terminal:
                    break
                if not state.terminal:
                    result = await to_poll_result(ref, Observation(status=state.status))
                    if result != last:
                        last = result
                        yield result
        except gi.APITimeoutError as exc:
            raise _fallback(
                f"the stream of job {ref.job_id} was silent for more than {silence_limit:g} s"
            ) from exc
        except gi.APIConnectionError as exc:
            dropped = exc
        except gi.APIError as exc:
            raise _stream_error(exc, ref) from exc
        finally:
            await stream.close()
        ended = dropped is None
        if (state.terminal and (state.completed or ended)) or (state.completed and ended):
            # Settled, or over by the server's word with a status that settles nothing: the end either way.
            yield await _conclude(ref, state, read_whole)
            return
        empty_resumes = 0 if news else empty_resumes + 1
        if empty_resumes > MAX_EMPTY_RESUMES:
            raise _fallback(
                f"the stream of job {ref.job_id} ended {empty_resumes} times in a row with no news"
            )
        log.info(
            "gemini stream of job %s %s after %d events; resuming after event %s",
            ref.job_id,
            f"dropped ({dropped})" if dropped is not None else "ended",
            news,
            state.last_event_id,
        )


async def _open(client: Any, ref: JobRef, last_event_id: str | None, silence_limit: float) -> Any:
    """The streaming GET (from `last_event_id` when resuming); the SDK's timeout is the silence limit."""
    try:
        return await client.aio.interactions.get(
            ref.job_id, stream=True, last_event_id=last_event_id, timeout=silence_limit
        )
    except gi.APIError as exc:
        raise _stream_error(exc, ref) from exc


async def _conclude(
    ref: JobRef, state: StreamState, read_whole: Callable[[JobRef], Awaitable[PollResult]]
) -> PollResult:
    """The job's end from the events, or from one GET when the events leave it open."""
    seen = state.observation()
    if state.terminal and state.conclusive(seen):
        return await to_poll_result(ref, seen)
    log.info(
        "gemini stream of job %s ended %s without its outputs; reading the interaction",
        ref.job_id,
        seen.status,
    )
    result = await read_whole(ref)
    if result.state not in (JobState.SUCCEEDED, JobState.FAILED):
        raise _fallback(
            f"the stream of job {ref.job_id} ended (last status {seen.status}), but a GET found it {result.state}"
        )
    return result


def _stream_error(exc: gi.APIError, ref: JobRef) -> GenerationError:
    """A failed stream request, mapped like a poll's failure, but always retryable: a stream that fails is
    no verdict on the job, so the runner falls back to polling and the poll has the last word."""
    error = map_api_error(exc, action=f"stream of job {ref.job_id}", job_id=ref.job_id)
    error.retryable = True
    return error


def _fallback(detail: str) -> GenerationError:
    """The stream cannot go on; polling can."""
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)
