"""`python -m benchmarks.latency_bench`: notification lag and requests per job, per provider and policy
(see the package docstring and benchmarks/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from benchmarks.latency_bench import polling, push

CADENCES = {"gemini": 5.0, "fal": 3.0, "vertex": 10.0}  # today's fixed polls (core/providers/*)
CASES = [polling.Case("median 60 s", 60.0, 0.3), polling.Case("median 8 s", 8.0, 0.3)]
TARGET_PUSH = (0.5, 2.0, 3.0)  # lag p50, lag p99 (s), requests per job
TARGET_LEARNED = (1.5, 1 / 3)  # lag p50 (s), requests relative to the seed's 2-s poll


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency_bench", description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000, help="simulated jobs per case and policy")
    parser.add_argument("--push-jobs", type=int, default=40, help="real jobs per streaming provider")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()

    print(f"load average at start: {_load()}")
    rows = []
    misses = []
    for (provider, case), outcomes in polling.run(CASES, CADENCES, args.jobs, args.seed).items():
        seed_requests = outcomes[0].requests_per_job
        for o in outcomes:
            rows.append((provider, case, o.policy, o.requests_per_job, o.lag_p50, o.lag_p99))
            if o.policy.startswith("learned") and case == CASES[0].name:
                ratio = o.requests_per_job / seed_requests
                if o.lag_p50 > TARGET_LEARNED[0] or ratio > TARGET_LEARNED[1]:
                    misses.append(
                        f"{provider} learned: lag p50 {o.lag_p50:.2f} s at {ratio:.2f}× the seed's polls"
                    )
    for o in asyncio.run(push.measure(args.push_jobs)):
        rows.append((o.provider, o.case, "push (stream)", o.requests_per_job, o.lag_p50, o.lag_p99))
        if any(
            got > limit
            for got, limit in zip((o.lag_p50, o.lag_p99, o.requests_per_job), TARGET_PUSH, strict=True)
        ):
            misses.append(
                f"{o.provider} push: p50 {o.lag_p50:.3f} s, p99 {o.lag_p99:.3f} s, {o.requests_per_job:.1f} req"
            )

    print("\n| provider | jobs | policy | requests/job | lag p50 | lag p99 |")
    print("|---|---|---|---:|---:|---:|")
    for provider, case, policy, requests, p50, p99 in rows:
        print(f"| {provider} | {case} | {policy} | {requests:.1f} | {p50:.3f} s | {p99:.3f} s |")
    print(f"\nload average at end: {_load()}")
    print(
        "targets: push lag p50 ≤ 0.5 s, p99 ≤ 2 s, ≤ 3 requests/job; learned (median-60 s jobs) lag p50 ≤ 1.5 s"
        " with ≤ 1/3 of the seed's polls"
    )
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


if __name__ == "__main__":
    sys.exit(main())
