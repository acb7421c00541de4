"""The stage plan users see, and a reporter that never lets progress go backwards.

0 Starting · 10 Request sent · 20-80 processing (Initializing 20-35, Generating frames 35-55,
Rendering video 55-75, Finalizing 75-80) · 90 Downloading · 100 Complete.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Awaitable, Callable, Sequence

ProgressCallback = Callable[[int, str], Awaitable[None]]

STARTING = (0, "Starting")
REQUEST_SENT = (10, "Request sent")
DOWNLOADING = (90, "Downloading")
COMPLETE = (100, "Complete")
PROCESSING_START = 20
PROCESSING_END = 80
PROCESSING_BANDS = (  # (upper bound, stage name)
    (35, "Initializing"),
    (55, "Generating frames"),
    (75, "Rendering video"),
    (80, "Finalizing"),
)
LEARN_MIN_SAMPLES = 5
BAR_WIDTH = 20

log = logging.getLogger(__name__)


def processing_stage(fraction: float) -> tuple[int, str]:
    """Map provider progress in [0, 1] to (percent 20-80, stage name)."""
    fraction = min(max(fraction, 0.0), 1.0)
    percent = PROCESSING_START + math.floor(fraction * (PROCESSING_END - PROCESSING_START))
    for upper, name in PROCESSING_BANDS:
        if percent < upper:
            return percent, name
    return PROCESSING_END, PROCESSING_BANDS[-1][1]


def queued_stage(position: int | None) -> tuple[int, str]:
    """The provider has the job but has not started it."""
    return REQUEST_SENT[0], f"Queued · position {position}" if position is not None else "Queued"


def time_fraction(elapsed: float, expected: float) -> float:
    """Progress estimated from time: linear up to 90 % of the expected latency, then easing
    toward (never reaching) 1 so an overdue job still creeps forward instead of freezing."""
    if expected <= 0:
        return 0.99
    knee = 0.9
    t = elapsed / expected
    if t <= knee:
        return t
    return 1 - (1 - knee) / (1 + (t - knee))


def expected_latency(prior: float, samples: Sequence[float]) -> float:
    """This deployment's median processing time once it has enough samples, else the catalog prior."""
    if len(samples) >= LEARN_MIN_SAMPLES:
        return statistics.median(samples)
    return prior


class ProgressReporter:
    """Forwards (percent, stage) to a callback: never decreasing, and skipping unchanged states."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self.percent = -1
        self.stage = ""

    async def report(self, percent: int, stage: str) -> None:
        """Send an update unless it would go backwards, repeat the last one, or follow Complete."""
        if percent < self.percent or (percent, stage) == (self.percent, self.stage) or self.percent >= 100:
            return
        self.percent, self.stage = percent, stage
        if self._callback is not None:
            try:
                await self._callback(percent, stage)
            except Exception:  # a display problem never fails the job
                log.exception("progress callback failed at %d%% (%s)", percent, stage)


def format_elapsed(seconds: float) -> str:
    """0:42, 12:03, 1:02:03."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_bar(percent: int, width: int = BAR_WIDTH) -> str:
    """`[████░░░░]`-style bar for `percent`."""
    filled = round(width * max(0, min(percent, 100)) / 100)
    return "[" + "█" * filled + "░" * (width - filled) + "]"


def progress_line(percent: int, stage: str, elapsed: float) -> str:
    """`[██████░░░░░░░░░░░░░░] 30% · Generating frames · 0:42`."""
    return f"{progress_bar(percent)} {max(0, min(percent, 100))}% · {stage} · {format_elapsed(elapsed)}"
