"""ComfyUI workflows as data: an API-format graph plus the bindings that put a request into it.

The workflow file
-----------------
What ComfyUI's "Save (API format)" writes (Workflow → Export (API) in the current frontend): one
JSON object keyed by node id, ``{"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "...",
"clip": ["4", 1]}, "_meta": {"title": "Positive Prompt"}}, ...}``. An input is either a literal
(string, number, boolean) or a link ``["<node id>", <output slot>]``. The UI's own "Save" writes a
different format (``"nodes"`` and ``"links"`` arrays) that the server can't run; it is refused at load.

Bindings
--------
A catalog entry says where each request field goes, as ``field = "<node>.<input>"`` where
``<node>`` is a node id or a node's unique ``_meta.title``; a field may also name a list of
targets (e.g. the frame rate on ``LTXVConditioning`` and on ``CreateVideo``). Fields:

=================  ==============================================================================
prompt             the prompt text (required)
negative_prompt    the negative prompt; ``""`` when the request has none
seed               the request's seed; left as the file's literal when the request has none
width, height      ``request.size`` rounded DOWN to ``size_multiple`` (never below one multiple):
                   720p 16:9 -> 1280x704, 480p 16:9 -> 832x480 with 32 (Wan's and LTX's sizes)
frames             the smallest count >= duration x fps that satisfies ``frame_rule``
fps                the workflow's ``fps``
image              the first frame's file name on the server, after ``POST /upload/image``;
                   a workflow with this binding needs an image in every request
output             the id (or title) of the output node, e.g. ``SaveVideo``: no input part
=================  ==============================================================================

A binding only ever replaces a literal input, never a link. Everything is checked at load, and a
:class:`WorkflowError` names the workflow, the node and the input that's wrong.

``frame_rule``: ``"4k+1"`` (Wan: its VAE packs 4 frames per latent step after the first),
``"8k+1"`` (LTX-Video: 8 per step), any ``"<n>k+<r>"``, or ``"any"``.

Shipped workflows (``workflows/``), only core ComfyUI nodes, saved through ``CreateVideo`` and
``SaveVideo``; their catalog entries (``comfy-wan-2.2-5b``, ``comfy-wan-2.2-i2v``, ``comfy-ltx-video``
in core/catalog.toml) hold the bindings as a ``[models."<name>".bindings]`` sub-table. Model files
are those of the official ComfyUI examples, in folders under ComfyUI's ``models/``:

- ``wan22_5b_t2v.json`` — Wan 2.2 TI2V 5B, text to video, 4k+1 frames at 24 fps, sizes by 32:
  diffusion_models/wan2.2_ti2v_5B_fp16.safetensors, text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors,
  vae/wan2.2_vae.safetensors. 24 fps: the 5B model is trained for 720p at 24 fps and its example renders
  121 frames (5 s + 1); 16 fps is Wan 2.1's and the 14B models' rate and makes its motion look sped up.
- ``wan22_i2v.json`` — Wan 2.2 I2V A14B, image to video (a high-noise expert for steps 0-10, a low-noise
  one after), 4k+1 frames at 16 fps, sizes by 16 (WanImageToVideo's step):
  diffusion_models/wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors and
  wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors (the fp16 files work too: change the names),
  text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors, vae/wan_2.1_vae.safetensors.
- ``ltxv_t2v.json`` / ``ltxv_i2v.json`` — LTX-Video 2B 0.9.5, text / image to video, 8k+1 frames at
  24 fps, sizes by 32: checkpoints/ltx-video-2b-v0.9.5.safetensors (model and VAE),
  text_encoders/t5xxl_fp16.safetensors. ``fps`` binds two inputs there (a list of targets).

An operator's own workflow: save it with "Save (API format)", drop the JSON next to an override
catalog entry, and write that entry's bindings the same way (ids or titles from the file).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

WORKFLOWS_DIR = Path(__file__).with_name("workflows")

FIELDS = ("prompt", "negative_prompt", "seed", "width", "height", "frames", "fps", "image", "output")
REQUIRED_FIELDS = ("prompt", "output")

# loader class -> (input naming a file, folder under ComfyUI's models/), for `doctor`
LOADER_FOLDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "UNETLoader": (("unet_name", "diffusion_models"),),
    "CLIPLoader": (("clip_name", "text_encoders"),),
    "DualCLIPLoader": (("clip_name1", "text_encoders"), ("clip_name2", "text_encoders")),
    "VAELoader": (("vae_name", "vae"),),
    "CheckpointLoaderSimple": (("ckpt_name", "checkpoints"),),
    "CLIPVisionLoader": (("clip_name", "clip_vision"),),
    "LoraLoader": (("lora_name", "loras"),),
    "LoraLoaderModelOnly": (("lora_name", "loras"),),
}

_RULE = re.compile(r"^(\d+)k\+(\d+)$")


class VideoRequest(Protocol):
    """What binding reads of a request (core.providers.base.VideoRequest; not imported, so that the
    catalog can validate workflows without importing the providers' base)."""

    prompt: str
    negative_prompt: str | None
    seed: int | None
    duration: int

    @property
    def size(self) -> tuple[int, int]:
        """Pixel (width, height)."""
        ...


class WorkflowError(ValueError):
    """A workflow file or its bindings are wrong; the message names the workflow, node and input."""


@dataclass(frozen=True)
class Target:
    """One literal input of one node."""

    node: str
    input: str


@dataclass(frozen=True)
class Workflow:
    """A loaded, validated workflow: bind a request with :meth:`graph`."""

    name: str
    node_classes: frozenset[str]
    needs_image: bool
    output_node: str = ""
    fps: int = 24
    frame_rule: str = "any"
    size_multiple: int = 32
    nodes: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    targets: Mapping[str, tuple[Target, ...]] = field(default_factory=dict, repr=False, compare=False)

    def frames(self, duration: int) -> int:
        """The frame count for ``duration`` seconds at this workflow's fps and frame rule."""
        return frame_count(duration, self.fps, self.frame_rule)

    def size(self, request: VideoRequest) -> tuple[int, int]:
        """The request's (width, height) rounded down to this workflow's multiple."""
        width, height = request.size
        return snap(width, self.size_multiple), snap(height, self.size_multiple)

    def graph(self, request: VideoRequest, image_name: str | None) -> dict:
        """A deep copy of the graph with the request's values in the bound literal inputs."""
        if self.needs_image and not image_name:
            raise WorkflowError(f"workflow {self.name!r} needs a first-frame image")
        width, height = self.size(request)
        values: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or "",
            "width": width,
            "height": height,
            "frames": self.frames(request.duration),
            "fps": self.fps,
            "image": image_name,
        }
        if request.seed is not None:
            values["seed"] = request.seed
        graph = copy.deepcopy(dict(self.nodes))
        for name, targets in self.targets.items():
            if name not in values:
                continue
            for target in targets:
                graph[target.node]["inputs"][target.input] = values[name]
        return graph


def frame_count(duration: float, fps: int, rule: str) -> int:
    """The smallest frame count >= duration x fps that satisfies ``rule`` ("4k+1", "8k+1", "any")."""
    step, rest = _parse_rule(rule)
    wanted = max(1, math.ceil(duration * fps))
    if step == 0:
        return wanted
    frames = step * max(0, math.ceil((wanted - rest) / step)) + rest
    return frames if frames >= 1 else frames + step


def snap(pixels: int, multiple: int) -> int:
    """``pixels`` rounded down to ``multiple``, never below one multiple."""
    return max(multiple, pixels // multiple * multiple)


def model_files(workflow: Workflow) -> dict[str, list[str]]:
    """The model files the graph's loader nodes name, by folder: {"vae": ["wan2.2_vae.safetensors"]}."""
    found: dict[str, set[str]] = {}
    for node in workflow.nodes.values():
        for input_name, folder in LOADER_FOLDERS.get(node["class_type"], ()):
            value = node["inputs"].get(input_name)
            if isinstance(value, str) and value:
                found.setdefault(folder, set()).add(value)
    return {folder: sorted(names) for folder, names in sorted(found.items())}


def load_workflow(
    name: str,
    path: str | Path,
    bindings: Mapping[str, Any],
    *,
    frame_rule: str,
    fps: int,
    size_multiple: int = 32,
) -> Workflow:
    """Read an API-format workflow and check its bindings; raise WorkflowError naming what's wrong."""
    where = f"workflow {name!r}"
    nodes = _read_graph(where, Path(path))
    try:
        _parse_rule(frame_rule)
    except ValueError as exc:
        raise WorkflowError(f"{where}: {exc}") from None
    for key, value in (("fps", fps), ("size_multiple", size_multiple)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise WorkflowError(f"{where}: {key} must be a positive whole number, not {value!r}")
    if not isinstance(bindings, Mapping):
        raise WorkflowError(f"{where}: bindings must be a table of field = target")
    unknown = sorted(set(bindings) - set(FIELDS))
    if unknown:
        raise WorkflowError(f"{where}: unknown binding field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    for required in REQUIRED_FIELDS:
        if required not in bindings:
            raise WorkflowError(f"{where}: bindings need {required!r}")
    targets: dict[str, tuple[Target, ...]] = {}
    output = ""
    for key, spec in bindings.items():
        if key == "output":
            if not isinstance(spec, str):
                raise WorkflowError(f"{where}: output must name one node, not {spec!r}")
            output = _node_id(where, nodes, spec, "output")
            continue
        specs = [spec] if isinstance(spec, str) else spec
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            raise WorkflowError(f'{where}: binding {key} must be "<node>.<input>" or a list of them')
        targets[key] = tuple(_target(where, nodes, key, s) for s in specs)
    return Workflow(
        name=name,
        node_classes=frozenset(node["class_type"] for node in nodes.values()),
        needs_image="image" in targets,
        output_node=output,
        fps=fps,
        frame_rule=frame_rule,
        size_multiple=size_multiple,
        nodes=nodes,
        targets=targets,
    )


def _parse_rule(rule: str) -> tuple[int, int]:
    if rule == "any":
        return 0, 0
    match = _RULE.match(rule.replace(" ", "")) if isinstance(rule, str) else None
    if not match or int(match.group(1)) < 1:
        raise ValueError(f'frame_rule must be "any" or like "4k+1", not {rule!r}')
    return int(match.group(1)), int(match.group(2))


def _read_graph(where: str, path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"{where}: can't read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            f"{where}: {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        raise WorkflowError(
            f'{where}: {path} is a UI workflow (it has "nodes" and "links"), which the server '
            'can\'t run; in ComfyUI use "Save (API format)" (Workflow menu → Export (API)) instead'
        )
    if not isinstance(data, dict) or not data:
        raise WorkflowError(f"{where}: {path} is not an API-format graph (an object of nodes)")
    for node_id, node in data.items():
        if (
            not isinstance(node, dict)
            or not isinstance(node.get("class_type"), str)
            or not isinstance(node.get("inputs"), dict)
        ):
            raise WorkflowError(
                f"{where}: {path}: node {node_id} has no class_type and inputs; "
                'save the workflow with "Save (API format)"'
            )
    return data


def _node_id(where: str, nodes: Mapping[str, Any], ref: str, key: str) -> str:
    if ref in nodes:
        return ref
    ids = [i for i, node in nodes.items() if (node.get("_meta") or {}).get("title") == ref]
    if not ids:
        raise WorkflowError(f"{where}: binding {key}: no node with id or title {ref!r}")
    if len(ids) > 1:
        raise WorkflowError(
            f"{where}: binding {key}: the title {ref!r} is on nodes {' and '.join(ids)}; "
            "use a node id or make the titles unique"
        )
    return ids[0]


def _target(where: str, nodes: Mapping[str, Any], key: str, spec: str) -> Target:
    ref, dot, input_name = spec.rpartition(".")
    if not dot or not ref or not input_name:
        raise WorkflowError(f'{where}: binding {key} = {spec!r} must be "<node>.<input>"')
    node_id = _node_id(where, nodes, ref, key)
    node = nodes[node_id]
    inputs = node["inputs"]
    if input_name not in inputs:
        raise WorkflowError(
            f"{where}: binding {key}: node {node_id} ({node['class_type']}) has no input "
            f"{input_name!r} (it has {', '.join(sorted(inputs)) or 'none'})"
        )
    if _is_link(inputs[input_name]):
        raise WorkflowError(
            f"{where}: binding {key}: input {input_name!r} of node {node_id} "
            f"({node['class_type']}) is a link to node {inputs[input_name][0]}; a binding only "
            "ever replaces a literal input, never a link"
        )
    return Target(node_id, input_name)


def _is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )
