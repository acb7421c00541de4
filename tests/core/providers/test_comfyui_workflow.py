"""ComfyUI workflows as data: the shipped graphs load and bind; bad files and bindings are named."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.catalog import load_catalog
from core.providers.base import VideoRequest
from core.providers.comfyui.workflow import (
    WORKFLOWS_DIR,
    Workflow,
    WorkflowError,
    frame_count,
    load_workflow,
    model_files,
)

MODEL = load_catalog().get("demo")  # the binding never reads the model; any entry will do

# The catalog entries as the module docstring documents them (TOML, as the catalog holds them).
SHIPPED = tomllib.loads(
    """
[wan22_5b_t2v]
workflow = "wan22_5b_t2v.json"
bindings = { prompt = "5.text", negative_prompt = "6.text", seed = "8.seed", width = "7.width", height = "7.height", frames = "7.length", fps = "10.fps", output = "11" }
frame_rule = "4k+1"
fps = 24
size_multiple = 32

[wan22_i2v]
workflow = "wan22_i2v.json"
bindings = { prompt = "7.text", negative_prompt = "8.text", seed = "11.noise_seed", width = "10.width", height = "10.height", frames = "10.length", fps = "14.fps", image = "9.image", output = "15" }
frame_rule = "4k+1"
fps = 16
size_multiple = 16

[ltxv_t2v]
workflow = "ltxv_t2v.json"
bindings = { prompt = "3.text", negative_prompt = "4.text", seed = "10.noise_seed", width = "5.width", height = "5.height", frames = "5.length", fps = ["6.frame_rate", "12.fps"], output = "13" }
frame_rule = "8k+1"
fps = 24
size_multiple = 32

[ltxv_i2v]
workflow = "ltxv_i2v.json"
bindings = { prompt = "3.text", negative_prompt = "4.text", seed = "12.noise_seed", width = "7.width", height = "7.height", frames = "7.length", fps = ["8.frame_rate", "14.fps"], image = "5.image", output = "15" }
frame_rule = "8k+1"
fps = 24
size_multiple = 32
"""
)

# What the core nodes used here require (from ComfyUI's node definitions) and what they output.
REQUIRED_INPUTS = {
    "UNETLoader": {"unet_name", "weight_dtype"},
    "CLIPLoader": {"clip_name", "type"},
    "VAELoader": {"vae_name"},
    "CheckpointLoaderSimple": {"ckpt_name"},
    "LoadImage": {"image"},
    "CLIPTextEncode": {"text", "clip"},
    "ModelSamplingSD3": {"model", "shift"},
    "Wan22ImageToVideoLatent": {"vae", "width", "height", "length", "batch_size"},
    "WanImageToVideo": {"positive", "negative", "vae", "width", "height", "length", "batch_size"},
    "KSampler": {
        *("model", "seed", "steps", "cfg", "sampler_name", "scheduler"),
        *("positive", "negative", "latent_image", "denoise"),
    },
    "KSamplerAdvanced": {
        *("model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler"),
        *("positive", "negative", "latent_image", "start_at_step", "end_at_step"),
        "return_with_leftover_noise",
    },
    "EmptyLTXVLatentVideo": {"width", "height", "length", "batch_size"},
    "LTXVImgToVideo": {
        *("positive", "negative", "vae", "image", "width", "height", "length"),
        *("batch_size", "strength"),
    },
    "LTXVPreprocess": {"image", "img_compression"},
    "LTXVConditioning": {"positive", "negative", "frame_rate"},
    "ModelSamplingLTXV": {"model", "max_shift", "base_shift"},
    "LTXVScheduler": {"steps", "max_shift", "base_shift", "stretch", "terminal"},
    "KSamplerSelect": {"sampler_name"},
    "SamplerCustom": {
        *("model", "add_noise", "noise_seed", "cfg", "positive", "negative"),
        *("sampler", "sigmas", "latent_image"),
    },
    "VAEDecode": {"samples", "vae"},
    "CreateVideo": {"images", "fps"},
    "SaveVideo": {"video", "filename_prefix", "format", "codec"},
}
OUTPUT_COUNT = {
    "CheckpointLoaderSimple": 3,
    "LoadImage": 2,
    "WanImageToVideo": 3,
    "LTXVImgToVideo": 3,
    "LTXVConditioning": 2,
    "SamplerCustom": 2,
}


def shipped(name: str) -> Workflow:
    entry = SHIPPED[name]
    return load_workflow(
        name,
        WORKFLOWS_DIR / entry["workflow"],
        entry["bindings"],
        frame_rule=entry["frame_rule"],
        fps=entry["fps"],
        size_multiple=entry["size_multiple"],
    )


def request(**changes: Any) -> VideoRequest:
    fields: dict[str, Any] = {
        "prompt": "a paper boat on a river",
        "model": MODEL,
        "duration": 5,
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "negative_prompt": "fog",
        "seed": 1234,
    }
    return VideoRequest(**{**fields, **changes})


def links(graph: dict) -> dict[tuple[str, str], list]:
    return {
        (node_id, name): value
        for node_id, node in graph.items()
        for name, value in node["inputs"].items()
        if isinstance(value, list)
    }


def write(tmp_path: Path, graph: Any, name: str = "mine.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(graph) if not isinstance(graph, str) else graph)
    return path


SMALL = {
    "1": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "x", "clip": ["2", 0]},
        "_meta": {"title": "Prompt"},
    },
    "2": {
        "class_type": "CLIPLoader",
        "inputs": {"clip_name": "t5.safetensors", "type": "ltxv"},
        "_meta": {"title": "Text"},
    },
    "3": {"class_type": "SaveVideo", "inputs": {"video": ["1", 0]}, "_meta": {"title": "Save"}},
}


def small(tmp_path: Path, bindings: dict, graph: Any = SMALL, **params: Any) -> Workflow:
    args = {"frame_rule": "any", "fps": 16, **params}
    return load_workflow("mine", write(tmp_path, graph), bindings, **args)


# ---- the shipped workflows ----


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_graph_is_complete_and_well_linked(name: str) -> None:
    graph = json.loads((WORKFLOWS_DIR / SHIPPED[name]["workflow"]).read_text())
    for node_id, node in graph.items():
        assert REQUIRED_INPUTS[node["class_type"]] <= set(node["inputs"]), (node_id, node["class_type"])
        assert node["_meta"]["title"]
    for (node_id, name_), (source, slot) in links(graph).items():
        assert source in graph, (node_id, name_)
        assert slot < OUTPUT_COUNT.get(graph[source]["class_type"], 1), (node_id, name_)
    classes = [node["class_type"] for node in graph.values()]
    assert classes.count("SaveVideo") == 1 and "CreateVideo" in classes


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_workflow_binds_the_request(name: str) -> None:
    workflow = shipped(name)
    original = copy.deepcopy(dict(workflow.nodes))
    image = "upload_1.png" if workflow.needs_image else None

    graph = workflow.graph(request(), image)

    bindings = SHIPPED[name]["bindings"]

    def at(field: str) -> list[Any]:
        specs = bindings[field] if isinstance(bindings[field], list) else [bindings[field]]
        return [graph[s.split(".")[0]]["inputs"][s.split(".")[1]] for s in specs]

    assert at("prompt") == ["a paper boat on a river"]
    assert at("negative_prompt") == ["fog"]
    assert at("seed") == [1234]
    assert at("width") == [1280] and at("height") == [704 if workflow.size_multiple == 32 else 720]
    assert at("frames") == [121 if workflow.fps == 24 else 81]
    assert set(at("fps")) == {workflow.fps}
    if workflow.needs_image:
        assert at("image") == ["upload_1.png"]
    assert graph[workflow.output_node]["class_type"] == "SaveVideo"
    assert links(graph) == links(original)  # links untouched
    assert dict(workflow.nodes) == original  # the loaded graph is not mutated
    assert workflow.graph(request(prompt="other"), image) != graph  # and each call is fresh


def test_shipped_workflows_need_an_image_only_for_image_to_video() -> None:
    assert {name: shipped(name).needs_image for name in SHIPPED} == {
        "ltxv_i2v": True,
        "ltxv_t2v": False,
        "wan22_5b_t2v": False,
        "wan22_i2v": True,
    }
    with pytest.raises(WorkflowError, match=r"wan22_i2v.*image"):
        shipped("wan22_i2v").graph(request(), None)


def test_node_classes_are_the_graphs() -> None:
    assert shipped("wan22_5b_t2v").node_classes == {
        *("UNETLoader", "CLIPLoader", "VAELoader", "ModelSamplingSD3", "CLIPTextEncode"),
        *("Wan22ImageToVideoLatent", "KSampler", "VAEDecode", "CreateVideo", "SaveVideo"),
    }


def test_model_files_by_folder() -> None:
    assert model_files(shipped("wan22_5b_t2v")) == {
        "diffusion_models": ["wan2.2_ti2v_5B_fp16.safetensors"],
        "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors"],
        "vae": ["wan2.2_vae.safetensors"],
    }
    assert model_files(shipped("wan22_i2v")) == {
        "diffusion_models": [
            "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
            "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
        ],
        "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors"],
        "vae": ["wan_2.1_vae.safetensors"],
    }
    assert model_files(shipped("ltxv_i2v")) == {
        "checkpoints": ["ltx-video-2b-v0.9.5.safetensors"],
        "text_encoders": ["t5xxl_fp16.safetensors"],
    }


def test_no_seed_leaves_the_literal_and_no_negative_binds_empty() -> None:
    workflow = shipped("wan22_5b_t2v")
    graph = workflow.graph(request(seed=None, negative_prompt=None), None)
    assert graph["8"]["inputs"]["seed"] == workflow.nodes["8"]["inputs"]["seed"]
    assert graph["6"]["inputs"]["text"] == ""


def test_sizes_round_down_to_the_multiple_and_never_to_zero() -> None:
    wan = shipped("wan22_5b_t2v")
    assert wan.size(request(resolution="480p")) == (832, 480)
    assert wan.size(request(resolution="720p", aspect_ratio="9:16")) == (704, 1280)
    assert shipped("wan22_i2v").size(request(resolution="480p")) == (848, 480)
    tiny = load_workflow(
        "t",
        WORKFLOWS_DIR / "ltxv_t2v.json",
        SHIPPED["ltxv_t2v"]["bindings"],
        frame_rule="8k+1",
        fps=24,
        size_multiple=4096,
    )
    assert tiny.size(request(resolution="360p")) == (4096, 4096)


# ---- frame rules ----


@pytest.mark.parametrize(
    ("duration", "fps", "rule", "frames"),
    [
        (5, 16, "4k+1", 81),
        (5, 24, "4k+1", 121),
        (4, 16, "4k+1", 65),
        (1, 1, "4k+1", 1),
        (5, 24, "8k+1", 121),
        (4, 24, "8k+1", 97),
        (5, 25, "8k+1", 129),
        (2, 25, "8k+1", 57),
        (5, 16, "any", 80),
        (3, 10, "6k+3", 33),
    ],
)
def test_frame_rule(duration: int, fps: int, rule: str, frames: int) -> None:
    assert frame_count(duration, fps, rule) == frames


@pytest.mark.parametrize("rule", ["4k", "k+1", "0k+1", "4n+1", ""])
def test_malformed_frame_rule_is_refused(tmp_path: Path, rule: str) -> None:
    with pytest.raises(WorkflowError, match=r"workflow 'mine'.*frame_rule"):
        small(tmp_path, {"prompt": "1.text", "output": "3"}, frame_rule=rule)


# ---- errors name the node and the input ----


def test_missing_input_names_workflow_node_and_input(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError) as caught:
        small(tmp_path, {"prompt": "1.txt", "output": "3"})
    message = str(caught.value)
    assert "workflow 'mine'" in message and "node 1 (CLIPTextEncode)" in message and "'txt'" in message


def test_missing_node_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="binding seed: no node with id or title '99'"):
        small(tmp_path, {"prompt": "1.text", "seed": "99.seed", "output": "3"})


def test_a_link_is_never_a_target(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match=r"'clip' of node 1 .*never a link"):
        small(tmp_path, {"prompt": "1.clip", "output": "3"})


def test_unknown_field_and_missing_output_are_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="unknown binding field 'steps'"):
        small(tmp_path, {"prompt": "1.text", "steps": "1.text", "output": "3"})
    with pytest.raises(WorkflowError, match="bindings need 'output'"):
        small(tmp_path, {"prompt": "1.text"})
    with pytest.raises(WorkflowError, match="binding output: no node with id or title '7'"):
        small(tmp_path, {"prompt": "1.text", "output": "7"})
    with pytest.raises(WorkflowError, match=r'"<node>\.<input>"'):
        small(tmp_path, {"prompt": "text", "output": "3"})


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match=r"mine\.json is not valid JSON \(line 1"):
        small(tmp_path, {"prompt": "1.text", "output": "3"}, graph='{"1": {')
    with pytest.raises(WorkflowError, match="can't read"):
        load_workflow("mine", tmp_path / "absent.json", {}, frame_rule="any", fps=16)


def test_ui_format_is_refused_with_advice(tmp_path: Path) -> None:
    ui = {"last_node_id": 3, "nodes": [{"id": 1, "type": "CLIPTextEncode"}], "links": [], "version": 0.4}
    with pytest.raises(WorkflowError, match=r"UI workflow.*Save \(API format\)"):
        small(tmp_path, {"prompt": "1.text", "output": "3"}, graph=ui)
    with pytest.raises(WorkflowError, match="node 1 has no class_type"):
        small(tmp_path, {"prompt": "1.text", "output": "3"}, graph={"1": {"type": "x"}})


# ---- addressing by title ----


def test_nodes_can_be_named_by_title(tmp_path: Path) -> None:
    workflow = small(tmp_path, {"prompt": "Prompt.text", "output": "Save"})
    assert workflow.output_node == "3"
    assert workflow.graph(request(), None)["1"]["inputs"]["text"] == "a paper boat on a river"


def test_an_ambiguous_title_names_both_nodes(tmp_path: Path) -> None:
    graph = copy.deepcopy(SMALL)
    graph["2"]["_meta"]["title"] = "Prompt"
    with pytest.raises(WorkflowError, match="'Prompt' is on nodes 1 and 2"):
        small(tmp_path, {"prompt": "Prompt.text", "output": "3"}, graph=graph)


# ---- the operator's own workflow ----


def test_an_operators_override_workflow_with_its_own_bindings(tmp_path: Path) -> None:
    graph = {
        "10": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "", "clip": ["11", 0]},
            "_meta": {"title": "Say"},
        },
        "11": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5.safetensors", "type": "wan"}},
        "12": {"class_type": "MyLatent", "inputs": {"w": 64, "h": 64, "n": 1, "rate": 8.0}},
        "13": {"class_type": "MySampler", "inputs": {"latent": ["12", 0], "cond": ["10", 0], "noise": 7}},
        "14": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["13", 0], "frame_rate": 8}},
    }
    entry = tomllib.loads(
        """
        workflow = "mine.json"
        bindings = { prompt = "Say.text", seed = "13.noise", width = "12.w", height = "12.h", frames = "12.n", fps = ["12.rate", "14.frame_rate"], output = "14" }
        frame_rule = "8k+1"
        fps = 12
        size_multiple = 64
        """
    )
    path = write(tmp_path, graph, entry["workflow"])
    workflow = load_workflow(
        "my-model",
        path,
        entry["bindings"],
        frame_rule=entry["frame_rule"],
        fps=entry["fps"],
        size_multiple=entry["size_multiple"],
    )

    bound = workflow.graph(request(duration=3, resolution="480p", aspect_ratio="1:1", seed=99), None)

    assert bound["10"]["inputs"]["text"] == "a paper boat on a river"
    assert bound["13"]["inputs"] == {"latent": ["12", 0], "cond": ["10", 0], "noise": 99}
    assert bound["12"]["inputs"] == {"w": 448, "h": 448, "n": 41, "rate": 12}
    assert bound["14"]["inputs"]["frame_rate"] == 12
    assert workflow.output_node == "14" and not workflow.needs_image
    assert workflow.node_classes == {
        "CLIPTextEncode",
        "CLIPLoader",
        "MyLatent",
        "MySampler",
        "VHS_VideoCombine",
    }
    assert model_files(workflow) == {"text_encoders": ["umt5.safetensors"]}
