"""The stage plan and the never-backwards reporter."""

from __future__ import annotations

import pytest

from core.jobs.progress import (
    ProgressReporter,
    expected_latency,
    processing_stage,
    queued_stage,
    time_fraction,
)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, (20, "Initializing")),
        (0.2, (32, "Initializing")),
        (0.25, (35, "Generating frames")),
        (0.5, (50, "Generating frames")),
        (0.6, (56, "Rendering video")),
        (0.95, (77, "Finalizing")),
        (1.0, (80, "Finalizing")),
        (7.0, (80, "Finalizing")),
        (-1.0, (20, "Initializing")),
    ],
)
def test_processing_bands(fraction, expected):
    assert processing_stage(fraction) == expected


def test_queue_position_is_named():
    assert queued_stage(3) == (10, "Queued · position 3")
    assert queued_stage(None) == (10, "Queued")


def test_time_fraction_is_linear_then_creeps_below_one():
    assert time_fraction(30, 60) == 0.5
    values = [time_fraction(t, 60) for t in (54, 60, 90, 300, 3000)]
    assert values == sorted(values) and all(v < 1 for v in values)


def test_learned_latency_needs_five_samples():
    assert expected_latency(60, [10, 20, 30, 40]) == 60
    assert expected_latency(60, [10, 20, 30, 40, 500]) == 30


async def test_reporter_never_goes_backwards_and_skips_repeats():
    seen = []

    async def cb(p, s):
        seen.append((p, s))

    r = ProgressReporter(cb)
    for update in [
        (0, "Starting"),
        (10, "Request sent"),
        (10, "Request sent"),
        (50, "Generating frames"),
        (32, "Initializing"),
        (50, "Generating frames"),
        (100, "Complete"),
        (90, "Downloading"),
    ]:
        await r.report(*update)
    assert seen == [(0, "Starting"), (10, "Request sent"), (50, "Generating frames"), (100, "Complete")]
