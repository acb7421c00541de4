"""Two hosts, one S3 store: a worker with its own OUTPUT_DIR runs the jobs, a delivering process with
ANOTHER OUTPUT_DIR shows them, both on one database and one bucket (the engine wired as the product wires
it: core.services.assemble). An upload broken mid-way never delivers a half file; retention and /forget
remove the objects."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import pytest_asyncio

from core.accounts.quotas import QuotaService
from core.catalog import load_catalog
from core.jobs.views import Requester
from core.media.retention import sweep_outputs
from core.platform.settings import load_settings
from core.services import Services, assemble
from core.validation import GenerationParams
from models import DailyUsage, Generation, GenerationStatus
from tests.core.storage.conftest import FailPart, names, open_uploads, s3_settings
from tests.fakes.clock import FakeClock
from tests.fakes.sample_video import sample_mp4
from tests.fakes.scripted_provider import ScriptedProvider

CATALOG = load_catalog()
ALICE = Requester(user_id=42, guild_id=1, channel_id=2)
LIMIT = 25 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"first frame" * 10


def host(folder: Path, endpoint: str, bucket: str, provider: ScriptedProvider, clock: FakeClock) -> Services:
    settings = load_settings(
        {
            **s3_settings(endpoint, bucket, folder),
            "DEFAULT_MODEL": "omni-1.2-flash",
            "USER_MAX_QUEUED": "100",
        },
        env_file=None,
    )
    quotas = QuotaService(daily_videos=10, daily_seconds=600, spend_cap_usd=50.0)
    return assemble(settings, CATALOG, {"gemini": provider}, quotas, clock=clock, rand=lambda: 0.5)


@pytest_asyncio.fixture
async def hosts(db, tmp_path, s3_endpoint, bucket):
    """(worker, bot, the worker's provider): separate OUTPUT_DIRs, one database, one bucket."""
    clock, provider = FakeClock(), ScriptedProvider(name="gemini")
    worker = host(tmp_path / "worker-host", s3_endpoint, bucket, provider, clock)
    bot = host(tmp_path / "bot-host", s3_endpoint, bucket, ScriptedProvider(name="gemini"), clock)
    yield worker, bot, provider
    await worker.aclose()
    await bot.aclose()


async def test_jobs_run_on_one_host_are_delivered_by_another_with_its_own_folder(hosts, tmp_path, s3, bucket):
    worker, bot, _provider = hosts
    ids = []
    for n in range(3):
        result = await worker.generate(GenerationParams(prompt=f"fox {n}", duration=4), ALICE)
        assert result.status == "success", result
        ids.append(result.generation_id)
    assert len(await names(s3, bucket)) == 3
    for job_id in ids:
        gen = await Generation.get(id=job_id)
        assert gen.video_key and gen.video_key.endswith(f"_{job_id}.mp4")
        assert not (tmp_path / "bot-host" / gen.video_key).exists()  # the bot's host never had it
        view = await bot.results.prepare(job_id, LIMIT)
        assert view.upload is not None and view.upload.is_relative_to(tmp_path / "bot-host")
        assert (tmp_path / "bot-host" / gen.video_key).read_bytes() == sample_mp4()  # whole, from S3


async def test_an_input_image_admitted_on_one_host_reaches_the_worker_on_another(hosts, tmp_path, s3, bucket):
    worker, bot, provider = hosts
    params = GenerationParams(prompt="animate this", image=PNG, image_mime_type="image/png")
    job = await bot.intake.create_job(params, ALICE)  # the bot host admits it and keeps the image
    (tmp_path / "bot-host" / job.config["image_key"]).unlink()  # nothing of it on a shared disk
    result = await worker.runner.run_job(job.id)
    assert result.status == "success"
    assert provider.submitted[0].image == PNG
    assert f"bot/{job.config['image_key']}" in await names(s3, bucket)


async def test_an_upload_broken_every_time_fails_the_job_refunded_and_delivers_no_half_file(
    hosts, tmp_path, s3, bucket
):
    worker, bot, provider = hosts
    worker.runner.storage.part_size = 5 * 1024 * 1024
    provider.fetches = deque([sample_mp4() + bytes(11 * 1024 * 1024)])  # 3 parts: part 2 always breaks
    hook = FailPart(number=2)
    (await worker.runner.storage.client()).meta.events.register("before-send.s3.UploadPart", hook)
    result = await worker.generate(GenerationParams(prompt="too big to store", duration=4), ALICE)
    assert result.error_type == "unknown" and result.refunded
    assert hook.failed == 4  # the store was tried FETCH_ATTEMPTS times
    assert await names(s3, bucket) == [] and await open_uploads(s3, bucket) == []
    gen = await Generation.get(id=result.generation_id)
    assert gen.status is GenerationStatus.FAILED and gen.video_key is None
    usage = await DailyUsage.get(user_id=42)
    assert (usage.videos, usage.seconds) == (0, 0)
    view = await bot.results.prepare(gen.id, LIMIT)
    assert view.upload is None and "unexpected" in view.body
    assert not any((tmp_path / "bot-host").rglob("*.mp4"))


async def test_an_upload_broken_once_is_retried_and_the_whole_file_delivered(hosts, tmp_path, s3, bucket):
    worker, bot, provider = hosts
    worker.runner.storage.part_size = 5 * 1024 * 1024
    data = sample_mp4() + bytes(11 * 1024 * 1024)
    provider.fetches = deque([data])
    hook = FailPart(number=2, times=1)
    (await worker.runner.storage.client()).meta.events.register("before-send.s3.UploadPart", hook)
    result = await worker.generate(GenerationParams(prompt="stored on retry", duration=4), ALICE)
    assert result.status == "success" and hook.failed == 1
    gen = await Generation.get(id=result.generation_id)
    head = await s3.head_object(Bucket=bucket, Key=f"bot/{gen.video_key}")
    assert head["ContentLength"] == len(data)
    path = await bot.runner.storage.fetch(gen.video_key)
    assert path.is_relative_to(tmp_path / "bot-host") and path.read_bytes() == data


async def test_retention_removes_old_objects_from_the_bucket(hosts, tmp_path, s3, bucket):
    worker, bot, _provider = hosts
    await worker.generate(GenerationParams(prompt="old fox", duration=4), ALICE)
    assert len(await names(s3, bucket)) == 1
    assert await sweep_outputs(tmp_path / "bot-host", 30, now=time.time, storage=bot.storage) == 0
    later = time.time() + 31 * 86400
    assert await sweep_outputs(tmp_path / "bot-host", 30, now=lambda: later, storage=bot.storage) == 1
    assert await names(s3, bucket) == []


async def test_forget_removes_the_user_s_video_and_images_from_the_bucket(hosts, s3, bucket):
    worker, bot, _provider = hosts
    params = GenerationParams(prompt="mine", image=PNG, image_mime_type="image/png")
    result = await worker.generate(params, ALICE)
    await worker.generate(GenerationParams(prompt="someone else's", duration=4), Requester(user_id=7))
    assert len(await names(s3, bucket)) == 3  # Alice's video and image, the other user's video
    forgotten = await bot.forgetting.forget(ALICE.user_id, by=ALICE.user_id)
    assert forgotten.jobs == 1
    left = await names(s3, bucket)
    assert len(left) == 1 and left[0].endswith(f"_{result.generation_id + 1}.mp4")
    gen = await Generation.get(id=result.generation_id)
    assert gen.video_key is None and gen.config == {}


async def test_a_full_quality_link_on_the_other_host_redirects_to_a_short_presigned_url(hosts, tmp_path):
    import aiohttp

    from core.links.routes import LinkRoutes, add_link_routes
    from core.links.signing import LinkSigner
    from core.platform.http_server import HttpServer
    from core.platform.metrics import Metrics

    worker, bot, _provider = hosts
    result = await worker.generate(GenerationParams(prompt="a fox", duration=4), ALICE)
    for copy in (tmp_path / "worker-host").rglob("*.mp4"):  # one machine here: the worker's disk is elsewhere
        copy.unlink()
    signer = LinkSigner(b"test-link-secret-0123456789", "https://videos.example.org", 3600.0, time.time)
    server = HttpServer(Metrics(), alive=dict, checks={})
    add_link_routes(server.app, LinkRoutes(signer, storage=bot.storage))
    await server.start("127.0.0.1", 0)
    try:
        url = signer.video_url(result.generation_id).replace(
            signer.base_url, f"http://127.0.0.1:{server.port}"
        )
        async with aiohttp.ClientSession() as http:
            async with http.get(url, allow_redirects=False) as reply:
                assert reply.status == 302 and reply.headers["Cache-Control"] == "no-store"
                presigned = reply.headers["Location"]
            async with http.get(presigned) as reply:  # the bucket serves it: the bot's host never had it
                assert reply.status == 200 and await reply.read() == sample_mp4()
    finally:
        await server.stop()
    assert not any((tmp_path / "bot-host").rglob("*.mp4"))
