"""An in-memory provider driven by a script, for generator tests (no network, no real time)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from tests.fakes.sample_video import sample_mp4


def running(progress: float | None = None) -> PollResult:
    return PollResult(JobState.RUNNING, progress=progress)


def queued(position: int) -> PollResult:
    return PollResult(JobState.QUEUED, queue_position=position)


def succeeded() -> PollResult:
    return PollResult(JobState.SUCCEEDED, video=VideoSource(data=sample_mp4()))


def failed(error: GenerationError) -> PollResult:
    return PollResult(JobState.FAILED, error=error)


@dataclass
class ScriptedProvider:
    """submit/poll/fetch answer from queues; an exhausted poll queue repeats its last answer."""

    name: str = "demo"
    poll_interval: float = 5.0
    supports_cancel: bool = True
    submits: deque = field(default_factory=deque)  # job ids (str) or GenerationError
    polls: deque = field(default_factory=deque)  # PollResult or GenerationError
    fetches: deque = field(default_factory=deque)  # bytes or GenerationError; empty -> the video's data
    cancels: deque = field(default_factory=deque)  # None (accepted) or GenerationError; empty -> accepted
    submitted: list[VideoRequest] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    on_poll: object = None  # optional async callable run before each poll answer

    async def submit(self, request: VideoRequest) -> str:
        self.submitted.append(request)
        outcome = self.submits.popleft() if self.submits else f"job-{len(self.submitted)}"
        if isinstance(outcome, GenerationError):
            raise outcome
        return outcome

    async def poll(self, ref: JobRef) -> PollResult:
        self.polled.append(ref.job_id)
        if self.on_poll is not None:
            await self.on_poll()
        outcome = (
            self.polls.popleft() if len(self.polls) > 1 else (self.polls[0] if self.polls else succeeded())
        )
        if isinstance(outcome, GenerationError):
            raise outcome
        return outcome

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        outcome = self.fetches.popleft() if self.fetches else video.data
        if isinstance(outcome, GenerationError):
            raise outcome
        dest.write_bytes(outcome)  # noqa: ASYNC240 - a few KiB in a test fake
        return len(outcome)

    async def cancel(self, ref: JobRef) -> bool:
        outcome = self.cancels.popleft() if self.cancels else None
        if isinstance(outcome, GenerationError):
            raise outcome
        self.cancelled.append(ref.job_id)
        return True

    async def list_models(self) -> list[str] | None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass
class StreamingProvider(ScriptedProvider):
    """A ScriptedProvider that can also push: each `watch` plays the next script of `streams` — a list of
    PollResults, an exception to raise, or "hang" to go quiet until `release` is set."""

    streams: deque = field(default_factory=deque)
    watched: list[str] = field(default_factory=list)
    release: object = None  # an asyncio.Event, created on first use

    async def watch(self, ref: JobRef):
        import asyncio

        self.watched.append(ref.job_id)
        script = self.streams.popleft() if self.streams else [succeeded()]
        for item in script:
            if item == "hang":
                if self.release is None:
                    self.release = asyncio.Event()
                await self.release.wait()
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
