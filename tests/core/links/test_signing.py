"""Signed, expiring links: what a valid link is, and every way one stops being valid."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from core.links.signing import GALLERY, VIDEO
from tests.core.links.conftest import NOW, make_signer


def params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_a_fresh_video_link_is_valid_until_it_expires():
    clock = make_signer().now
    signer = make_signer(clock)
    url = signer.video_url(42)
    assert url.startswith("https://videos.example.org/v/42?exp=")
    assert signer.valid(VIDEO, 42, params(url)) == int(NOW + 3600)
    clock.t = NOW + 3599
    assert signer.valid(VIDEO, 42, params(url)) is not None
    clock.t = NOW + 3600
    assert signer.valid(VIDEO, 42, params(url)) is None


def test_a_link_signed_with_another_secret_is_refused():
    forged = make_signer()
    forged = type(forged)(b"another-secret-0123456789", forged.base_url, forged.ttl_seconds, forged.now)
    assert make_signer().valid(VIDEO, 42, params(forged.video_url(42))) is None


def test_tampered_expiry_job_or_signature_is_refused():
    signer = make_signer()
    good = params(signer.video_url(42))
    later = {**good, "exp": str(int(good["exp"]) + 86400)}
    assert signer.valid(VIDEO, 42, later) is None
    assert signer.valid(VIDEO, 43, good) is None
    flipped = good["sig"][:-1] + ("A" if good["sig"][-1] != "A" else "B")
    assert signer.valid(VIDEO, 42, {**good, "sig": flipped}) is None


@pytest.mark.parametrize(
    "bad",
    [{}, {"exp": "x", "sig": "y"}, {"exp": "1" * 40, "sig": "y"}, {"exp": "-5", "sig": "y"}, {"exp": "٣"}],
)
def test_malformed_parameters_are_refused(bad):
    assert make_signer().valid(VIDEO, 42, bad) is None


def test_a_gallery_link_opens_only_that_users_gallery_and_never_a_video():
    signer = make_signer()
    url = signer.gallery_url(7, page=2)
    assert urlsplit(url).path == "/g/7" and params(url)["page"] == "2"
    assert signer.valid(GALLERY, 7, params(url)) is not None
    assert signer.valid(GALLERY, 8, params(url)) is None, "another user's gallery"
    assert signer.valid(VIDEO, 7, params(url)) is None, "a gallery link is no video link"
    assert signer.valid(GALLERY, 7, params(signer.video_url(7))) is None
