"""Database set-up: Tortoise config, migrations applied at start, clean shutdown."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

log = logging.getLogger(__name__)

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
MIGRATION_LOCK_KEY = 7_310_451_926  # any constant shared by every process of this bot
PG_POOL_MAXSIZE = 10  # connections per process (PostgreSQL allows 100 by default: 9 processes fit)
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "asyncpg://")


def prepare_url(db_url: str) -> str:
    """Fill in defaults the URL leaves out.

    SQLite: a busy_timeout (so short lock waits don't fail), and the file's folder is created.
    PostgreSQL: a pool of PG_POOL_MAXSIZE connections instead of Tortoise's 5, which queues the queries
    of a few hundred running jobs (the benchmark's result delivery slowed from 0.02 s to 0.7 s).
    """
    if db_url.startswith(POSTGRES_SCHEMES):
        if "maxsize=" in db_url:
            return db_url
        return db_url + ("&" if "?" in db_url else "?") + f"maxsize={PG_POOL_MAXSIZE}"
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
    """Apply pending migrations (one process at a time), then open the connections for the app."""
    config = tortoise_config(db_url)
    async with _migration_lock(db_url):
        await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    log.info("database ready (%s)", describe_url(db_url))


@contextlib.asynccontextmanager
async def _migration_lock(db_url: str) -> AsyncIterator[None]:
    """On PostgreSQL, a session advisory lock so processes starting together migrate one after another.

    SQLite needs none: it serializes writers itself, and it is for one process anyway.
    """
    if not db_url.startswith(POSTGRES_SCHEMES):
        yield
        return
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("asyncpg://", "postgres://", 1).split("?", 1)[0])
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


async def database_time() -> dt.datetime:
    """The database server's clock, in UTC (what other hosts' lease expiries are compared with)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict("SELECT extract(epoch FROM clock_timestamp()) AS t")
    else:
        rows = await conn.execute_query_dict("SELECT (julianday('now') - 2440587.5) * 86400.0 AS t")
    return dt.datetime.fromtimestamp(float(rows[0]["t"]), dt.UTC)


async def clock_skew(now: Callable[[], dt.datetime]) -> float:
    """Seconds this host's clock is ahead of the database's (negative: behind)."""
    return (now() - await database_time()).total_seconds()


async def close_db() -> None:
    """Close every connection."""
    await Tortoise.close_connections()


def describe_url(db_url: str) -> str:
    """The URL without credentials, for logs."""
    scheme, _, rest = db_url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}://{rest.split('?', 1)[0]}"


# For the `tortoise` CLI: `tortoise -c core.platform.db.TORTOISE_ORM makemigrations` (see the Makefile).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
