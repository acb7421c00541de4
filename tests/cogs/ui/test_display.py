"""A job's progress message: brief last stages never hold back the final edit."""

from __future__ import annotations

from types import SimpleNamespace

from cogs.ui.display import BRIEF_STAGE_GRACE, Tracked
from core.jobs.views import JobView
from tests.cogs.conftest import seed_job
from tests.fakes.clock import ManualClock, settle


class RecordingMessage:
    message_id = 1

    def __init__(self) -> None:
        self.edits: list[str] = []

    async def edit(self, files_factory=None, **fields) -> None:
        self.edits.append(fields["embed"].fields[-1].value if fields["embed"].fields else "")


async def tracked_job(edit_interval: float) -> tuple[Tracked, RecordingMessage, ManualClock]:
    job = JobView.of(await seed_job(1, status="processing"))
    message = RecordingMessage()
    clock = ManualClock()
    display = SimpleNamespace(clock=clock, edit_spacing=edit_interval, edit_sent=lambda message_id: None)
    return Tracked(display, job, message), message, clock


async def test_a_quick_download_is_never_shown_and_the_final_edit_need_not_wait(db):
    tracked, message, clock = await tracked_job(edit_interval=3.0)
    tracked.progress(50, "Generating frames")
    await settle()
    await clock.advance(4.0)  # the last progress edit is an EDIT_INTERVAL old
    tracked.progress(90, "Downloading")
    await clock.advance(0.5)  # shorter than BRIEF_STAGE_GRACE
    tracked.progress(100, "Complete")
    assert await tracked.close() == 0, "the final edit may go out at once"
    assert len(message.edits) == 1 and "Generating frames" in message.edits[0]


async def test_a_download_that_lasts_is_shown(db):
    tracked, message, clock = await tracked_job(edit_interval=0)
    tracked.progress(90, "Downloading")
    await clock.advance(BRIEF_STAGE_GRACE + 0.2)
    await tracked.close()
    assert len(message.edits) == 1 and "Downloading" in message.edits[0]
