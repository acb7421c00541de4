"""The link settings: PUBLIC_BASE_URL with HTTP_PORT turns links on; LINK_SECRET is required and secret."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest

from core.links.signing import link_signer
from core.platform.clock import Clock
from core.platform.settings import SettingsError, load_settings
from tests.core.links.conftest import NOW


def params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_links_need_public_base_url_and_http_port():
    env = {"PUBLIC_BASE_URL": "https://v.example.org/", "LINK_SECRET": "s" * 32}
    assert link_signer(load_settings(env, env_file=None), Clock()) is None, "no HTTP_PORT: no links"
    settings = load_settings({**env, "HTTP_PORT": "8080", "LINK_TTL_HOURS": "2"}, env_file=None)
    signer = link_signer(settings, Clock(now=lambda: dt.datetime.fromtimestamp(NOW, dt.UTC)))
    assert signer is not None and signer.base_url == "https://v.example.org" and signer.ttl_seconds == 7200
    assert params(signer.video_url(1))["exp"] == str(int(NOW + 7200))
    assert link_signer(load_settings({"HTTP_PORT": "8080"}, env_file=None), Clock()) is None


def test_link_secret_is_required_with_public_base_url_and_never_shown():
    with pytest.raises(SettingsError, match=r"LINK_SECRET is missing.*secrets.token_urlsafe"):
        load_settings({"PUBLIC_BASE_URL": "https://v.example.org"}, env_file=None)
    with pytest.raises(SettingsError, match="LINK_SECRET is too short"):
        load_settings({"PUBLIC_BASE_URL": "https://v.example.org", "LINK_SECRET": "short"}, env_file=None)
    settings = load_settings(
        {"PUBLIC_BASE_URL": "https://v.example.org", "LINK_SECRET": "a-very-secret-value-123"}, env_file=None
    )
    assert "a-very-secret-value-123" not in repr(settings)
    assert "a-very-secret-value-123" in settings.secret_values()
