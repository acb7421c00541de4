"""S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, Garage) through aiobotocore.

An upload is one PutObject, or for a large file a multipart upload completed at the end: S3 makes an
object visible only when either finishes, so an interrupted upload never leaves a half object anyone can
read. A failed multipart upload is aborted (its parts freed); one a crash left behind is invisible too and
is freed by the bucket's lifecycle rule for incomplete uploads, if one is set. A fetch streams the object
into a temporary file under OUTPUT_DIR, checks its size and renames it into the cache.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from core.storage.base import Storage, StorageError, StoredObject, check_key

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024  # multipart above this; S3 wants parts of at least 5 MiB (but the last)
READ_CHUNK = 1024 * 1024
MISSING = ("404", "NoSuchKey", "NotFound")


class S3Storage(Storage):
    """Objects under `s3://bucket/prefix/`; this host's copies under OUTPUT_DIR."""

    remote = True

    def __init__(
        self,
        cache_dir: Path,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_size: int = PART_SIZE,
    ) -> None:
        super().__init__(cache_dir)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region or "us-east-1",
            "aws_access_key_id": access_key_id or None,
            "aws_secret_access_key": secret_access_key or None,
            "config": AioConfig(
                signature_version="s3v4",  # SigV4: what R2, MinIO and Garage accept
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        }
        self._client: Any = None
        self._context: Any = None
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (" (cache " + str(self.cache_dir) + ")")

    def object_name(self, key: str) -> str:
        """The object's name in the bucket: prefix/key."""
        return f"{self.prefix}/{check_key(key)}" if self.prefix else check_key(key)

    def _key_of_object(self, name: str) -> str | None:
        if self.prefix:
            if not name.startswith(self.prefix + "/"):
                return None
            name = name[len(self.prefix) + 1 :]
        try:
            return check_key(name)
        except ValueError:
            return None

    async def client(self) -> Any:
        """The S3 client, made on first use (one per process)."""
        async with self._lock:
            if self._client is None:
                self._context = get_session().create_client("s3", **self._options)
                self._client = await self._context.__aenter__()
            return self._client

    async def aclose(self) -> None:
        async with self._lock:
            if self._context is not None:
                context, self._context, self._client = self._context, None, None
                await context.__aexit__(None, None, None)

    # ---- put -------------------------------------------------------------------------------

    async def put(self, key: str, source: Path) -> None:
        name = self.object_name(key)
        size = (await asyncio.to_thread(os.stat, source)).st_size
        client = await self.client()
        try:
            if size <= self.part_size:
                body = await asyncio.to_thread(Path(source).read_bytes)
                await client.put_object(Bucket=self.bucket, Key=name, Body=body, ContentLength=len(body))
            else:
                await self._multipart(client, name, Path(source))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"storing {key} in s3://{self.bucket} failed: {exc}") from exc
        # Keep this host's copy where a fetch looks for it.
        await asyncio.to_thread(_link_or_copy, Path(source), self.local_path(key))

    async def _multipart(self, client: Any, name: str, source: Path) -> None:
        upload = await client.create_multipart_upload(Bucket=self.bucket, Key=name)
        upload_id = upload["UploadId"]
        try:
            parts = []
            with await asyncio.to_thread(open, source, "rb") as file:
                number = 1
                while chunk := await asyncio.to_thread(file.read, self.part_size):
                    answer = await client.upload_part(
                        Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    number += 1
            await client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await asyncio.shield(self._abort(client, name, upload_id))
            raise

    async def _abort(self, client: Any, name: str, upload_id: str) -> None:
        try:
            await client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except Exception:  # never visible anyway; a lifecycle rule frees what is left
            log.warning("could not abort the multipart upload of %s", name, exc_info=True)

    # ---- fetch -----------------------------------------------------------------------------

    async def fetch(self, key: str, max_bytes: int | None = None) -> Path:
        name, dest = self.object_name(key), self.local_path(key)
        client = await self.client()
        try:
            head = await client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"{key} is not in s3://{self.bucket}") from None
            raise StorageError(f"reading {key} from s3://{self.bucket} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"reading {key} from s3://{self.bucket} failed: {exc}") from exc
        size = int(head["ContentLength"])
        if max_bytes is not None and size > max_bytes:
            raise StorageError(f"{key} is {size} bytes, over the {max_bytes} allowed")
        if await asyncio.to_thread(_size_of, dest) == size:
            return dest  # cached (files are written whole, so a matching size is the file)
        await self._download(client, key, name, dest, size)
        return dest

    async def _download(self, client: Any, key: str, name: str, dest: Path, size: int) -> None:
        await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            got = 0
            answer = await client.get_object(Bucket=self.bucket, Key=name)
            with await asyncio.to_thread(open, temp, "wb") as file:
                async with answer["Body"] as body:
                    while chunk := await body.read(READ_CHUNK):
                        got += len(chunk)
                        if got > size:
                            break
                        await asyncio.to_thread(file.write, chunk)
            if got != size:
                raise StorageError(f"{key}: read {got} bytes of s3://{self.bucket}, expected {size}")
            await asyncio.to_thread(os.replace, temp, dest)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"{key} is not in s3://{self.bucket}") from None
            raise StorageError(f"reading {key} from s3://{self.bucket} failed: {exc}") from exc
        except (TimeoutError, BotoCoreError) as exc:
            raise StorageError(f"reading {key} from s3://{self.bucket} failed: {exc!r}") from exc
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)

    # ---- delete, list, links ---------------------------------------------------------------

    async def delete(self, key: str) -> bool:
        client = await self.client()
        name = self.object_name(key)
        try:
            try:
                await client.head_object(Bucket=self.bucket, Key=name)
                had = True
            except ClientError as exc:
                if not _missing(exc):
                    raise
                had = False
            await client.delete_object(Bucket=self.bucket, Key=name)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"deleting {key} from s3://{self.bucket} failed: {exc}") from exc
        await asyncio.to_thread(self.local_path(key).unlink, missing_ok=True)
        return had

    async def list_older(self, cutoff: dt.datetime) -> list[StoredObject]:
        client = await self.client()
        found = []
        options = {"Bucket": self.bucket, **({"Prefix": self.prefix + "/"} if self.prefix else {})}
        try:
            async for page in client.get_paginator("list_objects_v2").paginate(**options):
                for item in page.get("Contents", []):
                    key = self._key_of_object(item["Key"])
                    if key is not None and item["LastModified"] < cutoff:
                        found.append(StoredObject(key, int(item["Size"]), item["LastModified"]))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"listing s3://{self.bucket} failed: {exc}") from exc
        return found

    async def url_for(self, key: str, ttl_seconds: float) -> str | None:
        client = await self.client()
        try:
            return await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_name(key)},
                ExpiresIn=max(1, int(ttl_seconds)),
            )
        except BotoCoreError as exc:  # e.g. no credentials to sign with
            raise StorageError(f"signing a link to {key} in s3://{self.bucket} failed: {exc}") from exc


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in MISSING


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _link_or_copy(source: Path, dest: Path) -> None:
    """Keep a local copy at `dest` (a hard link where possible), renamed into place whole."""
    if source.resolve() == dest.resolve():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        try:
            os.link(source, temp)
        except OSError:
            shutil.copyfile(source, temp)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
