"""Settings: typed, from environment over .env, failing at start with the key's name, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.platform.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_without_any_key_use_sqlite_and_the_demo_model():
    s = load_settings({}, env_file=None)
    assert s.database_url.startswith("sqlite://") and s.database_url.endswith("data/videobot.sqlite3")
    assert s.default_model == "demo"
    assert s.configured_providers() == {
        "demo": True,
        "gemini": False,
        "vertex": False,
        "fal": False,
        "comfyui": False,
    }


def test_gemini_key_makes_omni_the_default_model():
    assert load_settings({"GEMINI_API_KEY": "k"}, env_file=None).default_model == "omni-1.2-flash"


def test_explicit_default_model_wins():
    s = load_settings({"GEMINI_API_KEY": "k", "DEFAULT_MODEL": "demo"}, env_file=None)
    assert s.default_model == "demo"


def test_typed_values_are_parsed():
    s = load_settings(
        {
            "ADMIN_USER_IDS": "1, 22,333",
            "QUOTA_DAILY_VIDEOS": "0",
            "DAILY_SPEND_CAP_USD": "2.5",
            "LOG_LEVEL": "debug",
            "FAL_QUEUE_URL": "http://127.0.0.1:9/",
        },
        env_file=None,
    )
    assert s.admin_user_ids == {1, 22, 333}
    assert s.quota_daily_videos == 0 and s.daily_spend_cap_usd == 2.5
    assert s.log_level == "DEBUG" and s.fal_queue_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("QUOTA_DAILY_VIDEOS", "five"),
        ("QUOTA_DAILY_SECONDS", "-1"),
        ("MAX_CONCURRENT_JOBS", "0"),
        ("DAILY_SPEND_CAP_USD", "lots"),
        ("ADMIN_USER_IDS", "12,bob"),
        ("LOG_LEVEL", "LOUD"),
        ("GOOGLE_GEMINI_BASE_URL", "127.0.0.1:8080"),
        ("MODEL_CATALOG", "/nonexistent/catalog.toml"),
        ("LEASE_SECONDS", "0"),
        ("WORKERS", "-1"),
    ],
)
def test_malformed_values_fail_naming_the_key(key, value):
    with pytest.raises(SettingsError, match=key):
        load_settings({key: value}, env_file=None)


def test_environment_wins_over_the_env_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("QUOTA_DAILY_VIDEOS=7\nQUOTA_DAILY_SECONDS=99\n")
    s = load_settings({"QUOTA_DAILY_VIDEOS": "3"}, env_file=env)
    assert (s.quota_daily_videos, s.quota_daily_seconds) == (3, 99)


def test_secrets_never_appear_in_repr():
    s = load_settings(
        {
            "DISCORD_TOKEN": "tok-SECRET",
            "GEMINI_API_KEY": "gem-SECRET",
            "VERTEX_API_KEY": "vx-SECRET",
            "FAL_KEY": "fal-SECRET",
        },
        env_file=None,
    )
    assert "SECRET" not in repr(s)


def test_database_password_never_appears_in_repr():
    s = load_settings(
        {"DATABASE_URL": "postgres://bot:hunter2-SECRET@db.internal:5432/videos"}, env_file=None
    )
    assert s.database_url.endswith("@db.internal:5432/videos")
    assert "hunter2-SECRET" not in repr(s)


def test_secret_values_are_the_tokens_keys_and_the_database_password():
    s = load_settings(
        {
            "DISCORD_TOKEN": "tok-SECRET",
            "GEMINI_API_KEY": "gem-SECRET",
            "FAL_KEY": "fal-SECRET",
            "DATABASE_URL": "postgres://bot:pw-SECRET@db.internal/videos",
        },
        env_file=None,
    )
    assert sorted(s.secret_values()) == ["fal-SECRET", "gem-SECRET", "pw-SECRET", "tok-SECRET"]


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    expected = {name.upper() for name in Settings.__dataclass_fields__}
    assert expected <= documented, expected - documented
