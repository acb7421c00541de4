"""py-spy around the children (`--py-spy DIR`) and the summary of what it recorded (`--summarize-profile`)."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path


def under_py_spy(cmd: list[str], out: Path) -> list[str]:
    """`cmd` run by `py-spy record` (collapsed stacks, 200 Hz) into `out`."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    return [spy, "record", "--format", "raw", "--rate", "200", "-o", str(out), "--", *cmd]


def summarize_profile(path: str, top: int = 40) -> int:
    """The event loop's hottest frames in a py-spy `--format raw` (collapsed stacks) file: only stacks
    under `run_forever` (other threads mostly wait), idle `select()` reported separately."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = idle = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any("run_forever" in f for f in frames):
            continue
        if "select (selectors.py" in frames[-1]:
            idle += int(count)
            continue
        busy += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not busy:
        print("no event-loop samples")
        return 1
    print(f"event loop: {busy} busy samples, {idle} idle ({100 * busy / (busy + idle):.0f}% busy)")
    print("inclusive (share of busy samples):")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / busy:5.1f}%  {frame}")
    print("self:")
    for frame, count in own.most_common(top // 2):
        print(f"  {100 * count / busy:5.1f}%  {frame}")
    return 0
