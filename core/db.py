"""Database set-up: Tortoise config, migrations applied at start, clean shutdown."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

log = logging.getLogger(__name__)

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000


def prepare_url(db_url: str) -> str:
    """Add SQLite's busy_timeout (so short lock waits don't fail) and create the file's folder."""
    if not db_url.startswith("sqlite://"):
        return db_url
    path = db_url.removeprefix("sqlite://").split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if "busy_timeout" not in db_url:
        db_url += ("&" if "?" in db_url else "?") + f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"
    return db_url


def tortoise_config(db_url: str) -> dict[str, Any]:
    """The Tortoise config dict for `db_url` (also used by the `tortoise` CLI via TORTOISE_ORM)."""
    return {
        "connections": {"default": prepare_url(db_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(db_url: str) -> None:
    """Apply pending migrations, then open the connections for the app."""
    config = tortoise_config(db_url)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    log.info("database ready (%s)", describe_url(db_url))


async def close_db() -> None:
    """Close every connection."""
    await Tortoise.close_connections()


def describe_url(db_url: str) -> str:
    """The URL without credentials, for logs."""
    scheme, _, rest = db_url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}://{rest.split('?', 1)[0]}"


# For the `tortoise` CLI: `tortoise -c core.db.TORTOISE_ORM makemigrations` (see the Makefile).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
