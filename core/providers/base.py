"""The small async interface every video provider implements, and the values it exchanges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.catalog import ModelSpec
    from core.errors import GenerationError


@dataclass(frozen=True)
class VideoRequest:
    """A validated request, ready to be turned into one provider call."""

    prompt: str
    model: ModelSpec
    duration: int
    aspect_ratio: str
    resolution: str
    negative_prompt: str | None = None
    seed: int | None = None
    image: bytes | None = None  # the first frame
    image_mime_type: str | None = None
    last_frame: bytes | None = None  # the closing frame (models with end_frame; a loop repeats `image`)
    last_frame_mime_type: str | None = None
    audio: bool = True  # ask for sound (False: silence, for models whose audio is "optional" or "off")
    extend_video: bytes | None = None  # native extension: the mp4 to continue (model.extension "native")
    permissive: bool = False  # send the model's looser safety inputs (catalog `permissive`)

    @property
    def size(self) -> tuple[int, int]:
        """Pixel width and height implied by resolution and aspect ratio."""
        return frame_size(self.resolution, self.aspect_ratio)


_SHORT_SIDE = {"360p": 360, "480p": 480, "540p": 540, "720p": 720, "1080p": 1080, "4k": 2160}


def resolution_rank(resolution: str) -> int:
    """A resolution's short side in pixels, to compare them ('720p' < '1080p' < '4k')."""
    return _SHORT_SIDE[resolution]


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """(width, height) for e.g. ('720p', '16:9') -> (1280, 720); ('720p', '9:16') -> (720, 1280)."""
    short = _SHORT_SIDE[resolution]
    a, b = (int(x) for x in aspect_ratio.split(":"))
    long = round(short * max(a, b) / min(a, b))
    long += long % 2  # H.264 wants even dimensions
    return (long, short) if a >= b else (short, long)


class JobState(StrEnum):
    """What a poll found."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class VideoSource:
    """Where a finished video is: inline bytes, or a URL/URI the provider can download."""

    data: bytes | None = None
    url: str | None = None
    size_hint: int | None = None


@dataclass(frozen=True)
class PollResult:
    """One observation of a provider job."""

    state: JobState
    queue_position: int | None = None
    progress: float | None = None  # 0.0-1.0 when the provider reports it
    video: VideoSource | None = None  # set when SUCCEEDED
    error: GenerationError | None = None  # set when FAILED
    billed_usd: float | None = None  # the provider's own cost figure, when it reports usage


@dataclass(frozen=True)
class JobRef:
    """Everything needed to address a submitted job again, also after a restart."""

    job_id: str
    provider_model_id: str


class Provider(Protocol):
    """One video API. Implementations raise GenerationError for every failure."""

    name: str
    poll_interval: float  # seconds between polls
    supports_cancel: bool

    async def submit(self, request: VideoRequest) -> str:
        """Start a job and return the provider's job id. Never retries by itself."""

    async def poll(self, ref: JobRef) -> PollResult:
        """Observe the job once. Also the resume call after a restart."""

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Write the finished video to `dest` (streamed, at most `max_bytes`); return its size."""

    async def cancel(self, ref: JobRef) -> bool:
        """Ask the provider to stop the job; False when the API has no cancel. Gives up within about
        `_common.CANCEL_TIMEOUT` (10 s) with a GenerationError, so a background caller never hangs."""

    async def list_models(self) -> list[str] | None:
        """Model ids the API offers, or None when the API cannot list them (used by `doctor`)."""

    async def aclose(self) -> None:
        """Release HTTP sessions."""


@runtime_checkable
class Watchable(Protocol):
    """A provider whose API can push a job's state as it changes (server-sent events) — optional.

    The runner watches where a provider offers this and polls otherwise; it also falls back to polling
    whenever a watch fails, so a stream is only ever a faster way to learn the same thing.
    """

    def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        """Yield the job's state as the provider pushes it: first what it is now, then each change, and
        end after a SUCCEEDED or FAILED result. A dropped connection is resumed inside (from the last
        event id, where the API has one). Raises a retryable GenerationError when the stream fails or
        stays silent longer than the provider's keep-alive allows; the caller then polls instead."""


@runtime_checkable
class NamesJobs(Protocol):
    """A provider that files a job under an id we choose (ComfyUI's `prompt_id`) — optional.

    The runner stores the chosen id in the same write that marks the submit as started, so a crash between
    the submit and storing its confirmation is resolved by asking for that id: known → polled as usual;
    unknown → submitted again under the same id (it never arrived, so it cannot be paid twice).
    """

    def new_job_id(self, request: VideoRequest) -> str:
        """A fresh id to submit `request` under."""
        ...

    async def submit_as(self, request: VideoRequest, job_id: str) -> str:
        """`Provider.submit`, filing the job under `job_id`; returns the id to poll (it may add to it). A
        method of its own, so that a wrapper knowing only `submit(request)` can't drop the id."""
        ...

    async def find_job(self, job_id: str) -> str | None:
        """The id to poll for a job submitted under `job_id`, or None when the provider surely never got
        it. Raises a retryable GenerationError when it cannot tell (e.g. a server does not answer)."""
        ...
