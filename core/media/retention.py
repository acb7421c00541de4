"""Retention: delete files older than OUTPUT_RETENTION_DAYS (job history keeps the record).

What it sweeps in OUTPUT_DIR: finished videos and their upload copies (`*.mp4`), downloads a crash left
half-written (`*.part`), and the input images of image-to-video jobs (`inputs/`). With object storage
(STORAGE_URL) OUTPUT_DIR is this host's cache, swept the same way, and the stored objects older than the
same age are deleted from the bucket too (each on its own: one that can't be deleted is logged and left
for the next sweep).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.storage import Storage

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


async def sweep_outputs(
    output_dir: Path,
    retention_days: float,
    now: Callable[[], float] = time.time,
    storage: Storage | None = None,
) -> int:
    """One sweep, off the event loop (and of the object store, when there is one); how many files and
    objects were removed."""
    at = now()
    removed = len(await asyncio.to_thread(remove_old_outputs, output_dir, retention_days, at))
    if storage is not None and storage.remote and retention_days > 0:
        removed += await _sweep_storage(storage, at - retention_days * 86400)
    return removed


async def _sweep_storage(storage: Storage, cutoff: float) -> int:
    removed = 0
    for item in await storage.list_older(dt.datetime.fromtimestamp(cutoff, dt.UTC)):
        try:
            removed += await storage.delete(item.key)
        except OSError as exc:
            log.warning("could not remove old stored %s: %s", item.key, exc)
    if removed:
        log.info("removed %d stored objects from %s", removed, storage.describe())
    return removed


async def retention_loop(
    output_dir: Path,
    retention_days: float,
    *,
    interval: float = SWEEP_INTERVAL,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.time,
    storage: Storage | None = None,
) -> None:
    """Sweep now and then every `interval` seconds until cancelled; a failed sweep is logged, not fatal."""
    if retention_days <= 0:
        return
    while True:
        try:
            await sweep_outputs(output_dir, retention_days, now, storage)
        except Exception:  # a full disk or a permissions problem must not stop the bot
            log.exception("retention sweep of %s failed", output_dir)
        await sleep(interval)
