"""The benchmark's provider: every job succeeds a fixed time after its submit, with no network."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from core.catalog import Catalog, ModelSpec
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource


@dataclass
class BenchJob:
    """One submitted job and the moments the benchmark measures against."""

    index: int
    job_id: str
    submitted_at: float  # time.monotonic()
    done_at: float  # submitted_at + latency: when the provider has the video
    reported_at: float | None = None  # first poll that answered SUCCEEDED


class FixedLatencyProvider:
    """Every job SUCCEEDS `latency` seconds (wall time) after its submit; counts polls. No network."""

    name = "bench"
    supports_cancel = False

    def __init__(self, latency: float, poll_interval: float, video: bytes) -> None:
        self.latency = latency
        self.poll_interval = poll_interval
        self._video = VideoSource(data=video, size_hint=len(video))
        self.jobs: dict[str, BenchJob] = {}
        self.by_index: dict[int, BenchJob] = {}
        self.polls = 0

    @property
    def in_flight(self) -> int:
        """Submitted jobs whose success has not been reported yet."""
        return sum(1 for job in self.jobs.values() if job.reported_at is None)

    async def submit(self, request: VideoRequest) -> str:
        """Accept job i (from the prompt "bench job i"); it is done `latency` seconds from now."""
        index = int(request.prompt.rsplit(" ", 1)[1])
        now = time.monotonic()
        job = BenchJob(index, f"bench-{index}-{uuid.uuid4().hex[:8]}", now, now + self.latency)
        self.jobs[job.job_id] = job
        self.by_index[index] = job
        return job.job_id

    async def poll(self, ref: JobRef) -> PollResult:
        """RUNNING with progress until the job's time is up, then SUCCEEDED with the video."""
        self.polls += 1
        job = self.jobs[ref.job_id]
        now = time.monotonic()
        if now >= job.done_at:
            if job.reported_at is None:
                job.reported_at = now
            return PollResult(JobState.SUCCEEDED, video=self._video)
        return PollResult(JobState.RUNNING, progress=(now - job.submitted_at) / self.latency)

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Write the (tiny) video to `dest`."""
        dest.write_bytes(video.data)  # noqa: ASYNC240 - a few KiB
        return len(video.data)

    async def cancel(self, ref: JobRef) -> bool:
        """Not supported."""
        return False

    async def list_models(self) -> list[str] | None:
        """Unknown (the catalog has the one model)."""
        return None

    async def aclose(self) -> None:
        """Nothing to close."""
        return None


class PushingProvider(FixedLatencyProvider):
    """The same jobs, pushed: `watch` answers RUNNING at once and SUCCEEDED the moment the job is done
    (as a provider's server-sent events would), so no job is polled (`--push`)."""

    async def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        job = self.jobs[ref.job_id]
        yield PollResult(JobState.RUNNING, progress=(time.monotonic() - job.submitted_at) / self.latency)
        await asyncio.sleep(max(0.0, job.done_at - time.monotonic()))
        if job.reported_at is None:
            job.reported_at = time.monotonic()
        yield PollResult(JobState.SUCCEEDED, video=self._video)


def bench_catalog(latency: float, poll_interval: float) -> Catalog:
    """A one-model catalog whose model is served by FixedLatencyProvider."""
    spec = ModelSpec(
        name="bench",
        provider="bench",
        provider_model_id="bench-fixed-latency",
        label="Benchmark (fixed latency)",
        durations=(4,),
        aspect_ratios=("16:9",),
        resolutions=("720p",),
        default_duration=4,
        default_aspect_ratio="16:9",
        default_resolution="720p",
        audio="none",
        seed=True,
        negative_prompt=False,
        image_input=False,
        usd_per_second={"default": 0.05},  # a real price: the spend bookkeeping runs (cap 0 = no cap)
        expected_latency_s=latency,
        poll_interval_s=poll_interval,
    )
    return Catalog({"bench": spec})
