"""Which workflow runs a request: the catalog entry's `workflow`, or its `image_workflow` when the request has
a first frame. Every comfyui entry's workflows are loaded once, when the provider is built."""

from __future__ import annotations

from core.catalog import Catalog, ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest
from core.providers.comfyui.workflow import Workflow, load_workflow


def load_model_workflows(spec: ModelSpec) -> tuple[Workflow, Workflow | None]:
    """(text-to-video workflow, first-frame workflow or None) of a comfyui catalog entry."""
    assert spec.workflow is not None, f"{spec.name} is not a comfyui model"
    shape = {"frame_rule": spec.frame_rule, "fps": spec.fps, "size_multiple": spec.size_multiple}
    main = load_workflow(spec.name, spec.workflow, spec.bindings, **shape)
    image = (
        load_workflow(f"{spec.name} (image)", spec.image_workflow, spec.image_bindings, **shape)
        if spec.image_workflow
        else None
    )
    return main, image


class WorkflowChooser:
    """`workflow_for` of ComfyUIProvider: the request's model's workflow (the image one for a first frame)."""

    def __init__(self, catalog: Catalog) -> None:
        self.by_model = {
            spec.name: load_model_workflows(spec)
            for spec in catalog.models.values()
            if spec.provider == "comfyui"
        }

    def __call__(self, request: VideoRequest) -> Workflow:
        """The workflow to bind `request` into."""
        found = self.by_model.get(request.model.name)
        if found is None:
            raise GenerationError(
                ErrorCategory.MODEL_UNAVAILABLE,
                f"{request.model.name} has no ComfyUI workflow in the catalog",
            )
        main, image = found
        return image if request.image is not None and image is not None else main

    def all(self) -> list[Workflow]:
        """Every loaded workflow (for doctor)."""
        return [w for pair in self.by_model.values() for w in pair if w is not None]
