"""ComfyUIProvider against the fake ComfyUI, over real aiohttp (HTTP and WebSocket) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, VideoRequest
from core.providers.comfyui import ComfyUIProvider, client_id_for, make_job_id, parse_job_id
from tests.conftest import eventually
from tests.fakes.comfyui import DEFAULT_NODES, FakeComfyUI
from tests.fakes.sample_video import sample_mp4

HEADERS = {"Authorization": "Bearer proxy-secret", "X-API-Key": "k1"}
CATALOG = load_catalog()


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class StandIn:
    """The Workflow shape the provider needs: node classes, needs_image, graph(request, image_name)."""

    def __init__(self, *, needs_image: bool = False, drop_input: str | None = None, extra: str | None = None):
        self.needs_image = needs_image
        self._drop = drop_input
        self._extra = extra
        self.node_classes = frozenset(n["class_type"] for n in self._nodes(None, "x").values())
        self.bound: list[tuple[VideoRequest, str | None]] = []

    def _nodes(self, image: str | None, text: str) -> dict[str, Any]:
        graph: dict[str, Any] = {
            "1": {
                "class_type": "UNETLoader",
                "inputs": {"unet_name": "wan.safetensors", "weight_dtype": "default"},
            },
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["2", 0]}},
            "3": {
                "class_type": "KSampler",
                "inputs": {
                    "model": ["1", 0],
                    "seed": 1,
                    "steps": 3,
                    "cfg": 5.0,
                    "sampler_name": "euler",
                    "scheduler": "simple",
                    "positive": ["6", 0],
                    "negative": ["6", 0],
                    "latent_image": ["5", 0],
                    "denoise": 1.0,
                },
            },
            "9": {
                "class_type": "SaveVideo",
                "inputs": {
                    "video": ["8", 0],
                    "filename_prefix": "video/ComfyUI",
                    "format": "auto",
                    "codec": "auto",
                },
            },
        }
        if self.needs_image or image:
            graph["10"] = {"class_type": "LoadImage", "inputs": {"image": image}}
        if self._extra:
            graph["11"] = {"class_type": self._extra, "inputs": {}}
        if self._drop:
            del graph["3"]["inputs"][self._drop]
        return graph

    def graph(self, request: VideoRequest, image_name: str | None) -> dict[str, Any]:
        self.bound.append((request, image_name))
        return self._nodes(image_name, request.prompt)


def request(prompt: str = "a paper boat on a river", image: bytes | None = None) -> VideoRequest:
    model = _any_model(CATALOG)
    return VideoRequest(
        prompt, model, 5, "16:9", "720p", image=image, image_mime_type="image/png" if image else None
    )


def _any_model(catalog: Any) -> Any:
    for name in ("comfy-wan-2.2-5b", "demo", "fal-veo-3.1"):
        model = catalog.get(name)
        if model is not None:
            return model
    raise AssertionError("no model in the catalog")


@pytest.fixture
async def fake():
    async with FakeComfyUI() as server:
        yield server


def make_provider(servers: list[str], workflow: StandIn | None = None, **kwargs: Any) -> ComfyUIProvider:
    wf = workflow or StandIn()
    kwargs.setdefault("request_timeout", 2.0)
    return ComfyUIProvider(servers, HEADERS, lambda _model: wf, poll_interval=0, **kwargs)


@pytest.fixture
async def provider(fake: FakeComfyUI):
    p = make_provider([fake.base_url])
    yield p
    await p.aclose()


async def raised(coro: Any) -> GenerationError:
    with pytest.raises(GenerationError) as info:
        await coro
    return info.value


def ref(job_id: str) -> JobRef:
    return JobRef(job_id, "wan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- ids ------------------------------------------------------------------------------------------------


def test_job_id_round_trips_server_and_prompt_id():
    job_id = make_job_id("http://gpu-box:8188/", "abc-123")
    assert job_id == "abc-123@http://gpu-box:8188"
    assert parse_job_id(job_id) == ("http://gpu-box:8188", "abc-123")
    with pytest.raises(GenerationError):
        parse_job_id("no-server-here")


def test_repr_hides_headers():
    p = make_provider(["http://127.0.0.1:1"])
    assert "proxy-secret" not in repr(p) and "k1" not in repr(p)


# -- the happy path -------------------------------------------------------------------------------------


async def test_submit_watch_progress_success_and_fetch(
    fake: FakeComfyUI, provider: ComfyUIProvider, tmp_path: Path
):
    job_id = await provider.submit(request(), prompt_id="p-1")
    assert job_id == make_job_id(fake.base_url, "p-1")
    assert fake.graphs[0]["6"]["inputs"]["text"] == "a paper boat on a river"
    sent = fake.requests_to("prompt")[0].json
    assert sent["prompt_id"] == "p-1" and sent["client_id"] == client_id_for("p-1")

    stream = provider.watch(ref(job_id))
    first = await anext(stream)
    assert first.state == JobState.QUEUED and first.queue_position == 0
    await fake.wait_socket(client_id_for("p-1"))
    await fake.run_all()
    seen = [r async for r in stream]
    progress = [r.progress for r in seen if r.state == JobState.RUNNING]
    assert progress == [None, pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0]
    assert seen[-1].state == JobState.SUCCEEDED
    url = seen[-1].video.url
    assert url.startswith(f"{fake.base_url}/view?") and "subfolder=video" in url and "type=output" in url

    size = await provider.fetch(ref(job_id), seen[-1].video, tmp_path / "out.mp4", 10_000_000)
    assert (tmp_path / "out.mp4").read_bytes() == sample_mp4() and size == len(sample_mp4())


async def test_prompt_id_we_pass_is_the_one_the_server_uses(fake: FakeComfyUI, provider: ComfyUIProvider):
    job_id = await provider.submit(request())
    _, prompt_id = parse_job_id(job_id)
    assert fake.queued_ids() == [prompt_id]
    assert fake.requests_to("prompt")[0].json["prompt_id"] == prompt_id


async def test_vhs_gifs_output_is_found(fake: FakeComfyUI, provider: ComfyUIProvider):
    fake.output_style = "vhs"
    job_id = await provider.submit(request())
    await fake.run_all()
    result = await provider.poll(ref(job_id))
    assert result.state == JobState.SUCCEEDED and "fullpath" not in result.video.url


async def test_first_frame_is_uploaded_and_bound(fake: FakeComfyUI, tmp_path: Path):
    wf = StandIn(needs_image=True)
    p = make_provider([fake.base_url], wf)
    try:
        await p.submit(request(image=b"\x89PNG fake"))
        assert fake.uploads[0].data == b"\x89PNG fake" and fake.uploads[0].type == "input"
        assert fake.graphs[0]["10"]["inputs"]["image"] == fake.uploads[0].name
        assert (await raised(p.submit(request()))).category == ErrorCategory.INVALID_REQUEST
    finally:
        await p.aclose()


# -- routing and headers ---------------------------------------------------------------------------------


async def test_events_go_only_to_the_matching_client_id(fake: FakeComfyUI, provider: ComfyUIProvider):
    job_id = await provider.submit(request(), prompt_id="mine")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{fake.base_url}/ws?clientId=other") as other,
    ):
        await fake.wait_socket("other")
        stream = provider.watch(ref(job_id))
        await anext(stream)
        await fake.wait_socket(client_id_for("mine"))
        await fake.run_all()
        assert [r async for r in stream][-1].state == JobState.SUCCEEDED
        types = []
        while True:
            try:
                msg = await other.receive_json(timeout=0.05)
            except TimeoutError:
                break
            types.append(msg["type"])
        assert set(types) == {"status"}  # queue broadcasts only, no execution events


async def test_headers_arrive_on_http_and_the_websocket_upgrade(fake: FakeComfyUI, provider: ComfyUIProvider):
    job_id = await provider.submit(request())
    stream = provider.watch(ref(job_id))
    await anext(stream)
    await stream.aclose()
    for recorded in fake.requests:
        assert recorded.headers.get("Authorization") == "Bearer proxy-secret", recorded.route
        assert recorded.headers.get("X-API-Key") == "k1"
    assert fake.requests_to("ws")


async def test_refused_headers_name_comfyui_headers_without_echoing_them(provider: ComfyUIProvider):
    async with _Refusing() as proxy:
        p = make_provider([proxy.base_url])
        try:
            error = await raised(p.submit(request()))
        finally:
            await p.aclose()
    assert "COMFYUI_HEADERS" in error.detail and "proxy-secret" not in error.detail and not error.retryable


class _Refusing(FakeComfyUI):
    def routes(self, app: Any) -> None:
        async def refuse(request: Any) -> Any:
            from aiohttp import web

            return web.Response(status=401, text="Unauthorized")

        app.router.add_route("*", "/{tail:.*}", refuse)


# -- failures -------------------------------------------------------------------------------------------


async def test_validation_400_names_the_node(fake: FakeComfyUI):
    p = make_provider([fake.base_url], StandIn(drop_input="steps"))
    try:
        error = await raised(p.submit(request()))
    finally:
        await p.aclose()
    assert error.category == ErrorCategory.GENERATION_FAILED and not error.retryable
    assert "node 3 (KSampler)" in error.detail and "steps" in error.detail
    assert fake.queued_ids() == []


async def test_unknown_class_type_is_rejected_like_the_real_server(fake: FakeComfyUI):
    error, node_errors, _ = fake.validate({"1": {"class_type": "Nope", "inputs": {}}})
    assert error["type"] == "invalid_prompt" and "Nope" in error["message"] and node_errors == {}


async def test_execution_error_names_node_and_message(fake: FakeComfyUI, provider: ComfyUIProvider):
    fake.fail_at["3"] = ("torch.OutOfMemoryError", "Allocation on device failed")
    job_id = await provider.submit(request())
    stream = provider.watch(ref(job_id))
    await anext(stream)
    await fake.wait_socket(client_id_for(parse_job_id(job_id)[1]))
    await fake.run_all()
    last = [r async for r in stream][-1]
    assert last.state == JobState.FAILED and last.error.category == ErrorCategory.GENERATION_FAILED
    assert "KSampler #3" in last.error.detail and "Allocation on device failed" in last.error.detail
    polled = await provider.poll(ref(job_id))
    assert polled.error.detail == last.error.detail


async def test_a_dropped_socket_is_reconnected_and_the_watch_goes_on_to_the_end(fake: FakeComfyUI):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    provider = make_provider([fake.base_url], reconnect_delays=(1.0, 5.0), sleep=sleep)
    try:
        job_id = await provider.submit(request(), prompt_id="r")
        stream = provider.watch(ref(job_id))
        await anext(stream)
        await fake.wait_socket(client_id_for("r"))
        await fake.step()
        await fake.drop_sockets()
        fake.expect_socket(client_id_for("r"))
        seen = []

        async def follow() -> None:
            async for result in stream:
                seen.append(result)

        sockets_before = [r.path for r in fake.requests].count("/ws")

        def asked_since_reconnect() -> bool:  # a new socket, then the poll that follows it
            paths = [r.path for r in fake.requests]
            if paths.count("/ws") == sockets_before:
                return False
            return "/queue" in paths[len(paths) - paths[::-1].index("/ws") :]

        following = asyncio.create_task(follow())
        await eventually(lambda: asyncio.sleep(0, asked_since_reconnect()), 10, "the reconnect's poll")
        await fake.run_all()
        await asyncio.wait_for(following, 10)
    finally:
        await provider.aclose()
    assert slept == [1.0]  # one reconnect, after the first delay
    assert seen[-1].state == JobState.SUCCEEDED
    assert any(r.progress and 0 < r.progress < 1 for r in seen), seen  # steps after the reconnect


async def test_ws_drop_raises_retryable_and_poll_still_resolves(fake: FakeComfyUI):
    provider = make_provider([fake.base_url], reconnect_delays=())  # no reconnects left
    try:
        await _drop_then_poll(fake, provider)
    finally:
        await provider.aclose()


async def _drop_then_poll(fake: FakeComfyUI, provider: ComfyUIProvider) -> None:
    job_id = await provider.submit(request(), prompt_id="d")
    stream = provider.watch(ref(job_id))
    await anext(stream)
    await fake.wait_socket(client_id_for("d"))
    await fake.step()
    await fake.drop_sockets()
    with pytest.raises(GenerationError) as info:
        async for _ in stream:
            pass
    assert info.value.retryable
    await fake.run_all()
    assert (await provider.poll(ref(job_id))).state == JobState.SUCCEEDED


async def test_server_restart_loses_the_job(fake: FakeComfyUI, provider: ComfyUIProvider):
    job_id = await provider.submit(request())
    await fake.step()
    await fake.restart()
    result = await provider.poll(ref(job_id))
    assert result.state == JobState.FAILED and result.error.category == ErrorCategory.PROVIDER_UNAVAILABLE
    assert "restarted" in result.error.detail


async def test_slow_view_is_still_fetched(fake: FakeComfyUI, provider: ComfyUIProvider, tmp_path: Path):
    job_id = await provider.submit(request())
    await fake.run_all()
    fake.view_delay = 0.01
    video = (await provider.poll(ref(job_id))).video
    assert await provider.fetch(ref(job_id), video, tmp_path / "v.mp4", 10_000_000) == len(sample_mp4())


async def test_too_large_download_leaves_no_file(
    fake: FakeComfyUI, provider: ComfyUIProvider, tmp_path: Path
):
    job_id = await provider.submit(request())
    await fake.run_all()
    video = (await provider.poll(ref(job_id))).video
    error = await raised(provider.fetch(ref(job_id), video, tmp_path / "v.mp4", 100))
    assert error.category == ErrorCategory.GENERATION_FAILED and not (tmp_path / "v.mp4").exists()


# -- cancel ---------------------------------------------------------------------------------------------


async def test_jobs_api_cancel_is_preferred(fake: FakeComfyUI, provider: ComfyUIProvider):
    job_id = await provider.submit(request())
    assert await provider.cancel(ref(job_id)) is True
    assert fake.requests_to("job_cancel") and not fake.interrupts and not fake.deletes
    assert fake.queued_ids() == []


async def test_interrupt_cancels_the_running_prompt(fake: FakeComfyUI, provider: ComfyUIProvider):
    fake.jobs_cancel = False
    first = await provider.submit(request(), prompt_id="running")
    second = await provider.submit(request(), prompt_id="waiting")
    await fake.step()  # "running" starts
    assert await provider.cancel(ref(first)) is True
    assert fake.interrupts == [{"prompt_id": "running"}]
    await fake.step()
    result = await provider.poll(ref(first))
    assert result.state == JobState.FAILED and result.error.category == ErrorCategory.CANCELLED
    assert (await provider.poll(ref(second))).state == JobState.QUEUED


async def test_queue_delete_cancels_a_waiting_prompt(fake: FakeComfyUI, provider: ComfyUIProvider):
    fake.jobs_cancel = False
    await provider.submit(request(), prompt_id="running")
    waiting = await provider.submit(request(), prompt_id="waiting")
    await fake.step()
    assert await provider.cancel(ref(waiting)) is True
    assert fake.deletes == ["waiting"] and not fake.interrupts
    assert fake.queued_ids() == ["running"]


async def test_cancel_of_a_finished_prompt_is_false(fake: FakeComfyUI, provider: ComfyUIProvider):
    fake.jobs_cancel = False
    job_id = await provider.submit(request())
    await fake.run_all()
    assert await provider.cancel(ref(job_id)) is False


# -- several servers ------------------------------------------------------------------------------------


async def test_job_goes_to_the_server_with_the_nodes():
    lacking = {k: v for k, v in DEFAULT_NODES.items() if k != "SaveVideo"}
    async with FakeComfyUI(lacking) as a, FakeComfyUI() as b:
        p = make_provider([a.base_url, b.base_url])
        try:
            job_id = await p.submit(request())
        finally:
            await p.aclose()
        assert parse_job_id(job_id)[0] == b.base_url and not a.graphs


async def test_no_server_with_the_nodes_is_model_unavailable():
    async with FakeComfyUI({"KSampler": ()}) as a:
        p = make_provider([a.base_url])
        try:
            error = await raised(p.submit(request()))
        finally:
            await p.aclose()
    assert error.category == ErrorCategory.MODEL_UNAVAILABLE and "SaveVideo" in error.detail


async def test_shortest_queue_wins():
    async with FakeComfyUI() as a, FakeComfyUI() as b:
        p = make_provider([a.base_url, b.base_url])
        try:
            assert parse_job_id(await p.submit(request()))[0] == a.base_url  # tie: the first
            assert parse_job_id(await p.submit(request()))[0] == b.base_url
            assert parse_job_id(await p.submit(request()))[0] == a.base_url
        finally:
            await p.aclose()


async def test_dead_server_is_skipped_then_used_again_after_it_answers():
    clock = Clock()
    port = free_port()
    async with FakeComfyUI() as live:
        dead_url = f"http://127.0.0.1:{port}"
        p = make_provider([dead_url, live.base_url], clock=clock, skip_for=30)
        try:
            assert parse_job_id(await p.submit(request()))[0] == live.base_url
            async with FakeComfyUI(port=port) as revived:
                clock.t = 10  # still skipped: not even asked
                assert parse_job_id(await p.submit(request()))[0] == live.base_url
                assert not revived.requests
                clock.t = 31  # asked again; its queue is empty, the live one holds 2
                assert parse_job_id(await p.submit(request()))[0] == revived.base_url
        finally:
            await p.aclose()


async def test_no_usable_server_is_retryable_provider_unavailable():
    p = make_provider([f"http://127.0.0.1:{free_port()}"])
    try:
        error = await raised(p.submit(request()))
    finally:
        await p.aclose()
    assert error.category == ErrorCategory.PROVIDER_UNAVAILABLE and error.retryable


async def test_hanging_server_times_out_retryable(fake: FakeComfyUI):
    fake.hang = True
    p = make_provider([fake.base_url], request_timeout=0.05)
    try:
        error = await raised(p.submit(request()))
    finally:
        await p.aclose()
    assert error.retryable and error.category == ErrorCategory.PROVIDER_UNAVAILABLE


# -- doctor ---------------------------------------------------------------------------------------------


async def test_check_servers_reports_version_and_missing_nodes():
    async with FakeComfyUI({"KSampler": ()}, version="0.3.70") as a:
        p = make_provider([a.base_url, f"http://127.0.0.1:{free_port()}"])
        try:
            good, bad = await p.check_servers([StandIn()])
        finally:
            await p.aclose()
    assert good.reachable and good.version == "0.3.70" and "SaveVideo" in good.missing_nodes
    assert not bad.reachable and bad.error


async def test_list_models_is_none(provider: ComfyUIProvider):
    assert await provider.list_models() is None
    await asyncio.sleep(0)
