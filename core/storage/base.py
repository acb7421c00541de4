"""The storage interface: where finished videos and input images are kept, by key.

A key is a relative POSIX path (`20261201_143025_a_fox_7.mp4`, `inputs/3f0c….png`). Every host keeps a
local copy of a key at `OUTPUT_DIR/<key>`: for the local folder that *is* the store, for object storage it
is this host's cache.
"""

from __future__ import annotations

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROBE = b"videobot storage check\n"


class StorageError(OSError):
    """Storage could not do what was asked (unreachable, refused, a size that doesn't match)."""


@dataclass(frozen=True)
class StoredObject:
    """One stored file, as a listing shows it."""

    key: str
    size: int
    modified: dt.datetime  # UTC


def check_key(key: str) -> str:
    """`key` if it is a safe relative path (no `..`, no absolute path, no empty part); else ValueError."""
    if not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise ValueError(f"unsafe storage key {key!r}")
    parts = PurePosixPath(key).parts
    if any(part in ("", ".", "..") for part in parts) or "/".join(parts) != key:
        raise ValueError(f"unsafe storage key {key!r}")
    return key


class Storage(ABC):
    """Finished files by key: put once (atomically), fetch to a local path, delete, list old ones."""

    remote = False  # True when the files live elsewhere than OUTPUT_DIR (object storage)

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)

    def local_path(self, key: str) -> Path:
        """Where this host keeps `key`: OUTPUT_DIR/<key> (the store itself, or the cache)."""
        return self.cache_dir / check_key(key)

    def key_of(self, path: Path) -> str:
        """The key of a file under OUTPUT_DIR; ValueError for a file outside it."""
        relative = Path(path).resolve().relative_to(self.cache_dir.resolve())
        return check_key(relative.as_posix())

    async def probe(self) -> None:
        """Write a small object, read it back and delete it (`doctor`); StorageError or OSError on failure."""
        key = f"doctor/{uuid.uuid4().hex}.txt"
        source = self.cache_dir / f".doctor-{uuid.uuid4().hex}"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        source.write_bytes(PROBE)
        try:
            await self.put(key, source)
        finally:
            source.unlink(missing_ok=True)
        try:
            if self.remote:  # read it from the store, not from this host's copy
                self.local_path(key).unlink(missing_ok=True)
            data = (await self.fetch(key, len(PROBE))).read_bytes()
        finally:
            await self.delete(key)
        if data != PROBE:
            raise StorageError(f"{key} read back differs from what was written")

    @abstractmethod
    async def put(self, key: str, source: Path) -> None:
        """Store the finished file `source` under `key`; readers see all of it or nothing."""

    @abstractmethod
    async def fetch(self, key: str, max_bytes: int | None = None) -> Path:
        """A local path holding `key`'s whole file (FileNotFoundError if there is none; StorageError if it
        is over `max_bytes` or can't be read)."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove `key` (and this host's copy); whether the store had it."""

    @abstractmethod
    async def list_older(self, cutoff: dt.datetime) -> list[StoredObject]:
        """Every stored file last written before `cutoff`."""

    async def url_for(self, key: str, ttl_seconds: float) -> str | None:
        """A URL anyone may GET `key` from until `ttl_seconds` from now; None where the bot serves it."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - only network stores have something to close
        """Close network clients."""

    def describe(self) -> str:
        """Where files go, for logs and doctor."""
        return str(self.cache_dir)
