"""A provider that files jobs under an id we choose (NamesJobs, e.g. ComfyUI's prompt_id): the id is stored
with the submit mark, and a crash between submit and storing the confirmation is resolved by asking for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from core.errors import ErrorCategory, GenerationError
from core.jobs.views import Requester
from core.providers.base import NamesJobs, VideoRequest
from core.validation import GenerationParams
from models import DailyUsage, Generation, GenerationStatus
from tests.core.jobs.conftest import make_services
from tests.fakes.scripted_provider import ScriptedProvider

ALICE = Requester(user_id=42, guild_id=1, channel_id=2)
PARAMS = GenerationParams(prompt="a paper boat on a river", duration=6)


@dataclass
class NamingProvider(ScriptedProvider):
    """ScriptedProvider that files each job under the id it is given; `known` are the ids it has."""

    known: set = field(default_factory=set)
    finds: list = field(default_factory=list)  # answers of find_job: GenerationError to raise; else `known`
    asked: list = field(default_factory=list)
    submitted_ids: list = field(default_factory=list)
    rows_at_submit: list = field(default_factory=list)

    def new_job_id(self, request: VideoRequest) -> str:
        return f"chosen-{len(self.submitted_ids) + len(self.asked) + 1}"

    async def submit_as(self, request: VideoRequest, job_id: str) -> str:
        row = await Generation.filter(submit_started_at__isnull=False).values_list(
            "provider_chosen_id", flat=True
        )
        self.rows_at_submit.append(list(row))
        self.submitted.append(request)
        self.submitted_ids.append(job_id)
        self.known.add(job_id)
        return f"{job_id}@server"

    async def find_job(self, job_id: str) -> str | None:
        self.asked.append(job_id)
        if self.finds:
            answer = self.finds.pop(0)
            if isinstance(answer, GenerationError):
                raise answer
        return f"{job_id}@server" if job_id in self.known else None


@pytest.fixture
def naming() -> NamingProvider:
    return NamingProvider(name="gemini")


@pytest.fixture
def jobs(tmp_path, clock, naming):
    return make_services(tmp_path, clock, {"gemini": naming})


async def crashed_mid_submit(jobs, chosen: str) -> Generation:
    """A job whose run marked the submit (with our chosen id) and died before storing the confirmation."""
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    await Generation.filter(id=gen.id).update(
        status=GenerationStatus.PROCESSING,
        submit_started_at=dt.datetime.now(dt.UTC),
        provider_chosen_id=chosen,
    )
    return gen


def test_the_comfyui_provider_names_its_jobs():
    from core.providers.comfyui import ComfyUIProvider

    assert isinstance(ComfyUIProvider(["http://127.0.0.1:1"], {}, lambda _r: None), NamesJobs)
    assert not isinstance(ScriptedProvider(), NamesJobs)


async def test_the_chosen_id_is_stored_with_the_submit_mark_before_the_submit(db, jobs, naming):
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success"
    assert naming.submitted_ids == ["chosen-1"] and naming.rows_at_submit == [["chosen-1"]]
    gen = await Generation.get(id=result.generation_id)
    assert gen.provider_chosen_id == "chosen-1" and gen.provider_job_id == "chosen-1@server"
    assert naming.polled[0] == "chosen-1@server"


async def test_a_crash_after_the_provider_got_it_resumes_by_polling_the_chosen_id(db, jobs, naming):
    naming.known.add("chosen-7")
    gen = await crashed_mid_submit(jobs, "chosen-7")
    result = await jobs.runner.run_job(gen.id)
    assert result.status == "success" and result.operation_id == "chosen-7@server"
    assert naming.submitted == [] and naming.asked == ["chosen-7"]
    assert naming.polled[0] == "chosen-7@server"


async def test_a_crash_before_the_provider_got_it_submits_again_under_the_same_id_once(db, jobs, naming):
    gen = await crashed_mid_submit(jobs, "chosen-7")
    result = await jobs.runner.run_job(gen.id)
    assert result.status == "success"
    assert naming.asked == ["chosen-7"] and naming.submitted_ids == ["chosen-7"]
    again = await jobs.runner.run_job(gen.id)  # finished: nothing more happens
    assert again.status == "success" and naming.submitted_ids == ["chosen-7"]


async def test_when_the_provider_cant_tell_the_job_fails_refunded_and_is_not_submitted(
    db, jobs, naming, clock
):
    down = GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "server down", retryable=True)
    naming.finds = [down] * 10
    gen = await crashed_mid_submit(jobs, "chosen-7")
    result = await jobs.runner.run_job(gen.id)
    assert result.error_type == "provider_unavailable" and "server down" in result.error_detail
    assert naming.submitted == [] and len(naming.asked) == 4
    assert result.refunded
    usage = await DailyUsage.get(user_id=42)
    assert (usage.videos, usage.seconds) == (0, 0)


async def test_a_passing_outage_while_asking_is_retried(db, jobs, naming):
    naming.known.add("chosen-7")
    naming.finds = [GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "blip", retryable=True)]
    gen = await crashed_mid_submit(jobs, "chosen-7")
    result = await jobs.runner.run_job(gen.id)
    assert result.status == "success" and naming.submitted == [] and len(naming.asked) == 2


async def test_a_provider_without_chosen_ids_still_never_resubmits(db, tmp_path, clock):
    plain = ScriptedProvider(name="gemini")
    jobs = make_services(tmp_path, clock, {"gemini": plain})
    gen = await crashed_mid_submit(jobs, "chosen-7")  # even with an id recorded: the provider can't be asked
    result = await jobs.runner.run_job(gen.id)
    assert result.error_type == "provider_unavailable" and "not submitting again" in result.error_detail
    assert plain.submitted == []


class Wrapper:
    """A wrapper like the metrics' one: its own submit(request), everything else forwarded."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def submit(self, request: VideoRequest) -> str:
        return await self._inner.submit(request)


async def test_a_wrapped_provider_still_submits_under_the_chosen_id(db, tmp_path, clock, naming):
    jobs = make_services(tmp_path, clock, {"gemini": Wrapper(naming)})
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success" and naming.submitted_ids == ["chosen-1"]
