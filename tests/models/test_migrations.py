"""The committed migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from core.platform.db import close_db, init_db, tortoise_config
from models import Generation, GenerationStatus, User
from tests.conftest import create_database, drop_database, fresh_database_url


async def test_migrations_apply_on_a_fresh_database_and_twice_is_harmless(tmp_path):
    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        await init_db(url)
        await init_db(url)
        await User.create(id=2**62)  # Discord snowflakes need 64 bits
        gen = await Generation.create(
            user_id=2**62,
            prompt="p",
            model="demo",
            provider="demo",
            provider_model_id="d",
            video_seconds=4,
            quota_day="2026-12-01",
        )
        assert (await Generation.get(id=gen.id)).status is GenerationStatus.PENDING
    finally:
        await close_db()
        await drop_database(url)


async def test_models_have_no_changes_missing_from_the_migrations():
    config = tortoise_config("sqlite://:memory:")
    apps = {label: dict(app) for label, app in config["apps"].items()}
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps).changes()
    await Tortoise.close_connections()
    assert writers == [], "models changed: run `make migrations` and commit the new migration"
