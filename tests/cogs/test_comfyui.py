"""ComfyUI end to end: the real bot (VideoBot, discord.py) against the fake Discord and the fake ComfyUI.

Deterministic: the fake ComfyUI moves only when a test steps it, and every wait is for a state (a queued
prompt, a connected socket, a message edit), never a sleep."""

from __future__ import annotations

import json
import re

from core.providers.comfyui import client_id_for
from core.providers.comfyui.workflow import WORKFLOWS_DIR
from models import DailyUsage, Generation, GenerationStatus
from tests.cogs.conftest import embeds_text, eventually, open_harness, running_bot
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.discord import FakeDiscord

MODEL = "comfy-wan-2.2-5b"
BAR = re.compile(r"\] (\d{1,3})%")


def nodes_of(*files) -> dict[str, tuple[str, ...]]:
    """A node set for the fake: every class the workflow files use, its inputs all required."""
    nodes: dict[str, tuple[str, ...]] = {}
    for file in files:
        for node in json.loads(file.read_text()).values():
            nodes[node["class_type"]] = tuple(node["inputs"])
    return nodes


def shipped_fake(**kwargs) -> FakeComfyUI:
    return FakeComfyUI(nodes_of(*WORKFLOWS_DIR.glob("*.json")), **kwargs)


def percent(msg) -> int | None:
    found = BAR.search(embeds_text(msg.embeds))
    return int(found.group(1)) if found else None


async def queued_prompt(comfy: FakeComfyUI) -> str:
    """The prompt id of the first prompt the bot queued, once its WebSocket is listening."""

    async def arrived():
        return comfy.pending[0].prompt_id if comfy.pending else None

    prompt_id = await eventually(arrived, what="a prompt at ComfyUI")
    await comfy.wait_socket(client_id_for(prompt_id))
    return prompt_id


def steps_to_sampler_step(graph: dict, sampler: str, value: int) -> int:
    """How many `step()`s take a fresh prompt to its sampler's step `value`: execution_start,
    execution_cached, one `executing` per node up to the sampler's, then one `progress` per step."""
    return 2 + list(graph).index(sampler) + 1 + value


async def usage(user_id: int) -> tuple[int, int]:
    row = await DailyUsage.get_or_none(user_id=user_id)
    return (row.videos, row.seconds) if row else (0, 0)


async def test_a_comfy_video_follows_the_steps_and_delivers_the_servers_mp4(db, tmp_path, monkeypatch):
    async with shipped_fake() as comfy, open_harness(tmp_path, monkeypatch, comfyui_url=comfy.base_url) as h:
        handle = await h.video("a paper boat on a river", model=MODEL, duration=2)
        await queued_prompt(comfy)
        [graph] = comfy.graphs
        assert graph["5"]["inputs"]["text"] == "a paper boat on a river"
        assert graph["7"]["inputs"]["length"] == 49  # 2 s at 24 fps, 4k+1
        assert graph["8"]["inputs"]["steps"] == 20
        taken = 0
        for value, expected in ((10, 50), (20, 80)):  # half of the sampler's 20 steps, then all of them
            while taken < steps_to_sampler_step(graph, "8", value):
                await comfy.step()
                taken += 1
            await handle.wait_original(lambda m, e=expected: percent(m) == e, 10)
        await comfy.run()
        msg = await h.finished(handle)
        [video] = msg.attachments
        assert video.filename.endswith(".mp4") and video.data[4:8] == b"ftyp"  # (remuxed faststart)


async def test_an_execution_error_shows_the_nodes_message_and_refunds(db, tmp_path, monkeypatch):
    async with shipped_fake() as comfy, open_harness(tmp_path, monkeypatch, comfyui_url=comfy.base_url) as h:
        comfy.fail_at["8"] = ("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB")
        handle = await h.video("a paper boat on a river", model=MODEL, duration=2)
        await queued_prompt(comfy)
        await comfy.run()
        msg = await handle.wait_original(lambda m: "CUDA out of memory" in embeds_text(m.embeds), 10)
        assert "KSampler #8" in embeds_text(msg.embeds) and "Your quota was refunded." in embeds_text(
            msg.embeds
        )
        gen = await eventually(lambda: Generation.filter(refunded=True).first(), what="the refund")
        assert gen.error_type == "generation_failed"
        assert await usage(gen.user_id) == (0, 0)


async def test_cancel_interrupts_the_running_prompt_and_no_other(db, tmp_path, monkeypatch):
    async with shipped_fake() as comfy, open_harness(tmp_path, monkeypatch, comfyui_url=comfy.base_url) as h:
        comfy.jobs_api = comfy.jobs_cancel = False  # an older server: /interrupt with the prompt id
        handle = await h.video("a paper boat on a river", model=MODEL, duration=2)
        prompt_id = await queued_prompt(comfy)
        await comfy.step()  # running now
        msg = await handle.wait_original(lambda m: any(c.startswith("video:cancel:") for c in m.custom_ids()))
        custom_id = next(c for c in msg.custom_ids() if c.startswith("video:cancel:"))
        click = await h.fake.send_component_click(msg.id, custom_id, user=h.fake.user("alice"))
        assert (await click.wait_callback()).accepted
        await eventually(lambda: _async(comfy.interrupts), what="an interrupt at ComfyUI")
        assert [i.get("prompt_id") for i in comfy.interrupts] == [prompt_id]


async def _async(value):
    return value


async def test_a_restart_between_submit_and_confirmation_resumes_by_prompt_id(db, tmp_path, monkeypatch):
    async with shipped_fake() as comfy, FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, tmp_path, comfyui_url=comfy.base_url) as h:
            handle = await h.video("a paper boat on a river", model=MODEL, duration=2)
            prompt_id = await queued_prompt(comfy)
        # The bot died after ComfyUI queued the prompt but before the confirmation reached the database:
        gen = await Generation.get(provider_chosen_id=prompt_id)
        await Generation.filter(id=gen.id).update(provider_job_id=None, submitted_at=None)
        assert gen.submit_started_at is not None
        async with running_bot(fake, tmp_path, comfyui_url=comfy.base_url) as h:
            await comfy.wait_socket(client_id_for(prompt_id))  # resumed: watching the same prompt
            await comfy.run()
            msg = await h.finished(handle)
            assert msg.attachments[0].data[4:8] == b"ftyp"
        assert len(comfy.graphs) == 1, "one /prompt only"
        done = await Generation.get(id=gen.id)
        assert done.status is GenerationStatus.COMPLETED and done.provider_job_id.startswith(prompt_id + "@")


async def test_a_comfyui_restart_fails_the_job_as_provider_unavailable_refunded(db, tmp_path, monkeypatch):
    async with shipped_fake() as comfy, open_harness(tmp_path, monkeypatch, comfyui_url=comfy.base_url) as h:
        handle = await h.video("a paper boat on a river", model=MODEL, duration=2)
        await queued_prompt(comfy)
        await comfy.step()
        await comfy.restart()  # the queue is gone, the socket dropped: the reconnected watch finds it lost
        await handle.wait_original(lambda m: "unreachable or failing" in embeds_text(m.embeds), 15)
        gen = await eventually(lambda: Generation.filter(refunded=True).first(), what="the refund")
        assert gen.error_type == "provider_unavailable"
        assert await usage(gen.user_id) == (0, 0)


OVERRIDE_GRAPH = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "mine.safetensors", "weight_dtype": "default"}},
    "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5.safetensors", "type": "wan"}},
    "3": {"class_type": "VAELoader", "inputs": {"vae_name": "vae.safetensors"}},
    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}, "_meta": {"title": "Positive"}},
    "5": {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": 1, "height": 1, "length": 1, "batch_size": 1}},
    "6": {
        "class_type": "KSampler",
        "inputs": {"model": ["1", 0], "seed": 0, "steps": 2, "cfg": 5.0, "sampler_name": "euler",
                   "scheduler": "simple", "positive": ["4", 0], "negative": ["4", 0],
                   "latent_image": ["5", 0], "denoise": 1.0},
        "_meta": {"title": "Sampler"},
    },
    "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["3", 0]}},
    "8": {"class_type": "CreateVideo", "inputs": {"images": ["7", 0], "fps": 16}},
    "9": {"class_type": "SaveVideo", "inputs": {"video": ["8", 0], "filename_prefix": "mine", "format": "auto", "codec": "auto"}},
}  # fmt: skip

OVERRIDE_CATALOG = """
[models.my-wan]
provider = "comfyui"
provider_model_id = "my-wan"
durations = [1, 2]
aspect_ratios = ["1:1"]
resolutions = ["360p"]
audio = "none"
seed = true
usd_per_second = 0.0
expected_latency_s = 30
workflow = "my_wan.json"
bindings = { prompt = "Positive.text", seed = "Sampler.seed", width = "5.width", height = "5.height", frames = "5.length", fps = "8.fps", output = "9" }
frame_rule = "4k+1"
fps = 16
size_multiple = 16
"""


async def test_an_override_workflow_with_its_own_bindings_works_end_to_end(db, tmp_path, monkeypatch):
    (tmp_path / "catalog.toml").write_text(OVERRIDE_CATALOG)
    (tmp_path / "my_wan.json").write_text(json.dumps(OVERRIDE_GRAPH))
    async with (
        FakeComfyUI() as comfy,
        open_harness(
            tmp_path,
            monkeypatch,
            comfyui_url=comfy.base_url,
            model_catalog=tmp_path / "catalog.toml",
            default_model="my-wan",
        ) as h,
    ):
        handle = await h.video("a heron in the reeds", duration=2, seed=7)
        await queued_prompt(comfy)
        [graph] = comfy.graphs
        assert graph["4"]["inputs"]["text"] == "a heron in the reeds"
        assert graph["6"]["inputs"]["seed"] == 7
        assert (graph["5"]["inputs"]["width"], graph["5"]["inputs"]["length"]) == (
            352,
            33,
        )  # 360 -> 352; 32 -> 33
        await comfy.run()
        msg = await h.finished(handle)
        assert msg.attachments[0].data[4:8] == b"ftyp"
