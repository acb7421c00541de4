"""The helpers every provider shares: Retry-After, size/mp4 checks, the capped writer, bounded calls."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from core.errors import ErrorCategory, GenerationError
from core.providers._common import (
    CappedSink,
    bounded,
    check_mp4,
    json_or_none,
    parse_retry_after,
    retry_after,
    snippet,
    too_large,
    transport_error,
    write_video,
)
from tests.fakes.sample_video import sample_mp4

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date


def at_rfc_example() -> float:
    return NOW


# -- Retry-After ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Sun, 06 Nov 1994 08:50:07 GMT", 30.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:50:07 GMT", 30.0),  # obsolete RFC 850 form
        ("Sun Nov  6 08:50:07 1994", 30.0),  # obsolete asctime form, no zone: GMT
        ("Sun, 06 Nov 1994 08:49:07 GMT", 0.0),  # in the past
    ],
)
def test_retry_after_accepts_delta_seconds_and_every_http_date_form(value, seconds):
    assert parse_retry_after(value, now=at_rfc_example) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1e3", "nan", "inf"])
def test_retry_after_that_is_not_a_delay_or_a_date_gives_no_hint(value):
    assert parse_retry_after(value, now=at_rfc_example) is None


def test_retry_after_header_is_found_whatever_its_case():
    headers = CIMultiDictProxy(CIMultiDict({"retry-after": "Sun, 06 Nov 1994 08:50:07 GMT"}))

    assert retry_after(headers, now=at_rfc_example) == pytest.approx(30.0)
    assert retry_after(None) is None
    assert retry_after(CIMultiDictProxy(CIMultiDict())) is None


# -- errors and text ------------------------------------------------------------------------------------


def test_too_large_and_not_mp4_are_final_generation_failures():
    big = too_large(100)
    with pytest.raises(GenerationError) as caught:
        check_mp4(b"<html>oops</html>", "the video of job 7")

    assert (big.category, big.retryable, big.detail) == (
        ErrorCategory.GENERATION_FAILED,
        False,
        "video larger than 100 bytes",
    )
    assert (caught.value.category, caught.value.retryable) == (ErrorCategory.GENERATION_FAILED, False)
    assert caught.value.detail == "the video of job 7 is not an mp4 (no ftyp box)"
    check_mp4(sample_mp4(), "a real mp4")  # no error


def test_transport_error_is_retryable_unless_a_job_may_exist():
    error = transport_error("poll of job 7", TimeoutError())
    ambiguous = transport_error("create", ConnectionResetError("reset"), retryable=False)

    assert (error.category, error.retryable, error.detail) == (
        ErrorCategory.PROVIDER_UNAVAILABLE,
        True,
        "poll of job 7 failed: TimeoutError",
    )
    assert (ambiguous.retryable, ambiguous.detail) == (False, "create failed: ConnectionResetError: reset")


def test_json_or_none_and_snippet():
    assert json_or_none('{"a": 1}') == {"a": 1}
    assert json_or_none("{not json") is None
    assert snippet("a\n  b") == "a b"
    assert snippet("x" * 10, limit=5) == "xxxx…"


async def test_bounded_gives_up_with_a_retryable_error_instead_of_hanging():
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(GenerationError) as caught:
        await bounded(asyncio.sleep(30), 0.05, "fal cancel of r1")

    assert loop.time() - started < 2
    assert (caught.value.category, caught.value.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert caught.value.detail == "fal cancel of r1 gave no answer within 0.05 s"
    assert await bounded(asyncio.sleep(0, result="done"), 1, "x") == "done"


# -- the capped writer ----------------------------------------------------------------------------------


async def test_capped_sink_writes_every_chunk_off_the_event_loop(tmp_path, spy_on_writes):
    dest = tmp_path / "out.mp4"
    spies = spy_on_writes(dest)
    data = sample_mp4()

    async with CappedSink(dest, max_bytes=len(data)) as sink:
        for start in range(0, len(data), 100):
            await sink.write(data[start : start + 100])

    assert dest.read_bytes() == data
    assert (sink.size, sink.head) == (len(data), data[:8])
    [spy] = spies
    assert len(spy.threads) > 2
    assert not spy.on_the_loop


async def test_capped_sink_stops_past_the_cap_and_leaves_no_file(tmp_path):
    dest = tmp_path / "out.mp4"

    with pytest.raises(GenerationError) as caught:
        async with CappedSink(dest, max_bytes=10) as sink:
            await sink.write(b"12345678")
            await sink.write(b"901")

    assert caught.value.detail == "video larger than 10 bytes"
    assert not dest.exists()


async def test_capped_sink_removes_the_partial_file_on_any_error(tmp_path):
    dest = tmp_path / "out.mp4"

    with pytest.raises(ConnectionResetError):
        async with CappedSink(dest, max_bytes=1000) as sink:
            await sink.write(b"partial")
            raise ConnectionResetError

    assert not dest.exists()


async def test_write_video_checks_size_and_signature_before_writing(tmp_path):
    dest = tmp_path / "out.mp4"

    assert await write_video(sample_mp4(), dest, len(sample_mp4()), "v") == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()
    for data, limit in ((sample_mp4(), 10), (b"not a video at all", 1000)):
        dest.unlink(missing_ok=True)
        with pytest.raises(GenerationError):
            await write_video(data, dest, limit, "v")
        assert not dest.exists()
