"""The media pools: work that keeps every core busy runs one at a time; the rest one per core."""

from __future__ import annotations

import asyncio
import threading
import time

from core.media import executor


def overlap_probe():
    """A blocking job that records how many of its kind run at the same moment."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def work() -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)  # a real thread doing blocking work: this is what is measured
        with lock:
            state["now"] -= 1

    return work, state


async def test_whole_machine_work_runs_one_at_a_time():
    work, state = overlap_probe()
    await asyncio.gather(*(executor.run_media(work, whole_machine=True) for _ in range(3)))
    assert state["most"] == 1


async def test_other_media_work_runs_side_by_side_up_to_the_cores(monkeypatch):
    monkeypatch.setattr(executor, "_pool", None)
    monkeypatch.setattr(executor, "media_workers", lambda: 2)
    work, state = overlap_probe()
    await asyncio.gather(*(executor.run_media(work) for _ in range(4)))
    await executor.drain()
    assert state["most"] == 2
