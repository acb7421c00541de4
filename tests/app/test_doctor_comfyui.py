"""`doctor` with COMFYUI_URL: each server's version, and per shipped workflow its missing node classes and
model files, against the fake ComfyUI."""

from __future__ import annotations

import datetime as dt

from core.providers.comfyui.workflow import WORKFLOWS_DIR
from tests.app.test_doctor import doctor
from tests.cogs.test_comfyui import nodes_of
from tests.fakes.comfyui import FakeComfyUI

WAN_FILES = {
    "diffusion_models": ["wan2.2_ti2v_5B_fp16.safetensors"],
    "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors"],
}


async def test_doctor_names_the_version_missing_nodes_and_missing_model_files(tmp_path):
    nodes = nodes_of(WORKFLOWS_DIR / "wan22_5b_t2v.json")
    async with FakeComfyUI(nodes, models=WAN_FILES, version="0.3.66") as comfy:
        _, out = await doctor(tmp_path, dt.date(2026, 12, 1), COMFYUI_URL=comfy.base_url)
    assert f"ok   comfyui {comfy.base_url}: reachable, ComfyUI 0.3.66" in out
    assert "comfy-wan-2.2-5b: missing model files: vae/wan2.2_vae.safetensors" in out
    assert "comfy-wan-2.2-5b: missing node classes" not in out
    assert "comfy-ltx-video: missing node classes: " in out and "LTXVConditioning" in out


async def test_doctor_says_when_a_comfyui_server_does_not_answer(tmp_path):
    _, out = await doctor(tmp_path, dt.date(2026, 12, 1), COMFYUI_URL="http://127.0.0.1:9")
    assert "FAIL comfyui http://127.0.0.1:9: not reachable" in out
