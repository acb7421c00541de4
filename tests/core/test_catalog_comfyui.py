"""The catalog's comfyui entries: shipped ones load their workflows; an override's workflow is found next to
its catalog file; a wrong binding fails at start naming the entry, the node id and the input."""

from __future__ import annotations

import json

import pytest

from core.catalog import CatalogError, load_catalog
from core.platform.settings import SettingsError, load_settings
from core.providers.base import VideoRequest
from core.providers.comfyui.chooser import WorkflowChooser

GRAPH = {
    "1": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}, "_meta": {"title": "Positive"}},
    "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "t5.safetensors", "type": "wan"}},
    "3": {"class_type": "SaveVideo", "inputs": {"video": ["1", 0], "filename_prefix": "x", "format": "auto", "codec": "auto"}},
}  # fmt: skip


def override(tmp_path, bindings: str, workflow: str = "mine.json", extra: str = "") -> str:
    (tmp_path / "mine.json").write_text(json.dumps(GRAPH))
    path = tmp_path / "catalog.toml"
    path.write_text(
        f"""[models.mine]
provider = "comfyui"
provider_model_id = "mine"
durations = [2]
aspect_ratios = ["16:9"]
resolutions = ["480p"]
audio = "none"
usd_per_second = 0.0
expected_latency_s = 30
workflow = "{workflow}"
bindings = {bindings}
{extra}
"""
    )
    return str(path)


def test_shipped_comfyui_entries_load_their_workflows_and_choose_by_image():
    catalog = load_catalog()
    chooser = WorkflowChooser(catalog)
    ltx = catalog.get("comfy-ltx-video")
    text = VideoRequest("a heron", ltx, 5, "16:9", "480p")
    image = VideoRequest("a heron", ltx, 5, "16:9", "480p", image=b"png", image_mime_type="image/png")
    assert chooser(text).name == "comfy-ltx-video" and not chooser(text).needs_image
    assert chooser(image).needs_image
    assert catalog.get("comfy-wan-2.2-i2v").image_required
    assert all(
        m.usd_per_second == {"default": 0.0} for m in catalog.models.values() if m.provider == "comfyui"
    )


def test_an_override_workflow_is_found_next_to_its_catalog(tmp_path):
    spec = load_catalog(override(tmp_path, '{ prompt = "Positive.text", output = "3" }')).get("mine")
    assert spec.workflow == str(tmp_path / "mine.json")


def test_a_binding_to_a_missing_input_names_the_entry_the_node_and_the_input(tmp_path):
    with pytest.raises(CatalogError) as info:
        load_catalog(override(tmp_path, '{ prompt = "1.txt", output = "3" }'))
    message = str(info.value)
    assert "model 'mine'" in message and "node 1" in message and "'txt'" in message


def test_a_workflow_in_neither_folder_is_named(tmp_path):
    with pytest.raises(CatalogError, match=r"field 'workflow': 'absent\.json' is not in"):
        load_catalog(override(tmp_path, '{ prompt = "1.text", output = "3" }', workflow="absent.json"))


def test_workflow_fields_are_refused_on_other_providers(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[models.x]\nprovider = "demo"\nprovider_model_id = "d"\ndurations = [2]\naspect_ratios = ["16:9"]\n'
        'resolutions = ["360p"]\naudio = "none"\nusd_per_second = 0.0\nexpected_latency_s = 1\nfps = 16\n'
    )
    with pytest.raises(CatalogError, match="field 'fps': is for comfyui models only"):
        load_catalog(path)


def test_comfyui_settings_take_several_servers_and_secret_headers():
    settings = load_settings(
        {"COMFYUI_URL": "http://gpu1:8188/, http://gpu2:8188", "COMFYUI_HEADERS": "Authorization: Bearer s3cr3t\\nX-Team: v"},
        env_file=None,
    )  # fmt: skip
    assert settings.comfyui_url == ("http://gpu1:8188", "http://gpu2:8188")
    assert dict(settings.comfyui_headers) == {"Authorization": "Bearer s3cr3t", "X-Team": "v"}
    assert "Bearer s3cr3t" in settings.secret_values() and "s3cr3t" not in repr(settings)
    assert settings.configured_providers()["comfyui"]


def test_a_malformed_header_names_the_setting_and_never_echoes_the_value():
    with pytest.raises(SettingsError) as info:
        load_settings({"COMFYUI_HEADERS": "Bearer s3cr3t"}, env_file=None)
    assert "COMFYUI_HEADERS" in str(info.value) and "s3cr3t" not in str(info.value)
