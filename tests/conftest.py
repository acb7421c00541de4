"""Shared fixtures: an isolated database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import os
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext
from tortoise.contrib.test import tortoise_test_context

from core.platform.db import MODEL_MODULES

if TYPE_CHECKING:
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.gemini_api import FakeGeminiApi

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
async def db(tmp_path, shared_postgres) -> AsyncIterator[str]:
    """An initialised, empty schema (generate_schemas: tests only). Yields the URL.

    SQLite: a new file per test. PostgreSQL: creating and dropping a database per test costs ~70 ms, so
    the in-process tests share one database (made once per run) and each starts with every table
    emptied and every id sequence reset. Tests that run bot processes make their own databases.
    """
    if shared_postgres is None:
        url = fresh_database_url(tmp_path)
        async with tortoise_test_context(MODEL_MODULES, db_url=url):
            yield url
        return
    url = shared_postgres
    async with TortoiseContext() as ctx:
        config = {
            "connections": {"default": url},
            "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        }
        await ctx.init(config=config, use_tz=True, timezone="UTC")
        tables = ", ".join(f'"{model._meta.db_table}"' for model in ctx.apps.get_models_iterable())
        await ctx.db().execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        yield url


@pytest.fixture(scope="session")
def shared_postgres() -> Iterator[str | None]:
    """The PostgreSQL database the in-process tests share, with the schema; dropped at the end of the run.
    None on SQLite."""
    if not is_postgres():
        yield None
        return
    url = fresh_database_url(None)

    async def create() -> None:
        async with tortoise_test_context(MODEL_MODULES, db_url=url):
            pass  # creates the database and its schema; leaving the context only closes connections

    asyncio.run(create())
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`item.rep_setup`, `rep_call`), so a fixture's teardown can
    tell whether the test failed (the cluster fixture prints the processes' logs then)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def node_failed(node: Any) -> bool:
    """Whether the setup or the call of this test (a pytest item) failed so far."""
    return any(getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))


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


async def execute_database(url: str, *statements: str) -> None:
    """Run SQL statements that change the database, outside Tortoise, and commit them."""
    if url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        import asyncpg

        conn = await asyncpg.connect(url.replace("asyncpg://", "postgres://", 1))
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()
        return
    path = url.removeprefix("sqlite://").split("?", 1)[0]

    def run() -> None:
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            for sql in statements:
                conn.execute(sql)

    await asyncio.to_thread(run)


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


# ---- a cluster: `python bot.py` processes on one fresh database, against the fake Discord and Gemini ----

CLUSTER_MODEL = "omni-1.2-flash"


class Cluster:
    """The fake Discord, the fake Gemini API, a fresh database (`url`), and the `python bot.py` processes
    started on them: gateway bots (`start()`) and REST-only workers (`start("worker")`).

    Every process logs to its own file under `tmp_path`; the `cluster` fixture prints them all when the
    test failed. `kills` records each SIGKILL: (process, time.monotonic(), UTC wall time).
    """

    def __init__(self, tmp_path: Path, discord: FakeDiscord, gemini: FakeGeminiApi, url: str) -> None:
        self.tmp_path = tmp_path
        self.discord = discord
        self.gemini = gemini
        self.url = url
        self.processes: list[BotProcess] = []
        self.kills: list[tuple[BotProcess, float, dt.datetime]] = []
        self._identified: dict[int, int] = {}  # id(bot process) -> fake's IDENTIFY count before it started
        self._catalogs = itertools.count(1)

    def env(
        self, *, model: str = CLUSTER_MODEL, catalog: dict[str, Any] | None = None, **settings: Any
    ) -> dict[str, str]:
        """A process environment: the fakes, the database, a catalog holding only `model` with the fields
        in `catalog` replaced (None drops one), and `settings` (lower-case names; values go through str)."""
        catalog_path = catalog_with(
            self.tmp_path / f"catalog{next(self._catalogs)}.toml", model, **(catalog or {})
        )
        from tests.fakes.gemini_api import DEFAULT_API_KEY

        return bot_environment(
            **self.discord.env,
            DATABASE_URL=self.url,
            OUTPUT_DIR=str(self.tmp_path / "videos"),
            GEMINI_API_KEY=DEFAULT_API_KEY,
            GOOGLE_GEMINI_BASE_URL=self.gemini.base_url,
            MODEL_CATALOG=str(catalog_path),
            DEFAULT_MODEL=model,
            LOG_LEVEL="INFO",
            **{key.upper(): str(value) for key, value in settings.items()},
        )

    async def start(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        ready: bool = True,
        timeout: float = 60.0,  # noqa: ASYNC109 - how long it may take to come up
    ) -> BotProcess:
        """Start `python bot.py *args` (a new log file each time); with `ready`, wait until it runs."""
        name = f"{len(self.processes) + 1}-{'-'.join(args) or 'bot'}.log"
        process = BotProcess(env if env is not None else self.env(), self.tmp_path / name, *args)
        if not args:
            self._identified[id(process)] = self.discord.identify_count
        await process.start()
        self.processes.append(process)
        if ready:
            await self.started(process, timeout=timeout)
        return process

    async def ready(self, process: BotProcess) -> bool:
        """Whether it runs yet: a worker once it logged its slots, a bot once it identified on the gateway
        (a new session, not the one of a bot killed before it) with its commands synced. It must not die."""
        assert process.running, f"{process.log_path.name} exited:\n{process.output()[-5000:]}"
        if process.args == ("worker",):
            return "slots (REST only)" in process.output()
        identified = self.discord.identify_count > self._identified.get(id(process), 0)
        return identified and self.discord.connected and bool(self.discord.commands)

    async def started(self, *processes: BotProcess, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait until each of these processes runs (see `ready`)."""
        for process in processes:
            await eventually(lambda p=process: self.ready(p), timeout, f"{process.log_path.name} to start")

    @property
    def running(self) -> list[BotProcess]:
        """The processes still running."""
        return [p for p in self.processes if p.running]

    async def kill(self, *processes: BotProcess) -> None:
        """SIGKILL these processes (every running one when none are named), recording when."""
        for process in processes or tuple(self.running):
            if process.running:
                await process.kill()
                self.kills.append((process, time.monotonic(), dt.datetime.now(dt.UTC)))

    async def stop_all(self) -> None:
        """SIGTERM every process the test did not kill: each must still be running and stop cleanly (exit
        code 0), having logged no traceback."""
        killed = {id(p) for p, _, _ in self.kills}
        survivors = [p for p in self.processes if id(p) not in killed]
        codes = {p.log_path.name: await p.stop() for p in survivors}
        assert set(codes.values()) <= {0}, codes
        assert not [p.log_path.name for p in survivors if "Traceback" in p.output()]

    def logs(self, tail: int = 20000) -> str:
        """The end of every process's log, one after the other."""
        return "\n".join(f"---- {p.log_path.name} ----\n{p.output()[-tail:]}" for p in self.processes)


@contextlib.asynccontextmanager
async def open_cluster(
    tmp_path: Path, *, gemini: FakeGeminiApi | None = None, print_logs: bool | Callable[[], bool] = True
) -> AsyncIterator[Cluster]:
    """A Cluster on a new database (dropped at the end) and started fakes (`gemini`: a FakeGeminiApi or a
    subclass, not yet started). At the end every process still running is stopped; their logs are printed
    if `print_logs` (or what it returns then) is true."""
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.gemini_api import FakeGeminiApi

    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        async with FakeDiscord() as discord, gemini or FakeGeminiApi() as gemini_api:
            cluster = Cluster(tmp_path, discord, gemini_api, url)
            try:
                yield cluster
            finally:
                for process in cluster.running:
                    await process.stop()
                if print_logs() if callable(print_logs) else print_logs:
                    print(cluster.logs())
    finally:
        await drop_database(url)


@pytest_asyncio.fixture
async def cluster(tmp_path, request) -> AsyncIterator[Cluster]:
    """An empty Cluster (start its processes in the test); the logs are printed if the test failed."""
    async with open_cluster(tmp_path, print_logs=lambda: node_failed(request.node)) as c:
        yield c
