"""Database URLs get the defaults they leave out."""

from __future__ import annotations

from core.platform.db import PG_POOL_MAXSIZE, prepare_url


def test_postgres_gets_a_pool_big_enough_for_many_running_jobs():
    assert prepare_url("postgres://u@h:5432/db") == f"postgres://u@h:5432/db?maxsize={PG_POOL_MAXSIZE}"
    assert (
        prepare_url("postgres://u@h/db?ssl=true") == f"postgres://u@h/db?ssl=true&maxsize={PG_POOL_MAXSIZE}"
    )


def test_a_pool_size_in_the_url_is_kept():
    assert prepare_url("postgres://u@h/db?maxsize=3") == "postgres://u@h/db?maxsize=3"


def test_sqlite_gets_a_busy_timeout_and_its_folder(tmp_path):
    url = prepare_url(f"sqlite://{tmp_path}/sub/bot.sqlite3")
    assert url == f"sqlite://{tmp_path}/sub/bot.sqlite3?busy_timeout=5000"
    assert (tmp_path / "sub").is_dir()
