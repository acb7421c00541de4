"""Shared fixtures: an isolated database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tortoise.contrib.test import tortoise_test_context

from core.platform.db import MODEL_MODULES

# Every fake listens on loopback: keep any configured proxy away from it.
for _key in ("NO_PROXY", "no_proxy"):
    os.environ[_key] = ",".join(filter(None, [os.environ.get(_key, ""), "127.0.0.1,localhost"]))

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def is_postgres() -> bool:
    """True when this run uses PostgreSQL."""
    return TEST_DATABASE_URL.startswith(("postgres://", "postgresql://", "asyncpg://"))


def fresh_database_url(tmp_path) -> str:
    """A URL for a brand-new, empty database that no other test sees."""
    if is_postgres():
        base, _, _ = TEST_DATABASE_URL.rpartition("/")
        return f"{base}/vb_{uuid.uuid4().hex[:16]}"
    return f"sqlite://{tmp_path / 'test.sqlite3'}?busy_timeout=5000"


async def _admin(url: str):
    import asyncpg

    base, _, name = url.rpartition("/")
    return await asyncpg.connect(base.replace("asyncpg://", "postgres://") + "/postgres"), name


async def create_database(url: str) -> None:
    """Create the empty PostgreSQL database named by a fresh_database_url (SQLite files create themselves)."""
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return
    admin, name = await _admin(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    """Remove a PostgreSQL database made by fresh_database_url."""
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return
    admin, name = await _admin(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def db(tmp_path) -> AsyncIterator[str]:
    """An initialised, empty schema (generate_schemas: tests only). Yields the URL."""
    url = fresh_database_url(tmp_path)
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url):
            yield url
    finally:
        await drop_database(url)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- helpers for tests that run `python bot.py` processes against one shared database ----------------

PROJECT_ROOT = Path(__file__).resolve().parents[1]


async def query_database(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of one SQL statement, read outside Tortoise (bot processes may be using the database)."""
    if url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        import asyncpg

        conn = await asyncpg.connect(url.replace("asyncpg://", "postgres://", 1))
        try:
            return [dict(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    path = url.removeprefix("sqlite://").split("?", 1)[0]

    def run() -> list[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql)]

    return await asyncio.to_thread(run)


def catalog_with(path: Path, model: str, **fields: Any) -> Path:
    """Write a catalog holding only `model`, copied from core/catalog.toml with `fields` replaced
    (a None value drops the field); returns its path, for MODEL_CATALOG."""
    text = (PROJECT_ROOT / "core" / "catalog.toml").read_text()
    header = f'[models."{model}"]' if "." in model else f"[models.{model}]"
    body = text.split(header, 1)[1].split("\n[", 1)[0]
    lines = [line for line in body.strip().splitlines() if line.split("=", 1)[0].strip() not in fields]
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items() if value is not None]
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def bot_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any bot setting or provider key, plus `settings`."""
    from core.platform.settings import Settings

    keys = {f.name.upper() for f in dataclasses.fields(Settings)}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in keys and not k.startswith(("GEMINI", "FAL", "VERTEX", "GOOGLE"))
    }
    env.update(settings)
    return env


class BotProcess:
    """One `python bot.py [args]` run whose output goes to a log file (a pipe nobody reads could fill)."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.env = env
        self.log_path = log_path
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> BotProcess:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "bot.py", *self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=log
            )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, leases and in-flight requests are simply abandoned."""
        if self.running:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self, timeout: float = 30.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM and wait (SIGKILL if it hangs); the exit code."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                await self.kill()
        return self.proc.returncode if self.proc is not None else None


async def eventually(
    check: Callable[[], Awaitable[Any]],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the polling, not for one call
    what: str = "the condition",
    every: float = 0.02,
) -> Any:
    """Await `check()` every `every` seconds until it returns something truthy, and return that: for state
    another task or process writes (a database row, a fake's record) that no event announces."""
    deadline = time.monotonic() + timeout
    while True:
        if result := await check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(every)
