"""The `demo` provider: renders a labelled test-pattern mp4 locally with PyAV. No key, no network, no cost.

Renders run on the shared media pool (`core.media.executor.run_media`), like every other encode; the small
file work (job records, copies, removals) runs in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ErrorCategory, GenerationError, invalid
from core.media.demo_render import check_renderer, render_demo_video, validate_render_args
from core.media.executor import run_media
from core.media.probe import probe_video
from core.providers._common import CANCEL_TIMEOUT, MP4_HEAD, check_mp4, too_large
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource

log = logging.getLogger(__name__)

MODEL_ID = "demo-renderer"  # the catalog's provider_model_id for the demo model
_JOB_ID = re.compile(r"demo-[0-9a-f]{32}")
_CHUNK = 1 << 20
_STOP_WAIT = CANCEL_TIMEOUT  # seconds to wait for a render thread to notice it was stopped


class _Stopped(Exception):
    """Raised from the frame callback to abort a render that was cancelled."""


@dataclass
class _Job:
    """One render in this process."""

    job_id: str
    started: float
    stop: threading.Event = field(default_factory=threading.Event)
    frames_done: int = 0
    frames_total: int = 0
    finished: bool = False
    error: BaseException | None = None
    task: asyncio.Task[None] | None = None


def _unknown(job_id: str, why: str = "") -> GenerationError:
    suffix = f" ({why})" if why else ""
    return GenerationError(ErrorCategory.UNKNOWN, f"the provider no longer knows job {job_id}{suffix}")


class DemoProvider:
    """Renders videos locally; a job takes `latency` seconds (by `clock`) but never less than the render."""

    name = "demo"
    label = "Demo (local render, not AI)"
    supports_cancel = True
    poll_interval = 1.0

    def __init__(
        self,
        work_dir: Path,
        latency: float = 8.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        render: Callable[..., None] = render_demo_video,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._work_dir = Path(work_dir)
        self._latency = max(0.0, float(latency))
        self._clock = clock
        self._wall_clock = wall_clock
        self._render = render
        self._jobs: dict[str, _Job] = {}

    # -- Provider interface -------------------------------------------------------------------

    async def submit(self, request: VideoRequest) -> str:
        """Record the request in work_dir and start rendering it in a worker thread."""
        try:
            width, height = request.size
            validate_render_args(request.duration, width, height)
        except (KeyError, ValueError) as exc:
            raise invalid(f"demo cannot render {request.resolution} {request.aspect_ratio}: {exc}") from exc
        job_id = f"demo-{uuid.uuid4().hex}"
        # The frames are kept with the job's record, so a restarted bot renders them too.
        first_frame = await self._keep(request.image, self._first_frame_path(job_id), "first frame")
        last_frame = await self._keep(request.last_frame, self._last_frame_path(job_id), "last frame")
        params = {
            "job_id": job_id,
            "prompt": request.prompt,
            "duration": request.duration,
            "width": width,
            "height": height,
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution,
            "seed": request.seed,
            "first_frame": str(first_frame) if first_frame is not None else None,
            "last_frame": str(last_frame) if last_frame is not None else None,
            "audio": request.audio,
            "created": self._wall_clock(),
        }
        try:
            await asyncio.to_thread(self._write_record, job_id, params)
        except OSError as exc:
            raise GenerationError(
                ErrorCategory.UNKNOWN, f"could not write the demo job record in {self._work_dir}: {exc}"
            ) from exc
        self._start(job_id, params)
        log.info("demo job %s started (%dx%d, %d s)", job_id, width, height, request.duration)
        return job_id

    async def poll(self, ref: JobRef) -> PollResult:
        """RUNNING with progress until the render is done and `latency` has passed, then SUCCEEDED."""
        job_id = _checked_id(ref.job_id)
        job = self._jobs.get(job_id)
        if job is None:
            return await self._resume(job_id)
        if job.error is not None:
            error = GenerationError(
                ErrorCategory.GENERATION_FAILED, f"demo render of {job_id} failed: {job.error}"
            )
            return PollResult(JobState.FAILED, error=error)
        elapsed = self._clock() - job.started
        if job.finished and elapsed >= self._latency:
            return await self._succeeded(job_id)
        return PollResult(JobState.RUNNING, progress=self._progress(job, elapsed))

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Copy the rendered mp4 to `dest` (at most `max_bytes`), then delete the work files."""
        job_id = _checked_id(ref.job_id)
        src = self._video_path(job_id)
        dest = Path(dest)
        if not await asyncio.to_thread(src.is_file):
            raise _unknown(job_id, "it has no rendered video")
        try:
            size = await asyncio.to_thread(_copy_video, src, dest, max_bytes)
        except GenerationError:
            await self._forget(job_id, dest)
            raise
        except OSError as exc:
            await self._forget(job_id, dest)
            raise GenerationError(
                ErrorCategory.UNKNOWN, f"could not copy demo video to {dest}: {exc}"
            ) from exc
        await self._forget(job_id)
        log.info("demo job %s fetched (%d bytes)", job_id, size)
        return size

    async def cancel(self, ref: JobRef) -> bool:
        """Stop the render, wait (at most ~10 s) for its thread to let go of the files, delete the work files."""
        job_id = _checked_id(ref.job_id)
        job = self._jobs.pop(job_id, None)
        if job is not None:
            await _stop(job)
        await asyncio.to_thread(self._remove_work_files, job_id)
        log.info("demo job %s cancelled", job_id)
        return True

    async def list_models(self) -> list[str] | None:
        """[MODEL_ID] once the local encoder and fonts check out (used by `doctor`)."""
        try:
            await asyncio.to_thread(check_renderer)
        except RuntimeError as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE, f"demo renderer unusable: {exc}"
            ) from exc
        return [MODEL_ID]

    async def aclose(self) -> None:
        """Stop pending renders; their records stay so a later process can resume them."""
        jobs = list(self._jobs.values())
        self._jobs.clear()
        for job in jobs:
            await _stop(job)

    # -- internals -----------------------------------------------------------------------------

    def _record_path(self, job_id: str) -> Path:
        return self._work_dir / f"{job_id}.json"

    def _first_frame_path(self, job_id: str) -> Path:
        return self._work_dir / f"{job_id}.first-frame"

    def _last_frame_path(self, job_id: str) -> Path:
        return self._work_dir / f"{job_id}.last-frame"

    async def _keep(self, image: bytes | None, path: Path, what: str) -> Path | None:
        """Write `image` to `path` (None when there is no image); GenerationError when that fails."""
        if image is None:
            return None
        try:
            await asyncio.to_thread(_write_bytes, path, image)
        except OSError as exc:
            raise GenerationError(
                ErrorCategory.UNKNOWN, f"could not keep the {what} in {self._work_dir}: {exc}"
            ) from exc
        return path

    def _video_path(self, job_id: str) -> Path:
        return self._work_dir / f"{job_id}.mp4"

    def _write_record(self, job_id: str, params: dict[str, Any]) -> None:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        path = self._record_path(job_id)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(json.dumps(params, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def _read_record(self, job_id: str) -> dict[str, Any] | None:
        try:
            params = json.loads(self._record_path(job_id).read_text(encoding="utf-8"))
            validate_render_args(params["duration"], params["width"], params["height"])
            if not isinstance(params["prompt"], str):
                raise TypeError("prompt is not a string")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("demo job record %s is unreadable: %s", job_id, exc)
            return None
        return params

    def _start(self, job_id: str, params: dict[str, Any]) -> _Job:
        job = _Job(job_id=job_id, started=self._clock())
        job.task = asyncio.create_task(self._run(job, params), name=f"demo render {job_id}")
        self._jobs[job_id] = job
        return job

    async def _run(self, job: _Job, params: dict[str, Any]) -> None:
        try:
            await run_media(self._render_blocking, job, params)
        except _Stopped:
            log.debug("demo render %s stopped", job.job_id)
        except asyncio.CancelledError:
            job.stop.set()
            raise
        except Exception as exc:
            job.error = exc
            log.warning("demo render %s failed: %s", job.job_id, exc)
            if self._jobs.get(job.job_id) is job:
                await asyncio.to_thread(self._remove_work_files, job.job_id)
        else:
            job.finished = True

    def _render_blocking(self, job: _Job, params: dict[str, Any]) -> None:
        def on_frame(done: int, total: int) -> None:
            if job.stop.is_set():
                raise _Stopped
            job.frames_done, job.frames_total = done, total

        if job.stop.is_set():
            raise _Stopped
        self._render(
            self._video_path(job.job_id),
            prompt=params["prompt"],
            duration=params["duration"],
            width=params["width"],
            height=params["height"],
            seed=params.get("seed"),
            first_frame=Path(params["first_frame"]) if params.get("first_frame") else None,
            last_frame=Path(params["last_frame"]) if params.get("last_frame") else None,
            audio=bool(params.get("audio", False)),  # records from before audio was offered were silent
            on_frame=on_frame,
        )

    def _progress(self, job: _Job, elapsed: float) -> float:
        by_time = elapsed / self._latency if self._latency > 0 else 1.0
        if job.finished:
            by_frames = 1.0
        elif job.frames_total:
            by_frames = job.frames_done / job.frames_total
        else:
            by_frames = 0.0
        return round(max(0.0, min(by_time, by_frames, 0.99)), 3)

    async def _succeeded(self, job_id: str) -> PollResult:
        path = self._video_path(job_id)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            raise _unknown(job_id, "its rendered video is gone") from None
        return PollResult(JobState.SUCCEEDED, progress=1.0, video=VideoSource(url=str(path), size_hint=size))

    async def _resume(self, job_id: str) -> PollResult:
        """After a restart: a finished video succeeds, a recorded job renders again, else unknown."""
        video = self._video_path(job_id)
        complete = await asyncio.to_thread(_is_complete_video, video)
        if job_id in self._jobs:  # a concurrent poll resumed it meanwhile
            return await self.poll(JobRef(job_id, "demo"))
        params = await asyncio.to_thread(self._read_record, job_id)
        if complete:
            # The video is rendered; the job still takes `latency` seconds from its submission.
            elapsed = self._wall_clock() - float((params or {}).get("created", 0.0))
            if elapsed < self._latency:
                return PollResult(JobState.RUNNING, progress=min(0.99, elapsed / self._latency))
            return await self._succeeded(job_id)
        if params is None:
            raise _unknown(job_id)
        await asyncio.to_thread(video.unlink, missing_ok=True)
        self._start(job_id, params)
        log.info("demo job %s resumed: rendering again from its record", job_id)
        return PollResult(JobState.RUNNING, progress=0.0)

    async def _forget(self, job_id: str, *also: Path) -> None:
        """Drop the job and remove its work files (and `also`, e.g. a partial copy) off the loop."""
        self._jobs.pop(job_id, None)
        await asyncio.to_thread(self._remove_work_files, job_id, *also)

    def _remove_work_files(self, job_id: str, *also: Path) -> None:
        for path in (
            self._video_path(job_id),
            self._record_path(job_id),
            self._first_frame_path(job_id),
            self._last_frame_path(job_id),
            *also,
        ):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove demo work file %s: %s", path, exc)


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _checked_id(job_id: str) -> str:
    """The id if it is one of ours (so it is safe in a file name), else GenerationError unknown."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise _unknown(repr(job_id), "not a demo job id")
    return job_id


async def _stop(job: _Job) -> None:
    """Ask the render thread to stop and wait until it has."""
    job.stop.set()
    if job.task is None:
        return
    _, pending = await asyncio.wait({job.task}, timeout=_STOP_WAIT)
    if pending:
        log.warning("demo render %s did not stop within %.0f s; abandoning it", job.job_id, _STOP_WAIT)


def _is_complete_video(path: Path) -> bool:
    """True when `path` is a readable video with a positive duration."""
    if not path.is_file():
        return False
    try:
        return probe_video(path).duration > 0
    except GenerationError:
        return False


def _copy_video(src: Path, dest: Path, max_bytes: int) -> int:
    """Copy src to dest in chunks, refusing non-mp4 data and anything over max_bytes."""
    with src.open("rb") as source:
        head = source.read(MP4_HEAD)
        check_mp4(head, "the demo render")
        if os.fstat(source.fileno()).st_size > max_bytes:
            raise too_large(max_bytes)
        written = 0
        with dest.open("wb") as out:
            out.write(head)
            written += len(head)
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise too_large(max_bytes)
                out.write(chunk)
    return written
