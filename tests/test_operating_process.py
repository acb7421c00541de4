"""Operating it, as an owner would, through real `python bot.py` processes against the fakes (issue 13's
"Done when"): /readyz says 200 only once the gateway is ready and 503 while the database is down; /metrics
is Prometheus text counting the run's jobs; a video over the upload limit arrives re-encoded with a `Full
quality` link that plays in headless Chromium, and a forged link gets 403; two workers with their own
folders and one S3 store deliver every job."""

from __future__ import annotations

import contextlib
import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import (
    BotProcess,
    bot_environment,
    create_database,
    drop_database,
    eventually,
    execute_database,
    fresh_database_url,
    is_postgres,
    open_cluster,
    query_database,
)
from tests.core.links.test_browser import CHROMIUM, chromium_page
from tests.core.storage.conftest import bucket, s3, s3_endpoint  # noqa: F401 - fixtures
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import iter_components

SECRET = "operator-link-secret-0123456789"
ASYNCPG_POOL_WARNING = "Failed to restore the pool connection floor; retrying"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def get(url: str) -> tuple[int, str]:
    """Status and text of a GET; (0, reason) while nothing listens yet."""
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as reply:
            return reply.status, await reply.text()
    except aiohttp.ClientConnectionError as exc:
        return 0, type(exc).__name__


def full_quality_url(message) -> str:
    [url] = [c["url"] for c in iter_components(message.components) if c.get("label") == "Full quality"]
    return url


@contextlib.asynccontextmanager
async def database(tmp_path):
    url = fresh_database_url(tmp_path)
    await create_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


async def take_postgres_down(url: str) -> str:
    """Stop the database answering this bot: no new connections, the open ones ended. The database name."""
    base, _, name = url.rpartition("/")
    admin = f"{base}/postgres"
    await execute_database(
        admin,
        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )
    return name


async def test_an_owner_watches_health_and_metrics_and_follows_a_full_quality_link(tmp_path):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    async with database(tmp_path) as url, FakeDiscord() as fake:
        fake.ready_gate.clear()  # a gateway that takes its time
        env = bot_environment(
            **fake.env,
            DATABASE_URL=url,
            OUTPUT_DIR=str(tmp_path / "videos"),
            DEMO_LATENCY="1",
            EDIT_INTERVAL="0.5",
            HTTP_PORT=str(port),
            PUBLIC_BASE_URL=origin,
            LINK_SECRET=SECRET,
        )
        bot = await BotProcess(env, tmp_path / "bot.log").start()
        try:

            async def answering() -> tuple[int, str] | None:
                assert bot.running, bot.output()[-3000:]
                status, body = await get(f"{origin}/readyz")
                return (status, body) if status else None

            status, body = await eventually(answering, 60, "the HTTP server to answer")
            assert status == 503 and "discord" in body, body  # up, but the gateway isn't ready
            fake.ready_gate.set()
            await eventually(lambda: _status_is(f"{origin}/readyz", 200), 60, "/readyz to say ready")
            assert (await get(f"{origin}/healthz"))[0] == 200

            handle = await fake.send_slash_command(
                "video",
                {"prompt": "a fox in the snow", "duration": 2, "resolution": "360p"},
                user=fake.user("alice"),
                attachment_size_limit=100_000,  # the demo's 2 s 360p render is about 140 KB
            )
            await handle.wait_callback()
            message = await handle.wait_original(
                lambda m: (
                    m.attachments
                    and any(c.get("label") == "Full quality" for c in iter_components(m.components))
                ),
                60,
            )
            assert message.attachments[0].size <= 100_000
            link = full_quality_url(message)
            assert link.startswith(f"{origin}/v/")
            async with aiohttp.ClientSession() as http, http.get(link) as reply:
                assert reply.status == 200 and reply.headers["Content-Type"] == "video/mp4"
                original = await reply.read()
            assert len(original) > 100_000  # the original, not the re-encode
            forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
            assert await get(forged) == (403, "link expired or invalid\n")
            if CHROMIUM is not None:
                assert await plays_in_chromium(tmp_path, link) is True

            status, text = await get(f"{origin}/metrics")
            assert status == 200
            families = {f.name: f for f in text_string_to_metric_families(text)}
            jobs = families["videobot_jobs"]  # the parser drops the counter's _total suffix
            completed = [
                s
                for s in jobs.samples
                if s.name == "videobot_jobs_total" and s.labels["status"] == "completed"
            ]
            assert [(s.labels["model"], s.value) for s in completed] == [("demo", 1.0)]

            if is_postgres():  # SQLite is a file inside the process: it can't be "down" while the bot runs
                name = await take_postgres_down(url)
                try:
                    await eventually(
                        lambda: _status_is(f"{origin}/readyz", 503), 30, "/readyz to say not ready"
                    )
                    status, body = await get(f"{origin}/readyz")
                    assert "database" in body, body
                finally:
                    await execute_database(
                        url.rpartition("/")[0] + "/postgres",
                        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true',
                    )
                await eventually(lambda: _status_is(f"{origin}/readyz", 200), 60, "/readyz to recover")
            assert await bot.stop() == 0
            # asyncpg logs its own pool's failed reconnects (a WARNING with a traceback) while the
            # database refuses connections; nothing else may.
            output = bot.output().replace(ASYNCPG_POOL_WARNING + "\nTraceback", ASYNCPG_POOL_WARNING)
            assert "Traceback" not in output
        finally:
            await bot.stop()


async def _status_is(url: str, expected: int) -> bool:
    return (await get(url))[0] == expected


async def plays_in_chromium(tmp_path, url: str) -> bool:
    """Open `url` in headless Chromium: True once its <video> has a decoded frame (readyState >= 2)."""
    async with chromium_page(tmp_path / "profile") as page:
        await page.open(url)
        await page.until("document.querySelector('video') && document.querySelector('video').readyState >= 2")
        return True


@pytest.mark.skipif(not is_postgres(), reason="several bot.py processes share only a PostgreSQL database")
async def test_two_workers_with_their_own_folders_and_one_s3_store_deliver_every_job(
    tmp_path,
    s3_endpoint,  # noqa: F811 - the fixture imported above
    bucket,  # noqa: F811
):
    from tests.core.storage.conftest import s3_settings

    async with open_cluster(tmp_path) as cluster:

        def env_for(folder: str, **extra):
            env = cluster.env(edit_interval=0.5, **extra)
            env.update(s3_settings(s3_endpoint, bucket, tmp_path / folder))  # its own folder, one bucket
            return env

        bot = await cluster.start(env=env_for("bot-host", workers="0"))
        workers = [await cluster.start("worker", env=env_for(f"worker-{n}")) for n in (1, 2)]
        handles = []
        for n in range(6):
            handle = await cluster.discord.send_slash_command(
                "video", {"prompt": f"a fox, take {n}", "duration": 4}, user=cluster.discord.user(f"user{n}")
            )
            await handle.wait_callback()
            handles.append(handle)
        for handle in handles:
            message = await handle.wait_original(lambda m: m.attachments, 120)
            assert message.attachments[0].size > 0
        rows = await query_database(cluster.url, "SELECT status, video_key FROM generations")
        assert [r["status"] for r in rows] == ["completed"] * 6 and all(r["video_key"] for r in rows)
        ran = [
            p.name
            for n in (1, 2)
            for p in (tmp_path / f"worker-{n}").rglob("*.mp4")
            if ".upload-" not in p.name  # the copy made for Discord's upload limit
        ]
        assert sorted(ran) == sorted(r["video_key"].rsplit("/", 1)[-1] for r in rows)  # each on one host
        assert not list((tmp_path / "bot-host").rglob("*.mp4"))  # the command bot never ran one
        assert bot.running and all(w.running for w in workers)
        await cluster.stop_all()
