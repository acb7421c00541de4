"""/forget: take a user's data back — their prompts, settings, input images and videos — and keep only
the accounting that quotas and spend caps need (each job's status, seconds, estimated cost and day).

Unfinished jobs are cancelled first (refunded as any cancel is), so no result arrives afterwards. Files
are deleted from storage (STORAGE_URL: the video and the first and last frame images, by their keys) and
from this host's OUTPUT_DIR (those, the fitted copies and partial downloads; another host's cache keeps
its copies until retention); the job rows are scrubbed by `transitions.forget`; the user's presets go. What the user's jobs
showed in Discord is returned so the front end can edit those messages.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from core.jobs import store, transitions
from core.jobs.actions import Actor, JobActions
from core.jobs.views import DeliveryTarget, JobView
from core.platform.clock import Clock
from core.storage import Storage
from models import Preset

log = logging.getLogger(__name__)

FILE_KEYS = ("image_path", "last_frame_path")  # a job's own inputs (an extension's source is not its own)
STORAGE_KEYS = ("image_key", "last_frame_key")  # the same inputs' keys in storage


@dataclass(frozen=True)
class Forgotten:
    """What /forget removed, and the messages that showed the user's jobs (to be edited)."""

    jobs: int
    files: int  # local files and stored objects removed
    cancelled: int
    presets: int
    messages: tuple[tuple[JobView, DeliveryTarget], ...]


class ForgetService:
    """Removes one user's content; the accounting stays."""

    def __init__(self, actions: JobActions, clock: Clock, storage: Storage | None = None) -> None:
        self.storage = storage
        self.actions = actions
        self.clock = clock

    async def forget(self, user_id: int, by: int) -> Forgotten:
        """Forget `user_id`'s content (asked by `by`: the user, or an admin)."""
        jobs = await store.of_user(user_id)
        cancelled = 0
        for job in jobs:
            if not job.finished:
                outcome = await self.actions.cancel(job.id, Actor(by, is_admin=True))
                cancelled += outcome.ok
        jobs = await store.of_user(user_id)  # as they ended
        files = sum(await asyncio.gather(*(asyncio.to_thread(_remove_files, job) for job in jobs)))
        stored = sum([await self._remove_stored(job) for job in jobs])
        scrubbed = await transitions.forget([j.id for j in jobs], self.clock.now())
        presets = await Preset.filter(user_id=user_id).delete()
        shown = tuple((j, j.target) for j in jobs if j.target is not None and not j.deleted)
        log.info(
            "user %s's data forgotten (asked by %s): %d jobs scrubbed, %d files, %d cancelled, %d presets",
            user_id, by, scrubbed, files, cancelled, presets,
        )  # fmt: skip
        return Forgotten(scrubbed, files + stored, cancelled, presets, shown)

    async def _remove_stored(self, job: JobView) -> int:
        """Delete the job's own objects from storage (for the local folder: files already gone above)."""
        if self.storage is None or not self.storage.remote:
            return 0
        keys = [job.config[k] for k in STORAGE_KEYS if job.config.get(k)]
        keys += [job.video_key] if job.video_key else []
        removed = 0
        for key in keys:
            try:
                removed += await self.storage.delete(key)
            except OSError as exc:  # the row is scrubbed anyway: retention removes it later
                log.warning("job %s: could not remove %s from storage: %s", job.id, key, exc)
        return removed


def _remove_files(job: JobView) -> int:
    """Delete the job's own files; how many there were."""
    paths = [Path(job.config[key]) for key in FILE_KEYS if job.config.get(key)]
    if job.video_path:
        video = Path(job.video_path)
        paths.append(video)
        paths += video.parent.glob(f"{_glob_safe(video.stem)}.*")  # fitted copies, partial downloads
    removed = 0
    for path in set(paths):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("job %s: could not remove %s: %s", job.id, path, exc)
    return removed


def _glob_safe(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
