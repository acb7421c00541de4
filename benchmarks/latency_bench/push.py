"""Push measured for real: each streaming provider's `watch` through its real client against its fake on
127.0.0.1 (see the package docstring). Jobs run concurrently and finish after a short wall-clock time."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from core.providers.base import JobRef, JobState
from core.providers.fal import FalProvider
from core.providers.gemini import GeminiProvider
from tests.core.providers.test_fal import KEY as FAL_KEY
from tests.core.providers.test_fal import make_request as fal_request
from tests.core.providers.test_fal import ref_for as fal_ref
from tests.core.providers.test_gemini import ref_for as gemini_ref
from tests.core.providers.test_gemini import video_request as gemini_request
from tests.fakes import gemini_api
from tests.fakes.fal_queue import FakeFalQueue, Scenario

STEP = 0.25  # seconds between two of a fake job's state changes on its stream


@dataclass(frozen=True)
class PushOutcome:
    provider: str
    case: str
    requests_per_job: float
    lag_p50: float
    lag_p99: float


class _TimedFal(FakeFalQueue):
    """The fal fake, noting when each job became COMPLETED (the moment the server knows it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_at: dict[str, float] = {}

    def _advance(self, job, with_logs):
        code, body = super()._advance(job, with_logs)
        if body.get("status") == "COMPLETED":
            self.done_at.setdefault(job.request_id, time.monotonic())
        return code, body


class _TimedGemini(gemini_api.FakeGeminiApi):
    """The Gemini fake, noting when each interaction finished its work (then its completion is sent)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_at: dict[str, float] = {}

    async def _work(self, request, response, job) -> bool:
        finished = await super()._work(request, response, job)
        if finished:
            self.done_at.setdefault(request.match_info["id"], time.monotonic())
        return finished


async def measure(jobs: int, seed: int = 1) -> list[PushOutcome]:
    rng = random.Random(seed)
    return [await _gemini(jobs, rng), await _fal(jobs, rng)]


async def _gemini(jobs: int, rng: random.Random) -> PushOutcome:
    async with _TimedGemini() as fake:
        provider = GeminiProvider(gemini_api.DEFAULT_API_KEY, fake.base_url, poll_interval=5.0)
        try:
            refs = []
            for n in range(jobs):
                hold = rng.uniform(1.0, 3.0)
                gemini_api.SCENARIOS[f"bench{n}"] = gemini_api.Scenario(stream_hold=hold)
                refs.append(gemini_ref(await provider.submit(gemini_request(f"job {n} [fake:bench{n}]"))))
            seen = await asyncio.gather(*(_watch(provider, ref) for ref in refs))
        finally:
            await provider.aclose()
            for n in range(jobs):
                gemini_api.SCENARIOS.pop(f"bench{n}", None)
        lags = [seen_at - fake.done_at[ref.job_id] for ref, seen_at in zip(refs, seen, strict=True)]
        prefix = f"/{gemini_api.API_VERSION}/interactions/"
        requests = sum(1 for r in fake.requests if r.method == "GET" and r.path.startswith(prefix))
        return PushOutcome("gemini", f"{jobs} jobs, 1-3 s", requests / jobs, _pct(lags, 50), _pct(lags, 99))


async def _fal(jobs: int, rng: random.Random) -> PushOutcome:
    async with _TimedFal(key=FAL_KEY) as fake:
        fake.stream_interval = STEP
        provider = FalProvider(FAL_KEY, fake.base_url, poll_interval=3.0)
        try:
            refs = []
            for _ in range(jobs):
                fake.scenario = Scenario(queued_polls=rng.randint(0, 2), running_polls=rng.randint(2, 10))
                refs.append(fal_ref(await provider.submit(fal_request())))
            seen = await asyncio.gather(*(_watch(provider, ref) for ref in refs))
        finally:
            await provider.aclose()
        lags = [seen_at - fake.done_at[ref.job_id] for ref, seen_at in zip(refs, seen, strict=True)]
        requests = len(fake.requests_to("stream")) + len(fake.requests_to("status"))
        return PushOutcome("fal", f"{jobs} jobs, 1-3 s", requests / jobs, _pct(lags, 50), _pct(lags, 99))


async def _watch(provider, ref: JobRef) -> float:
    async for result in provider.watch(ref):
        if result.state is JobState.SUCCEEDED:
            return time.monotonic()
        if result.state is JobState.FAILED:
            raise RuntimeError(f"{ref.job_id} failed: {result.error}")
    raise RuntimeError(f"{ref.job_id}: the stream ended without a result")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")
