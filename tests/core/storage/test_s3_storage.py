"""S3Storage through the real async client against a local S3 server (moto): put, fetch, delete, list,
presigned links, and an upload interrupted mid-way."""

from __future__ import annotations

import datetime as dt
import os
import re

import aiohttp
import pytest

from core.platform.settings import SettingsError, load_settings
from core.storage import LocalStorage, StorageError, open_storage
from core.storage.s3 import S3Storage
from tests.core.storage.conftest import FailPart, names, open_uploads, s3_settings

MIB = 1024 * 1024


def payload(size: int) -> bytes:
    return os.urandom(size)


async def test_put_then_fetch_into_another_cache_gives_the_same_bytes(
    storage, s3_endpoint, bucket, tmp_path, s3
):
    data = payload(64 * 1024)
    source = tmp_path / "made.mp4"
    source.write_bytes(data)
    await storage.put("clip_1.mp4", source)
    assert await names(s3, bucket) == ["bot/clip_1.mp4"]
    other = S3Storage(
        tmp_path / "other", bucket=bucket, prefix="bot", endpoint_url=s3_endpoint,
        access_key_id="k", secret_access_key="s",
    )  # fmt: skip
    try:
        path = await other.fetch("clip_1.mp4")
    finally:
        await other.aclose()
    assert path == tmp_path / "other" / "clip_1.mp4" and path.read_bytes() == data


async def test_a_large_file_goes_up_in_parts_and_comes_back_whole(storage, tmp_path, bucket, s3):
    data = payload(11 * MIB)  # three parts of 5 MiB
    source = tmp_path / "big.mp4"
    source.write_bytes(data)
    await storage.put("big.mp4", source)
    head = await s3.head_object(Bucket=bucket, Key="bot/big.mp4")
    assert head["ContentLength"] == len(data) and "-3" in head["ETag"]  # a multipart ETag: 3 parts
    storage.local_path("big.mp4").unlink()
    assert (await storage.fetch("big.mp4")).read_bytes() == data


async def test_an_upload_broken_mid_way_leaves_no_object_and_no_open_upload(storage, tmp_path, bucket, s3):
    source = tmp_path / "big.mp4"
    source.write_bytes(payload(11 * MIB))
    client = await storage.client()
    hook = FailPart(number=2)
    client.meta.events.register("before-send.s3.UploadPart", hook)
    with pytest.raises(OSError, match="connection reset"):
        await storage.put("big.mp4", source)
    assert hook.failed >= 1
    assert await names(s3, bucket) == []  # nothing anyone could read as complete
    assert await open_uploads(s3, bucket) == []  # the parts already sent were aborted
    with pytest.raises(FileNotFoundError):
        await storage.fetch("other.mp4")
    with pytest.raises(FileNotFoundError):  # and this host's cache holds no copy claiming to be it
        storage.local_path("big.mp4").stat()


async def test_an_upload_whose_process_dies_before_the_abort_is_still_invisible(
    storage, tmp_path, bucket, s3
):
    source = tmp_path / "big.mp4"
    source.write_bytes(payload(11 * MIB))
    client = await storage.client()
    client.meta.events.register("before-send.s3.UploadPart", FailPart(number=2))

    def no_abort(**_):
        raise ConnectionResetError("gone before the abort")

    client.meta.events.register("before-send.s3.AbortMultipartUpload", no_abort)
    with pytest.raises(OSError):
        await storage.put("big.mp4", source)
    assert await open_uploads(s3, bucket) == ["bot/big.mp4"]  # left over, as after a crash ...
    assert await names(s3, bucket) == []  # ... yet no object exists
    with pytest.raises(FileNotFoundError):
        await storage.fetch("big.mp4")


async def test_a_stale_or_partial_cached_copy_is_replaced_by_the_stored_file(storage, tmp_path):
    data = payload(100_000)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    await storage.put("clip.mp4", source)
    storage.local_path("clip.mp4").write_bytes(data[:1000])  # e.g. another version, or a truncated copy
    assert (await storage.fetch("clip.mp4")).read_bytes() == data


async def test_fetch_refuses_an_object_over_the_size_limit(storage, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(payload(5000))
    await storage.put("clip.mp4", source)
    storage.local_path("clip.mp4").unlink()
    with pytest.raises(StorageError, match="over the 4000 allowed"):
        await storage.fetch("clip.mp4", max_bytes=4000)
    assert not storage.local_path("clip.mp4").exists()


async def test_delete_removes_the_object_and_the_cached_copy(storage, tmp_path, bucket, s3):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"x" * 10)
    await storage.put("inputs/a.png", source)
    assert storage.local_path("inputs/a.png").exists()
    assert await storage.delete("inputs/a.png") is True
    assert await names(s3, bucket) == [] and not storage.local_path("inputs/a.png").exists()
    assert await storage.delete("inputs/a.png") is False


async def test_list_older_names_keys_written_before_the_cutoff(storage, tmp_path, bucket, s3):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"x" * 10)
    await storage.put("a.mp4", source)
    await storage.put("inputs/b.png", source)
    await s3.put_object(Bucket=bucket, Key="elsewhere/c.mp4", Body=b"not ours")  # outside the prefix
    now = dt.datetime.now(dt.UTC)
    assert await storage.list_older(now - dt.timedelta(hours=1)) == []
    old = await storage.list_older(now + dt.timedelta(hours=1))
    assert sorted(o.key for o in old) == ["a.mp4", "inputs/b.png"] and {o.size for o in old} == {10}


async def test_url_for_is_a_presigned_get_that_serves_the_file(storage, tmp_path):
    data = payload(2000)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    await storage.put("clip.mp4", source)
    url = await storage.url_for("clip.mp4", 3600)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200 and await response.read() == data


async def test_local_storage_keeps_today_s_layout(tmp_path):
    store = LocalStorage(tmp_path / "out")
    made = store.local_path("20261201_120000_fox_7.mp4")
    made.parent.mkdir(parents=True)
    made.write_bytes(b"video")
    await store.put("20261201_120000_fox_7.mp4", made)  # already in place: nothing to do
    assert await store.fetch("20261201_120000_fox_7.mp4") == tmp_path / "out" / "20261201_120000_fox_7.mp4"
    other = tmp_path / "image.png"
    other.write_bytes(b"png")
    await store.put("inputs/x.png", other)
    assert (tmp_path / "out" / "inputs" / "x.png").read_bytes() == b"png"
    assert sorted(p.name for p in (tmp_path / "out" / "inputs").iterdir()) == ["x.png"]  # no temp left
    assert await store.url_for("inputs/x.png", 60) is None  # the bot serves local files itself
    with pytest.raises(ValueError, match="unsafe"):
        store.local_path("../escape.mp4")


def test_storage_url_settings(tmp_path, s3_endpoint):
    settings = load_settings(s3_settings(s3_endpoint, "my-videos", tmp_path), env_file=None)
    store = open_storage(settings)
    assert isinstance(store, S3Storage) and store.bucket == "my-videos" and store.prefix == "bot"
    assert "test-secret-key-never-logged" not in repr(settings)
    assert "test-secret-key-never-logged" in settings.secret_values()
    assert isinstance(open_storage(load_settings({"OUTPUT_DIR": str(tmp_path)}, env_file=None)), LocalStorage)
    for bad in ("https://bucket/x", "s3://", "s3://Bad_Bucket", "s3://ok-bucket/../up"):
        with pytest.raises(SettingsError, match="STORAGE_URL"):
            load_settings({"STORAGE_URL": bad}, env_file=None)


async def test_a_link_that_cannot_be_signed_is_a_storage_error(tmp_path, s3_endpoint, bucket, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = S3Storage(tmp_path / "cache", bucket=bucket, endpoint_url=s3_endpoint)  # no credentials at all
    try:
        with pytest.raises(StorageError, match=re.escape("signing a link to a.mp4")):
            await store.url_for("a.mp4", 60)
    finally:
        await store.aclose()
