"""The learned poll schedule: few polls while almost no job finishes, dense where most do, never closer
than the provider tolerates, the provider's own cadence past what was learned."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from core.jobs.poll_schedule import MIN_SAMPLES, PRIOR_SIGMA, FixedSchedule, LatencyModel, PollSchedule


def poll_times(schedule: PollSchedule, until: float) -> list[float]:
    t, times = 0.0, []
    while t < until:
        t += schedule.next_wait(t)
        times.append(t)
    return times


def learned(median: float, sigma: float, n: int = 20, seed: int = 1) -> LatencyModel:
    rng = random.Random(seed)
    return LatencyModel.fit(10.0, [median * math.exp(sigma * rng.gauss(0, 1)) for _ in range(n)])


def test_the_prior_serves_until_enough_jobs_are_learned():
    assert LatencyModel.fit(60.0, [30.0] * (MIN_SAMPLES - 1)) == LatencyModel(math.log(60.0), PRIOR_SIGMA)
    fitted = LatencyModel.fit(60.0, [30.0, 31.0, 29.0, 30.5, 29.5])
    assert fitted.median == pytest.approx(30.0, rel=0.02)


def test_polls_are_sparse_before_the_likely_finish_and_dense_around_it():
    model = learned(60.0, 0.3)
    times = poll_times(PollSchedule.for_model(model, cadence=5.0), until=120.0)
    early = [t for t in times if t < model.quantile(0.05)]
    around = [t for t in times if model.quantile(0.25) <= t <= model.quantile(0.75)]
    assert len(early) <= 2  # a 5-s cadence would poll 7 times before then
    gaps = [b - a for a, b in itertools.pairwise(times) if model.quantile(0.25) <= a <= model.quantile(0.75)]
    assert len(around) >= 6 and max(gaps) <= 4.0
    # Far fewer polls than the seed's fixed 2 s for the same jobs.
    assert len([t for t in times if t <= model.median]) < model.median / 2 / 3


def test_never_closer_than_the_floor_and_the_cadence_past_the_learned_range():
    model = learned(8.0, 0.05)  # a very predictable short job: the hazard soars near 8 s
    schedule = PollSchedule.for_model(model, cadence=3.0)
    times = poll_times(schedule, until=40.0)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert min(gaps) >= 1.0 - 1e-9
    assert schedule.next_wait(model.quantile(0.999)) == 3.0


def test_a_pinned_cadence_is_kept_as_it_is():
    assert FixedSchedule(0.5).next_wait(0) == FixedSchedule(0.5).next_wait(100) == 0.5
    assert not FixedSchedule(0.5).jittered and PollSchedule.for_model(learned(60, 0.3), 5.0).jittered


def test_the_hazard_is_finite_far_in_the_tail():
    model = LatencyModel(math.log(10.0), 0.1)
    assert 0 < model.hazard(1e6) < math.inf and model.hazard(0) == 0.0
