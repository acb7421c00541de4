"""Polling policies measured in virtual time with the runner's own VideoWaiter (see the package doc)."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
from dataclasses import dataclass

from core.jobs.poll_schedule import FixedSchedule, LatencyModel, PollSchedule, Schedule
from core.jobs.progress import ProgressReporter
from core.jobs.waiting import VideoWaiter, Wait
from core.providers.base import JobRef, JobState, PollResult, VideoSource
from tests.fakes.clock import FakeClock

LEARNED_JOBS = 20


@dataclass(frozen=True)
class Case:
    name: str
    median: float
    sigma: float


@dataclass(frozen=True)
class Outcome:
    policy: str
    requests_per_job: float
    lag_p50: float
    lag_p99: float


class _SimulatedJob:
    """A provider job that is done at virtual time `done_at`; counts the polls it received."""

    name = "sim"
    supports_cancel = False

    def __init__(self, clock: FakeClock, done_at: float, cadence: float) -> None:
        self.clock, self.done_at, self.poll_interval, self.polls = clock, done_at, cadence, 0

    async def poll(self, ref: JobRef) -> PollResult:
        self.polls += 1
        if self.clock.t >= self.done_at:
            return PollResult(JobState.SUCCEEDED, video=VideoSource(url="sim://video"))
        return PollResult(JobState.RUNNING)


async def _one(schedule: Schedule, duration: float, cadence: float, rng: random.Random) -> tuple[int, float]:
    clock = FakeClock()
    job = _SimulatedJob(clock, clock.t + duration, cadence)

    async def nothing(*_args) -> None:
        return None

    waiter = VideoWaiter(
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        rand=rng.random,
        respect_rate_limit=nothing,
        cancel_at_provider=nothing,
    )
    wait = Wait(1, job, JobRef("j", "m"), ProgressReporter(None), 60.0, schedule, clock.t, math.inf, nothing)
    await waiter.wait(wait)
    return job.polls, clock.t - job.done_at


async def measure(case: Case, cadence: float, jobs: int, seed: int) -> list[Outcome]:
    rng = random.Random(seed)

    def duration() -> float:
        return case.median * math.exp(case.sigma * rng.gauss(0.0, 1.0))

    learned = LatencyModel.fit(case.median, [duration() for _ in range(LEARNED_JOBS)])
    policies: list[tuple[str, Schedule]] = [
        ("seed: every 2 s", FixedSchedule(2.0)),
        (f"today: every {cadence:g} s", FixedSchedule(cadence)),
        (f"learned ({LEARNED_JOBS} jobs)", PollSchedule.for_model(learned, cadence)),
    ]
    durations = [duration() for _ in range(jobs)]
    outcomes = []
    for name, schedule in policies:
        polls, lags = [], []
        for d in durations:
            n, lag = await _one(schedule, d, cadence, rng)
            polls.append(n)
            lags.append(lag)
        outcomes.append(Outcome(name, statistics.fmean(polls), _pct(lags, 50), _pct(lags, 99)))
    return outcomes


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def run(
    cases: list[Case], cadences: dict[str, float], jobs: int, seed: int
) -> dict[tuple[str, str], list[Outcome]]:
    """Every case for every provider cadence: {(provider, case): outcomes}."""
    results = {}
    for provider, cadence in cadences.items():
        for case in cases:
            results[(provider, case.name)] = asyncio.run(measure(case, cadence, jobs, seed))
    return results
