"""`doctor`'s ComfyUI checks: for each server, whether it answers and its version (`/system_stats`), and per
catalog workflow the node classes it lacks (`/object_info`) and the model files it lacks (`/models/{folder}`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.catalog import Catalog
from core.errors import GenerationError
from core.providers.comfyui import ComfyUIProvider
from core.providers.comfyui.chooser import WorkflowChooser
from core.providers.comfyui.workflow import Workflow, model_files

Line = Callable[[bool | str | None, str, str], None]


async def check_comfyui(provider: ComfyUIProvider, catalog: Catalog, line: Line, limit: float) -> bool:
    """Print one line per server and per workflow problem; True when every server can run every workflow."""
    workflows = WorkflowChooser(catalog).all()
    try:
        reports = await asyncio.wait_for(provider.check_servers(workflows), limit)
    except TimeoutError:
        line(False, "provider comfyui", f"no answer in {limit:.0f}s")
        return False
    ok = True
    for report in reports:
        name = f"comfyui {report.url}"
        if not report.reachable:
            line(False, name, f"not reachable: {report.error}")
            ok = False
            continue
        line(True, name, f"reachable, ComfyUI {report.version or '(version not reported)'}")
        for workflow in workflows:
            missing = sorted(set(report.missing_nodes) & workflow.node_classes)
            if missing:
                line(False, f"{name} {workflow.name}", f"missing node classes: {', '.join(missing)}")
                ok = False
            absent = await _missing_files(provider, report.url, workflow, limit)
            if absent:
                line(False, f"{name} {workflow.name}", f"missing model files: {', '.join(absent)}")
                ok = False
    return ok


async def _missing_files(
    provider: ComfyUIProvider, server: str, workflow: Workflow, limit: float
) -> list[str]:
    """`folder/file` for each model file the workflow's loaders name that the server doesn't list."""
    absent = []
    for folder, files in model_files(workflow).items():
        try:
            have = await asyncio.wait_for(provider.model_files(server, folder), limit)
        except (GenerationError, TimeoutError):
            return [f"{folder}/ (could not list)"]
        absent += [f"{folder}/{f}" for f in files if have is None or f not in have]
    return absent
