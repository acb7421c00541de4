"""Retention: delete files older than OUTPUT_RETENTION_DAYS (job history keeps the record).

What it sweeps in OUTPUT_DIR: finished videos and their upload copies (`*.mp4`), downloads a crash left
half-written (`*.part`), and the input images of image-to-video jobs (`inputs/`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 3600.0  # seconds between sweeps
INPUTS_FOLDER = "inputs"  # where image-to-video jobs keep their first frame
SWEPT_SUFFIXES = (".mp4", ".part")


def _expired_files(folder: Path, cutoff: float, suffixes: tuple[str, ...] | None) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if suffixes is not None and entry.suffix.lower() not in suffixes:
            continue
        try:
            if entry.is_symlink() or not entry.is_file() or entry.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        found.append(entry)
    return found


def remove_old_outputs(output_dir: Path, older_than_days: float, now: float) -> list[Path]:
    """Delete videos, partial downloads and input images older than the given days; 0 days keeps all."""
    if older_than_days <= 0:
        return []
    cutoff = now - older_than_days * 86400
    folder = Path(output_dir)
    candidates = _expired_files(folder, cutoff, SWEPT_SUFFIXES)
    candidates += _expired_files(folder / INPUTS_FOLDER, cutoff, None)
    removed: list[Path] = []
    for entry in candidates:
        try:
            entry.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove old output %s: %s", entry, exc)
            continue
        removed.append(entry)
    if removed:
        log.info("removed %d files older than %s days from %s", len(removed), older_than_days, output_dir)
    return removed


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
