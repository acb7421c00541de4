"""Admission under a server's policy: its daily caps hold under concurrency (exactly the jobs that fit
are accepted) and come back with refunds; role tiers and the channel's limits apply; what the policy
decided is recorded on the job."""

from __future__ import annotations

import asyncio

from core.accounts.quotas import QuotaService
from core.errors import ErrorCategory
from core.jobs.intake import Admitted, Refusal
from core.jobs.views import Requester
from core.platform.clock import utc_day
from core.validation import GenerationParams
from models import DailySpend, Generation, ServerDailyUsage
from tests.core.jobs.conftest import make_services

GUILD, OTHER_GUILD, ADMIN, CHANNEL = 500, 600, 1, 9
PARAMS = GenerationParams(prompt="a fox", duration=4)


def member(
    user_id: int, guild: int = GUILD, roles=(), nsfw: bool = False, channel: int = CHANNEL
) -> Requester:
    return Requester(user_id, guild, channel, role_ids=tuple(roles), nsfw=nsfw)


def unlimited(tmp_path, clock, provider):
    quotas = QuotaService(daily_videos=0, daily_seconds=0, spend_cap_usd=0)
    return make_services(tmp_path, clock, {"gemini": provider}, quotas=quotas)


async def admit_many(jobs, count: int, guild: int = GUILD) -> list:
    return await asyncio.gather(*(jobs.intake.admit(PARAMS, member(1000 + i, guild)) for i in range(count)))


async def test_fifty_members_at_once_against_a_server_cap_of_seven_videos(db, tmp_path, clock, provider):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_server(GUILD, ADMIN, {"daily_videos": 7})
    outcomes = await admit_many(jobs, 50)
    admitted = [o for o in outcomes if isinstance(o, Admitted)]
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    assert len(admitted) == 7 and len(refused) == 43
    assert {r.category for r in refused} == {ErrorCategory.SERVER_QUOTA_EXCEEDED}
    assert "7 of the 7 videos its admins allow a day" in refused[0].detail
    assert await Generation.all().count() == 7
    assert (await admit_many(jobs, 3, OTHER_GUILD))[0].job  # another server is not affected


async def test_fifty_members_at_once_against_a_server_spend_cap(db, tmp_path, clock, provider):
    jobs = unlimited(tmp_path, clock, provider)
    cost = jobs.catalog.get("omni-1.2-flash").estimate_cost(4, "720p")
    await jobs.policy.set_server(GUILD, ADMIN, {"daily_spend_micro_usd": round(cost * 5.5 * 1_000_000)})
    outcomes = await admit_many(jobs, 50)
    assert sum(isinstance(o, Admitted) for o in outcomes) == 5
    spent = (await ServerDailyUsage.get(guild_id=GUILD)).micro_usd
    assert spent == round(cost * 1_000_000) * 5
    assert (await DailySpend.get(day=utc_day(clock.now()))).micro_usd == spent  # the global spend too


async def test_a_server_seconds_cap_names_what_is_left(db, tmp_path, clock, provider):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_server(GUILD, ADMIN, {"daily_seconds": 10})
    assert isinstance(await jobs.intake.admit(PARAMS, member(1)), Admitted)
    assert isinstance(await jobs.intake.admit(PARAMS, member(2)), Admitted)
    refused = await jobs.intake.admit(PARAMS, member(3))
    assert refused.category is ErrorCategory.SERVER_QUOTA_EXCEEDED
    assert refused.detail.startswith("a 4-second video needs more than the 2 of 10 video-seconds")


async def test_a_withdrawn_job_gives_the_server_its_video_seconds_and_spend_back(
    db, tmp_path, clock, provider
):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_server(GUILD, ADMIN, {"daily_videos": 1})
    first = await jobs.intake.admit(PARAMS, member(1))
    assert isinstance(await jobs.intake.admit(PARAMS, member(2)), Refusal)
    assert await jobs.intake.withdraw(first.job.id, "test")
    usage = await ServerDailyUsage.get(guild_id=GUILD)
    assert (usage.videos, usage.seconds, usage.micro_usd) == (0, 0, 0)
    assert isinstance(await jobs.intake.admit(PARAMS, member(2)), Admitted)


async def test_role_tiers_apply_and_the_users_own_override_wins(db, tmp_path, clock, provider):
    quotas = QuotaService(daily_videos=1, daily_seconds=0, spend_cap_usd=0)
    jobs = make_services(tmp_path, clock, {"gemini": provider}, quotas=quotas)
    await jobs.policy.set_role(GUILD, 77, ADMIN, {"daily_videos": 3})
    creator, newcomer = member(1, roles=[77]), member(2)
    results = [await jobs.intake.admit(PARAMS, creator) for _ in range(4)]
    assert [isinstance(r, Admitted) for r in results] == [True, True, True, False]
    assert isinstance(await jobs.intake.admit(PARAMS, newcomer), Admitted)
    assert (await jobs.intake.admit(PARAMS, newcomer)).category is ErrorCategory.USER_QUOTA_EXCEEDED
    await jobs.admin.set_quota(ADMIN, 1, videos=4, seconds=None)  # the override wins over the tier
    assert isinstance(await jobs.intake.admit(PARAMS, creator), Admitted)
    assert results[0].job.config["quota_tier"] == [3, None]  # for the "left today" line


async def test_what_the_policy_decided_is_recorded_on_the_job(db, tmp_path, clock, provider):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_server(GUILD, ADMIN, {"spoilers": True, "hide_blocked_prompts": True})
    cfg = (await jobs.intake.admit(PARAMS, member(1))).job.config
    assert cfg["spoiler"] is True and cfg["hide_blocked_prompt"] is True
    assert "spoiler" not in (await jobs.intake.admit(PARAMS, member(1, OTHER_GUILD))).job.config


async def test_the_channels_limits_shape_what_is_admitted(db, tmp_path, clock, provider):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_server(GUILD, ADMIN, {"max_duration": 8})
    await jobs.policy.set_channel(GUILD, CHANNEL, ADMIN, {"max_duration": 4}, nsfw=False)
    refused = await jobs.intake.admit(GenerationParams(prompt="a fox", duration=8), member(1))
    assert refused.detail == "duration: at most 4 s in this channel"
    chosen = await jobs.intake.admit(GenerationParams(prompt="a fox"), member(1))
    assert chosen.request.duration == 4  # the model's default (longer) lowered to what the channel allows
    elsewhere = await jobs.intake.admit(GenerationParams(prompt="a fox", duration=8), member(1, channel=10))
    assert isinstance(elsewhere, Admitted)
    assert await Generation.all().count() == 2


async def test_looser_safety_is_asked_for_only_while_the_channel_is_marked_nsfw(
    db, tmp_path, clock, provider
):
    jobs = unlimited(tmp_path, clock, provider)
    await jobs.policy.set_channel(GUILD, CHANNEL, ADMIN, {"permissive_safety": True}, nsfw=True)
    marked = await jobs.intake.admit(PARAMS, member(1, nsfw=True))
    unmarked = await jobs.intake.admit(PARAMS, member(1, nsfw=False))  # Discord's flag was taken off since
    assert marked.job.config.get("permissive_safety") is True
    assert "permissive_safety" not in unmarked.job.config
