"""The catalog's comfyui fields: find each entry's workflow files and load them through `load_workflow`, so
a wrong binding fails at start naming the entry, the node id and the input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.providers.comfyui.workflow import WORKFLOWS_DIR, WorkflowError, load_workflow

COMFYUI_FIELDS = (
    "workflow",
    "bindings",
    "image_workflow",
    "image_bindings",
    "frame_rule",
    "fps",
    "size_multiple",
)


def workflow_fields(
    name: str,
    e: dict,
    provider: str,
    image_input: bool,
    folder: Path | None,
    fail: Callable[[str, str], Exception],
) -> dict[str, Any]:
    """A comfyui entry's workflow fields, each workflow loaded once so that a wrong binding fails at start
    naming the entry, the node and the input; {} for other providers (which may not set them)."""
    if provider != "comfyui":
        for key in COMFYUI_FIELDS:
            if key in e:
                raise fail(key, "is for comfyui models only")
        return {}
    frame_rule, fps, multiple = e.get("frame_rule", "any"), e.get("fps", 24), e.get("size_multiple", 32)
    found: dict[str, Any] = {"frame_rule": frame_rule, "fps": fps, "size_multiple": multiple}
    for file_key, bind_key in (("workflow", "bindings"), ("image_workflow", "image_bindings")):
        if file_key not in e:
            if file_key == "workflow":
                raise fail("workflow", "is required for a comfyui model (an API-format workflow file)")
            if bind_key in e:
                raise fail(bind_key, "needs image_workflow")
            continue
        file = e[file_key]
        if not isinstance(file, str) or not file:
            raise fail(file_key, f"must be a file name, got {file!r}")
        path = _workflow_path(file, folder)
        if path is None:
            where = f"{folder} or {WORKFLOWS_DIR}" if folder else str(WORKFLOWS_DIR)
            raise fail(file_key, f"{file!r} is not in {where}")
        bindings = e.get(bind_key)
        if not isinstance(bindings, dict):
            raise fail(bind_key, 'is required: a table of field = "<node>.<input>"')
        try:
            loaded = load_workflow(
                file, path, bindings, frame_rule=frame_rule, fps=fps, size_multiple=multiple
            )
        except WorkflowError as exc:
            raise fail(bind_key, str(exc)) from None
        if file_key == "image_workflow" and not loaded.needs_image:
            raise fail("image_bindings", "needs an image binding (the first frame's LoadImage input)")
        if loaded.needs_image and not image_input:
            raise fail("image_input", f"must be true: {file} binds a first-frame image")
        found[file_key], found[bind_key] = str(path), dict(bindings)
        if file_key == "workflow":
            found["image_required"] = loaded.needs_image
    if found.get("image_required") and "image_workflow" in e:
        raise fail("image_workflow", "the workflow already takes the image")
    return found


def _workflow_path(file: str, folder: Path | None) -> Path | None:
    """`file` next to the catalog in use, else among the shipped workflows; None when in neither."""
    for base in (folder, WORKFLOWS_DIR):
        if base is not None and (base / file).is_file():
            return base / file
    return None
