"""The retention task: delete videos older than OUTPUT_RETENTION_DAYS (job history keeps the record)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.media import remove_old_outputs

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 3600.0  # seconds between sweeps


async def sweep_outputs(output_dir: Path, retention_days: float, now: Callable[[], float] = time.time) -> int:
    """One sweep, off the event loop; returns how many files were removed."""
    removed = await asyncio.to_thread(remove_old_outputs, output_dir, retention_days, now())
    return len(removed)


async def retention_loop(
    output_dir: Path,
    retention_days: float,
    *,
    interval: float = SWEEP_INTERVAL,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.time,
) -> None:
    """Sweep now and then every `interval` seconds until cancelled; a failed sweep is logged, not fatal."""
    if retention_days <= 0:
        return
    while True:
        try:
            await sweep_outputs(output_dir, retention_days, now)
        except Exception:  # a full disk or a permissions problem must not stop the bot
            log.exception("retention sweep of %s failed", output_dir)
        await sleep(interval)
