"""Where finished videos and input images are kept: the local OUTPUT_DIR (the default) or S3-compatible
object storage shared by workers on several hosts (`STORAGE_URL=s3://bucket/prefix`).

`Storage` (base.py) is the interface; local.py and s3.py implement it; `open_storage` picks one from
settings. `local_copy` is how readers get a file: through storage by its key, else (a job from before
storage keys) the path that was recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.storage.base import Storage, StorageError, StoredObject, check_key
from core.storage.local import LocalStorage
from core.storage.url import parse_storage_url

if TYPE_CHECKING:
    from core.platform.settings import Settings


def open_storage(settings: Settings) -> Storage:
    """The store STORAGE_URL names, caching under OUTPUT_DIR (no network until first used)."""
    target = parse_storage_url(settings.storage_url)
    if target is None:
        return LocalStorage(settings.output_dir)
    from core.storage.s3 import S3Storage

    bucket, prefix = target
    return S3Storage(
        settings.output_dir,
        bucket=bucket,
        prefix=prefix,
        endpoint_url=settings.aws_endpoint_url,
        region=settings.aws_region,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=settings.aws_secret_access_key,
    )


async def local_copy(
    storage: Storage | None, key: str | None, path: str | None, max_bytes: int | None = None
) -> Path | None:
    """The file as a local path: fetched through `storage` by `key`, else the recorded `path`; None when
    the job has neither."""
    if key and storage is not None:
        return await storage.fetch(key, max_bytes)
    return Path(path) if path else None


__all__ = [
    "LocalStorage",
    "Storage",
    "StorageError",
    "StoredObject",
    "check_key",
    "local_copy",
    "open_storage",
    "parse_storage_url",
]
