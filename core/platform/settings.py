"""One typed settings object, read from the environment and `.env` (the real environment wins)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

PROJECT_DIR = Path(__file__).resolve().parents[2]  # the project folder, beside core/
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_LINK_SECRET = 16  # characters of LINK_SECRET


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the key."""


def _secret() -> Any:
    return field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    """Every setting the bot reads. `.env.example` documents each key."""

    discord_token: str = _secret()
    database_url: str = _secret()  # may hold a password
    output_dir: Path = PROJECT_DIR / "data" / "videos"
    default_model: str = ""
    model_catalog: Path | None = None
    allow_dms: bool = True  # /video (and the buttons' new jobs) in direct messages
    blocklist_file: Path | None = None  # the global prompt blocklist (one entry per line)
    gemini_api_key: str = _secret()
    google_gemini_base_url: str | None = None
    google_cloud_project: str | None = None
    google_cloud_location: str = "us-central1"
    vertex_api_key: str = _secret()
    google_vertex_base_url: str | None = None
    fal_key: str = _secret()
    fal_queue_url: str = "https://queue.fal.run"
    comfyui_url: tuple[str, ...] = ()  # one or more ComfyUI servers
    comfyui_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # a proxy's auth: secret
    admin_user_ids: frozenset[int] = frozenset()
    quota_daily_videos: int = 5
    quota_daily_seconds: int = 60
    daily_spend_cap_usd: float = 10.0
    max_concurrent_jobs: int = 4
    user_max_running: int = 1
    user_max_queued: int = 3
    workers: int | None = None  # job slots in this process; None = max_concurrent_jobs, 0 = none
    lease_seconds: float = 60.0
    max_attempts: int = 3
    demo_latency: float = 8.0
    output_retention_days: float = 30.0
    max_video_bytes: int = 200 * 1024 * 1024
    log_level: str = "INFO"
    log_format: str = "text"  # text, or json: one JSON object per line
    edit_interval: float = 3.0
    notify_after: float = 60.0
    dev_guild_id: int | None = None
    shard_count: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    http_host: str = "127.0.0.1"  # /healthz, /readyz, /metrics: only when HTTP_PORT is set
    http_port: int | None = None
    public_base_url: str | None = None  # where HTTP_PORT is reached from outside: full-quality links
    link_secret: str = _secret()  # signs those links (required with PUBLIC_BASE_URL)
    link_ttl_hours: float = 72.0
    storage_url: str = ""  # empty: videos stay in OUTPUT_DIR; s3://bucket/prefix: object storage
    aws_endpoint_url: str | None = None  # MinIO, R2, Garage: their S3 endpoint; AWS: leave unset
    aws_access_key_id: str | None = None
    aws_secret_access_key: str = _secret()
    aws_region: str | None = None

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite://{PROJECT_DIR / 'data' / 'videobot.sqlite3'}")
        if not self.default_model:
            object.__setattr__(self, "default_model", "omni-1.2-flash" if self.gemini_api_key else "demo")

    @property
    def vertex_configured(self) -> bool:
        """Vertex needs a project (application default credentials) or an express-mode key."""
        return bool(self.google_cloud_project or self.vertex_api_key)

    @property
    def links_enabled(self) -> bool:
        """Full-quality links and the gallery are offered: PUBLIC_BASE_URL and HTTP_PORT are both set."""
        return bool(self.public_base_url) and self.http_port is not None

    def secret_values(self) -> list[str]:
        """The values that must never reach a log: tokens, API keys and the database password."""
        values = [
            getattr(self, f.name)
            for f in fields(self)
            if not f.repr and f.name not in ("database_url", "comfyui_headers")
        ]
        values += [value for _, value in self.comfyui_headers]
        try:
            password = urlsplit(self.database_url).password
        except ValueError:
            password = None
        return [v for v in [*values, password] if v]

    def configured_providers(self) -> dict[str, bool]:
        """Which providers have what they need to be called."""
        return {
            "demo": True,
            "gemini": bool(self.gemini_api_key),
            "vertex": self.vertex_configured,
            "fal": bool(self.fal_key),
            "comfyui": bool(self.comfyui_url),
        }


def _text(value: str) -> str:
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _path(value: str) -> Path:
    return Path(value.strip()).expanduser()


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value.strip())
        if number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return parse


def _port(value: str) -> int:
    number = int(value.strip())
    if not 0 <= number <= 65535:
        raise ValueError("must be a TCP port, 0-65535 (0: any free port)")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value.strip())
    if number < 0 or number != number:
        raise ValueError("must be a number >= 0")
    return number


def _positive_float(value: str) -> float:
    number = _non_negative_float(value)
    if number == 0:
        raise ValueError("must be a number > 0")
    return number


def _id_list(value: str) -> frozenset[int]:
    ids = set()
    for part in value.replace(" ", "").split(","):
        if part:
            if not part.isdigit():
                raise ValueError(f"{part!r} is not a Discord user id")
            ids.add(int(part))
    return frozenset(ids)


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _log_format(value: str) -> str:
    text = value.strip().lower()
    if text not in ("text", "json"):
        raise ValueError("must be text or json")
    return text


def _ws_url(value: str) -> str | None:
    value = value.strip()
    if value and not value.startswith(("ws://", "wss://")):
        raise ValueError("must start with ws:// or wss://")
    return value or None


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _url(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value or None


def _url_list(value: str) -> tuple[str, ...]:
    urls = tuple(url for part in value.split(",") if (url := _url(part)))
    if len(set(urls)) != len(urls):
        raise ValueError("names a server twice")
    return urls


def _headers(value: str) -> tuple[tuple[str, str], ...]:
    """`Name: value` lines (a .env value writes the line breaks as \\n). Errors never echo a value."""
    headers = []
    for number, line in enumerate(value.replace("\\n", "\n").splitlines(), 1):
        if not line.strip():
            continue
        name, colon, text = line.partition(":")
        name = name.strip()
        if not colon or not name or not all(c.isalnum() or c in "-_" for c in name) or not text.strip():
            raise ValueError(f"line {number} is not `Name: value` (a header name, a colon, a value)")
        headers.append((name, text.strip()))
    return tuple(headers)


def _storage_url(value: str) -> str:
    from core.storage.url import parse_storage_url  # the one place that knows the form

    parse_storage_url(value)
    return value.strip()


_PARSERS: dict[str, Callable[[str], Any]] = {
    "discord_token": _text,
    "database_url": _text,
    "output_dir": _path,
    "default_model": _text,
    "model_catalog": _path,
    "blocklist_file": _path,
    "allow_dms": _bool,
    "gemini_api_key": _text,
    "google_gemini_base_url": _url,
    "google_cloud_project": _optional_text,
    "google_cloud_location": _text,
    "vertex_api_key": _text,
    "google_vertex_base_url": _url,
    "fal_key": _text,
    "fal_queue_url": _url,
    "comfyui_url": _url_list,
    "comfyui_headers": _headers,
    "admin_user_ids": _id_list,
    "quota_daily_videos": _int_at_least(0),
    "quota_daily_seconds": _int_at_least(0),
    "daily_spend_cap_usd": _non_negative_float,
    "max_concurrent_jobs": _int_at_least(1),
    "user_max_running": _int_at_least(1),
    "user_max_queued": _int_at_least(1),
    "workers": _int_at_least(0),
    "lease_seconds": _positive_float,
    "max_attempts": _int_at_least(1),
    "demo_latency": _non_negative_float,
    "output_retention_days": _non_negative_float,
    "max_video_bytes": _int_at_least(1024),
    "log_level": _log_level,
    "log_format": _log_format,
    "edit_interval": _non_negative_float,
    "notify_after": _non_negative_float,
    "dev_guild_id": _int_at_least(1),
    "shard_count": _int_at_least(1),
    "discord_api_base": _url,
    "discord_gateway_url": _ws_url,
    "http_host": _text,
    "http_port": _port,
    "public_base_url": _url,
    "link_secret": _text,
    "link_ttl_hours": _positive_float,
    "storage_url": _storage_url,
    "aws_endpoint_url": _url,
    "aws_access_key_id": _optional_text,
    "aws_secret_access_key": _text,
    "aws_region": _optional_text,
}


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = PROJECT_DIR / ".env"
) -> Settings:
    """Build Settings from `environ` (default: os.environ) over the `.env` file; fail naming the key."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        key = f.name.upper()
        raw = values.get(key)
        if raw is None or not raw.strip():
            continue  # unset and empty both mean "the default"
        try:
            kwargs[f.name] = _PARSERS[f.name](raw)
        except ValueError as exc:
            raise SettingsError(f"setting {key} is malformed: {exc}") from None
    settings = Settings(**kwargs)
    if settings.model_catalog is not None and not settings.model_catalog.is_file():
        raise SettingsError(f"setting MODEL_CATALOG points at {settings.model_catalog}, which does not exist")
    if settings.blocklist_file is not None and not settings.blocklist_file.is_file():
        raise SettingsError(
            f"setting BLOCKLIST_FILE points at {settings.blocklist_file}, which does not exist"
        )
    if settings.public_base_url and len(settings.link_secret) < MIN_LINK_SECRET:
        raise SettingsError(
            f"setting LINK_SECRET is {'too short' if settings.link_secret else 'missing'}: PUBLIC_BASE_URL"
            f" is set, so links are signed with it; it needs at least {MIN_LINK_SECRET} characters. Make one"
            " with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return settings
