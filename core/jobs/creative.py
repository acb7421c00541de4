"""Making a new job from a finished one: Extend (continue the clip) and Remix (the same job, edited).

Both are admissions like any other — validated, charged to whoever asks, refunded if they fail — and
are linked to their source (`Lineage`). An extension records in its config how its result is assembled:

- `extends`: the job it continues; `total_seconds`: the clip's length once joined;
- `join_after`: the source's video, which the runner puts before the new seconds (not for an API that
  returns the whole clip); `drop_first_frame` would cut the new clip's first frame (kept: see extend);
- `extend_video_path`: the clip a native extension sends to the provider.

Each path has its storage key beside it (`join_after_key`, `extend_video_key`: the source's video key), so
a worker on another host fetches the clip from storage (STORAGE_URL) instead of reading the path.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.catalog import ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.jobs import store
from core.jobs.intake import Admitted, Intake, Refusal
from core.jobs.requests import params_again
from core.jobs.views import JobStatus, JobView, Lineage, Requester
from core.media.frames import last_frame_png
from core.storage import local_copy

EXTENSION_KEYS = (
    "extends",
    "total_seconds",
    "join_after",
    "join_after_key",
    "drop_first_frame",
    "extend_video_path",
    "extend_video_key",
)


def clip_seconds(job: JobView) -> int:
    """How long the job's whole clip is: an extension's joined length, else its own duration."""
    return int(job.config.get("total_seconds") or job.config.get("duration") or job.video_seconds)


def extension_refusal(job: JobView, spec: ModelSpec | None) -> str | None:
    """Why this job's clip cannot be extended, or None when it can (what the Extend button checks)."""
    if spec is None or not spec.can_extend:
        return f"{job.model} cannot extend clips."
    if job.status is not JobStatus.COMPLETED or not job.video_path or job.deleted:
        return f"Job #{job.id} has no finished clip to extend."
    if _step(job, spec) is None:
        return (
            f"This clip is {clip_seconds(job)} s; {spec.name} extends clips up to {spec.extension_max_s} s."
        )
    return None


def _step(job: JobView, spec: ModelSpec, wanted: int | None = None) -> int | None:
    """The seconds to add: `wanted`, else the source's own length where allowed, else the model's
    default, else the longest step that fits; None when none fits under the longest clip."""
    room = spec.extension_max_s - clip_seconds(job)
    fitting = [s for s in spec.extension_steps if s <= room]
    if not fitting:
        return None
    if wanted is not None:
        return wanted if wanted in fitting else None
    for choice in (job.config.get("duration"), spec.default_duration):
        if choice in fitting:
            return choice
    return fitting[-1]


class Creative:
    """Extend and Remix, for any front end."""

    def __init__(self, intake: Intake, new_seed) -> None:
        self.intake = intake
        self._new_seed = new_seed

    async def extend(self, job_id: int, requester: Requester, prompt: str) -> Admitted | Refusal:
        """A child job that continues the clip (the prompt steers it), charged to `requester`."""
        job = await store.find(job_id)
        if job is None:
            return Refusal(ErrorCategory.INVALID_REQUEST, f"Job #{job_id} does not exist.")
        spec = self.intake.catalog.get(job.model)
        if (why := extension_refusal(job, spec)) is not None:
            return Refusal(ErrorCategory.INVALID_REQUEST, why)
        assert spec is not None
        step = _step(job, spec)
        assert step is not None and job.video_path is not None
        native = spec.extension == "native"
        storage = self.intake.storage
        try:
            source = await local_copy(storage, job.video_key, job.video_path)
            assert source is not None
            params = await params_again(prompt, job.model, job.config, seed=self._seed(spec), storage=storage)
            if native:
                params = dataclasses.replace(params, image=None, image_mime_type=None)
            else:  # a new clip that opens on the source's closing frame
                params = dataclasses.replace(
                    params, image=await last_frame_png(source), image_mime_type="image/png"
                )
        except (OSError, ValueError) as exc:
            return Refusal(ErrorCategory.INVALID_REQUEST, f"The clip of job #{job_id} can't be read: {exc}")
        except GenerationError as exc:
            return Refusal.of(exc)
        params = dataclasses.replace(
            params, duration=step, last_frame=None, last_frame_mime_type=None, loop=False
        )
        extra: dict[str, Any] = {"extends": job_id, "total_seconds": clip_seconds(job) + step}
        if native:
            extra.update(extend_video_path=str(source), extend_video_key=job.video_key)
        if not native or spec.extension_output == "continuation":
            # The new clip's opening frame repeats the source's closing one; it is kept (a hold of one
            # frame) so that the lengths add up exactly, extension after extension.
            extra.update(join_after=str(source), join_after_key=job.video_key)
            extra["drop_first_frame"] = False
        return await self.intake.admit(params, requester, parent=Lineage(job_id, "extend"), extra=extra)

    async def remix(
        self,
        job_id: int,
        requester: Requester,
        *,
        prompt: str,
        negative_prompt: str | None,
        duration: int | None,
        seed: int | None,
    ) -> Admitted | Refusal:
        """The same model, image and aspect ratio with these values (None seed: a new one)."""
        job = await store.find(job_id)
        if job is None:
            return Refusal(ErrorCategory.INVALID_REQUEST, f"Job #{job_id} does not exist.")
        spec = self.intake.catalog.get(job.model)
        seed = seed if seed is not None else self._seed(spec)
        try:
            params = await params_again(prompt, job.model, job.config, seed=seed, storage=self.intake.storage)
        except GenerationError as exc:
            return Refusal.of(exc)
        params = dataclasses.replace(params, negative_prompt=negative_prompt or None, duration=duration)
        extra = None
        if "extends" in job.config:  # a remix of an extension extends the same clip, its own way
            before = clip_seconds(job) - int(job.config["duration"])
            extra = {k: job.config[k] for k in EXTENSION_KEYS if k in job.config}
            step = duration or int(job.config["duration"])
            extra["total_seconds"] = before + step
            if spec is not None and step not in spec.extension_steps:
                allowed = ", ".join(str(s) for s in spec.extension_steps)
                return Refusal(
                    ErrorCategory.INVALID_REQUEST,
                    f"duration: {spec.name} extends a clip by {allowed} s at a time",
                )
            if spec is not None and extra["total_seconds"] > spec.extension_max_s:
                return Refusal(
                    ErrorCategory.INVALID_REQUEST,
                    f"duration: the clip would be {extra['total_seconds']} s; {spec.name} extends clips up to"
                    f" {spec.extension_max_s} s",
                )
        return await self.intake.admit(params, requester, parent=Lineage(job_id, "remix"), extra=extra)

    def _seed(self, spec: ModelSpec | None) -> int | None:
        return self._new_seed() if spec is not None and spec.seed else None
