"""Shared fixtures: an isolated database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tortoise.contrib.test import tortoise_test_context

from core.db import MODEL_MODULES

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
