"""A local S3 server (moto in server mode, on 127.0.0.1 and a free port) for the whole session, a fresh
bucket per test, and S3Storage views of it through the real async client (aiobotocore)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

from core.storage.s3 import S3Storage

KEY_ID, SECRET = "test-key-id", "test-secret-key-never-logged"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3, as a real HTTP server."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest_asyncio.fixture
async def s3(s3_endpoint) -> AsyncIterator:
    """A plain client of the server (the test's own view of the bucket)."""
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    ) as client:
        yield client


@pytest_asyncio.fixture
async def bucket(s3) -> str:
    name = f"videos-{uuid.uuid4().hex[:12]}"
    await s3.create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str, bucket: str, output_dir: Path, prefix: str = "bot") -> dict[str, str]:
    """The settings of a process that keeps its files in `bucket` and caches them in `output_dir`."""
    return {
        "OUTPUT_DIR": str(output_dir),
        "STORAGE_URL": f"s3://{bucket}/{prefix}",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": REGION,
    }


@pytest_asyncio.fixture
async def storage(s3_endpoint, bucket, tmp_path) -> AsyncIterator[S3Storage]:
    store = S3Storage(
        tmp_path / "cache",
        bucket=bucket,
        prefix="bot",
        endpoint_url=s3_endpoint,
        region=REGION,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        part_size=5 * 1024 * 1024,  # S3's smallest part: a file over it is a multipart upload
    )
    yield store
    await store.aclose()


async def names(s3, bucket: str) -> list[str]:
    """Every object in the bucket, as anyone listing it sees them."""
    answer = await s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


async def open_uploads(s3, bucket: str) -> list[str]:
    answer = await s3.list_multipart_uploads(Bucket=bucket)
    return [u["Key"] for u in answer.get("Uploads", [])]


class FailPart:
    """A botocore hook that breaks the upload of part `number` (like a connection reset mid-body)."""

    def __init__(self, number: int = 2, times: int = 1_000) -> None:
        self.number, self.times, self.failed = number, times, 0

    def __call__(self, request, **_) -> None:
        if f"partNumber={self.number}" in request.url and self.failed < self.times:
            self.failed += 1
            raise ConnectionResetError("connection reset in the middle of the upload")
