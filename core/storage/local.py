"""The local folder store: OUTPUT_DIR itself, in today's layout (so files written before keep working)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import uuid
from pathlib import Path

from core.storage.base import Storage, StorageError, StoredObject, check_key

log = logging.getLogger(__name__)

SKIPPED_SUFFIXES = (".part",)  # partial downloads: not stored files (retention sweeps them itself)


class LocalStorage(Storage):
    """Files under OUTPUT_DIR, one per key; the local copy is the stored file."""

    async def put(self, key: str, source: Path) -> None:
        """Nothing to do when `source` is already OUTPUT_DIR/<key>; else copied to a temporary name and
        renamed, so a reader never sees half of it."""
        dest = self.local_path(key)
        await asyncio.to_thread(_copy_atomically, Path(source), dest)

    async def fetch(self, key: str, max_bytes: int | None = None) -> Path:
        path = self.local_path(key)
        size = (await asyncio.to_thread(path.stat)).st_size  # FileNotFoundError when it is gone
        if max_bytes is not None and size > max_bytes:
            raise StorageError(f"{key} is {size} bytes, over the {max_bytes} allowed")
        return path

    async def delete(self, key: str) -> bool:
        path = self.local_path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def list_older(self, cutoff: dt.datetime) -> list[StoredObject]:
        return await asyncio.to_thread(self._list_older, cutoff.timestamp())

    def _list_older(self, cutoff: float) -> list[StoredObject]:
        found = []
        for folder in (self.cache_dir, self.cache_dir / "inputs"):
            try:
                entries = sorted(folder.iterdir())
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.suffix in SKIPPED_SUFFIXES:
                    continue
                try:
                    if entry.is_symlink() or not entry.is_file() or (stat := entry.stat()).st_mtime >= cutoff:
                        continue
                except FileNotFoundError:
                    continue
                modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
                found.append(StoredObject(self.key_of(entry), stat.st_size, modified))
        return found


def _copy_atomically(source: Path, dest: Path) -> None:
    if source.resolve() == dest.resolve():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


__all__ = ["LocalStorage", "check_key"]
