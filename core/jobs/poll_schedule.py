"""When to poll a provider that cannot push: few polls early, dense around the likely finish.

A model's processing times, learned from this deployment's completed jobs (or the catalog's prior until
enough are), are fitted with a log-normal distribution. A poll at time t costs one request; a finish
noticed late costs the user waiting. Minimising expected lag plus `POLL_COST` seconds per poll gives
a gap between polls of sqrt(2 · POLL_COST / h(t)), where h is the distribution's hazard rate (the
chance per second that a job still running at t finishes now): long gaps while almost nothing
finishes, short ones where most jobs do. Gaps stay within [floor, cap]: never closer than the
provider tolerates, never longer than the provider's usual cadence past the learned range (where
the model knows nothing), and at most half the median before it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

POLL_COST = 0.2  # seconds of expected lag one poll is worth (tuned with benchmarks/latency_bench)
MIN_GAP = 1.0  # seconds; no provider is polled more often than this unless its catalog entry says so
PRIOR_SIGMA = 0.5  # spread assumed around the catalog's expected latency before anything is learned
MIN_SIGMA, MAX_SIGMA = 0.08, 1.5
LEARNED_RANGE = 0.995  # past this quantile of the fit, poll at the provider's usual cadence
MIN_SAMPLES = 5  # below this many learned jobs the catalog's prior is the distribution


@dataclass(frozen=True)
class LatencyModel:
    """A log-normal distribution of processing seconds: median exp(mu), spread sigma (of the log)."""

    mu: float
    sigma: float

    @classmethod
    def fit(cls, prior_s: float, samples: Sequence[float]) -> LatencyModel:
        """The learned distribution once there are `MIN_SAMPLES` samples, else one around the prior."""
        logs = [math.log(s) for s in samples if s > 0]
        if len(logs) < MIN_SAMPLES:
            return cls(math.log(max(prior_s, 0.1)), PRIOR_SIGMA)
        sigma = statistics.stdev(logs) if len(logs) > 1 else PRIOR_SIGMA
        return cls(statistics.fmean(logs), min(MAX_SIGMA, max(MIN_SIGMA, sigma)))

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * statistics.NormalDist().inv_cdf(q))

    def hazard(self, t: float) -> float:
        """The rate (per second) at which jobs still unfinished at `t` seconds finish."""
        if t <= 0:
            return 0.0
        z = (math.log(t) - self.mu) / self.sigma
        density = math.exp(-0.5 * z * z) / (self.sigma * t * math.sqrt(2 * math.pi))
        survival = 0.5 * math.erfc(z / math.sqrt(2))
        if survival < 1e-12:  # far in the tail: the normal's Mills ratio, without dividing 0 by 0
            return z / (self.sigma * t)
        return density / survival


class Schedule(Protocol):
    """Seconds to wait before the next poll of a job that has been processing `elapsed` seconds."""

    jittered: bool

    def next_wait(self, elapsed: float) -> float: ...


@dataclass(frozen=True)
class FixedSchedule:
    """Every `cadence` seconds (a catalog entry that sets `poll_interval_s` asks for exactly this)."""

    cadence: float
    jittered: bool = False

    def next_wait(self, elapsed: float) -> float:
        return self.cadence


@dataclass(frozen=True)
class PollSchedule:
    """The gap before the next poll, given how long the job has been processing."""

    model: LatencyModel
    cadence: float  # the provider's usual seconds between polls
    floor: float  # never closer than this
    jittered: bool = True

    @classmethod
    def for_model(cls, model: LatencyModel, cadence: float) -> PollSchedule:
        return cls(model, cadence, min(cadence, MIN_GAP))

    def next_wait(self, elapsed: float) -> float:
        """Seconds from `elapsed` to the next poll: the smallest wait d with d >= gap(elapsed + d)."""
        if elapsed >= self.model.quantile(LEARNED_RANGE):
            return self.cadence  # later than nearly every learned job: the model knows nothing here
        cap = max(self.cadence, self.model.median / 2)
        step = self.floor / 4
        wait = self.floor
        while wait < cap:
            if wait >= self._gap(elapsed + wait):
                return wait
            wait += step
        return cap

    def _gap(self, t: float) -> float:
        hazard = self.model.hazard(t)
        return math.inf if hazard <= 0 else math.sqrt(2 * POLL_COST / hazard)
