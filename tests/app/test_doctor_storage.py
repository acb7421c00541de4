"""`doctor` and STORAGE_URL: it writes, reads back and deletes a small object in the bucket (moto's S3
on 127.0.0.1), and fails naming the store when the bucket does not exist."""

from __future__ import annotations

import datetime as dt

from tests.app.test_doctor import doctor
from tests.core.storage.conftest import bucket, names, s3, s3_endpoint, s3_settings  # noqa: F401 - fixtures

TODAY = dt.date(2026, 12, 7)


async def test_doctor_checks_the_bucket_end_to_end_and_leaves_nothing(tmp_path, s3, s3_endpoint, bucket):  # noqa: F811
    code, text = await doctor(tmp_path, TODAY, **s3_settings(s3_endpoint, bucket, tmp_path / "videos"))
    assert f"ok   storage: s3://{bucket}/bot" in text and "write, read back and delete work" in text
    assert code == 0, text
    assert await names(s3, bucket) == []


async def test_doctor_fails_naming_the_store_when_the_bucket_is_missing(tmp_path, s3_endpoint):  # noqa: F811
    code, text = await doctor(
        tmp_path, TODAY, **s3_settings(s3_endpoint, "no-such-bucket", tmp_path / "videos")
    )
    assert code == 1
    assert "FAIL storage: s3://no-such-bucket/bot" in text and "NoSuchBucket" in text, text
