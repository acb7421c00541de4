"""STORAGE_URL's form: empty (the local OUTPUT_DIR) or `s3://bucket/prefix` (a leaf module: settings use it)."""

from __future__ import annotations

import re

from core.storage.base import check_key

BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def parse_storage_url(value: str) -> tuple[str, str] | None:
    """`s3://bucket/prefix` → (bucket, prefix); empty → None (the local folder); ValueError otherwise."""
    value = value.strip()
    if not value:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() != "s3":
        raise ValueError("must be empty (the local OUTPUT_DIR) or s3://bucket/prefix")
    bucket, _, prefix = rest.partition("/")
    if not BUCKET.fullmatch(bucket):
        raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')")
    prefix = prefix.strip("/")
    if prefix:
        check_key(prefix)
    return bucket, prefix
