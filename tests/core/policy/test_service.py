"""Changing a server's policy: every value is checked before it is written (the error names the field
and nothing changes); where and who may use /video; edits apply at once in this process."""

from __future__ import annotations

import re

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory
from core.jobs.views import Requester
from core.policy.service import PolicyError, PolicyService
from models import ChannelSettings, RoleSettings, ServerSettings

GUILD, ADMIN = 100, 7
LAB, GENERAL = 11, 12


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def service(clock=None, allow_dms: bool = True) -> PolicyService:
    return PolicyService(
        load_catalog(), default_model="demo", allow_dms=allow_dms, monotonic=clock or Clock()
    )


async def rows() -> tuple:
    return (
        await ServerSettings.all().values(),
        await ChannelSettings.all().values(),
        await RoleSettings.all().values(),
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"default_model": "nope"}, "default_model: unknown model 'nope'"),
        ({"allowed_models": ["demo", "nope"]}, "allowed_models: unknown model 'nope'"),
        ({"allowed_models": []}, "allowed_models: name at least one model"),
        ({"allowed_models": ["veo-3.1"]}, "default_model: 'demo' is not among the allowed models"),
        ({"max_duration": 0}, "max_duration: at least 1 second"),
        ({"max_duration": 2, "default_model": "veo-3.1"}, "max_duration: the default model veo-3.1 makes"),
        ({"max_resolution": "8k"}, "max_resolution: '8k' is not a resolution any model makes"),
        (
            {"max_resolution": "360p", "default_model": "veo-3.1"},
            "max_resolution: the default model veo-3.1 makes nothing at or below 360p",
        ),
        ({"max_variants": 9}, "max_variants: between 1 and 4"),
        ({"daily_videos": -1}, "daily_videos: must be 0 (no cap) or more"),
        ({"daily_spend_micro_usd": -5}, "daily_spend_usd: must be 0 (no cap) or more"),
    ],
)
async def test_a_bad_server_value_is_refused_naming_the_field_and_nothing_changes(db, changes, message):
    policies = service()
    await policies.set_server(GUILD, ADMIN, {"spoilers": True})
    before = await rows()
    with pytest.raises(PolicyError) as err:
        await policies.set_server(GUILD, ADMIN, changes)
    assert str(err.value).startswith(message), str(err.value)
    assert await rows() == before


async def test_server_values_are_stored_and_cleared(db):
    policies = service()
    got = await policies.set_server(
        GUILD, ADMIN, {"default_model": "veo-3.1", "allowed_models": ["demo", "veo-3.1"], "max_duration": 6}
    )
    assert got.server.limits.default_model == "veo-3.1" and got.server.limits.max_duration == 6
    assert got.server.allowed_models == {"demo", "veo-3.1"}
    got = await policies.set_server(GUILD, ADMIN, {"max_duration": None, "allowed_models": None})
    assert got.server.limits.max_duration is None and got.server.allowed_models is None
    assert got.server.limits.default_model == "veo-3.1"  # left out: unchanged


async def test_a_channel_may_have_looser_safety_only_if_discord_marks_it_nsfw(db):
    policies = service()
    with pytest.raises(PolicyError) as err:
        await policies.set_channel(GUILD, LAB, ADMIN, {"permissive_safety": True}, nsfw=False)
    assert str(err.value).startswith("nsfw_safety: only a channel marked age-restricted")
    assert await ChannelSettings.all().count() == 0
    got = await policies.set_channel(GUILD, LAB, ADMIN, {"permissive_safety": True}, nsfw=True)
    assert got.channels[LAB].permissive_safety


async def test_a_channels_default_must_be_an_allowed_model_and_fit_its_limits(db):
    policies = service()
    await policies.set_server(GUILD, ADMIN, {"allowed_models": ["demo", "veo-3.1"]})
    with pytest.raises(PolicyError, match="default_model: 'fal-kling-3' is not among the allowed models"):
        await policies.set_channel(GUILD, LAB, ADMIN, {"default_model": "fal-kling-3"}, nsfw=False)
    await policies.set_channel(GUILD, LAB, ADMIN, {"default_model": "veo-3.1"}, nsfw=False)
    with pytest.raises(PolicyError, match=re.escape("max_duration: the default model veo-3.1")):
        await policies.set_channel(GUILD, LAB, ADMIN, {"max_duration": 3}, nsfw=False)
    with pytest.raises(
        PolicyError, match=re.escape(f"<#{LAB}>'s default model 'veo-3.1' would not be allowed")
    ):
        await policies.set_server(GUILD, ADMIN, {"allowed_models": ["demo"]})
    assert await policies.reset_channel(GUILD, LAB, ADMIN)
    assert LAB not in (await policies.of(GUILD)).channels


async def test_role_quota_tiers_are_zero_or_more_and_a_role_with_nothing_set_goes(db):
    policies = service()
    with pytest.raises(PolicyError, match=re.escape("daily_videos: must be 0")):
        await policies.set_role(GUILD, 5, ADMIN, {"daily_videos": -1})
    got = await policies.set_role(GUILD, 5, ADMIN, {"allowed": True})
    assert got.allowed_roles == {5}
    got = await policies.set_role(GUILD, 5, ADMIN, {"daily_videos": 10, "daily_seconds": None})
    assert got.roles[5].daily_videos == 10 and got.roles[5].allowed
    await policies.set_role(GUILD, 5, ADMIN, {"allowed": False, "daily_videos": None})
    assert await RoleSettings.all().count() == 0


def member(channel=GENERAL, parent=None, roles=(), guild=GUILD) -> Requester:
    return Requester(1, guild, channel, parent, role_ids=tuple(roles))


async def test_who_and_where_refusals(db):
    policies = service()
    assert policies.refusal(await policies.of(GUILD), member()) is None
    await policies.set_role(GUILD, 5, ADMIN, {"allowed": True})
    await policies.set_server(GUILD, ADMIN, {"threads": False})
    p = await policies.of(GUILD)
    wrong = policies.refusal(p, member(roles=[6]))
    assert wrong.category is ErrorCategory.ROLE_REQUIRED and "<@&5>" in wrong.detail
    assert policies.refusal(p, member(roles=[6, 5])) is None
    in_thread = policies.refusal(p, member(channel=99, parent=GENERAL, roles=[5]))
    assert in_thread.category is ErrorCategory.WRONG_CHANNEL and "not made in threads" in in_thread.detail
    dms = service(allow_dms=False)
    assert (
        dms.refusal(await dms.of(None), member(guild=None, channel=None)).category
        is ErrorCategory.WRONG_CHANNEL
    )


async def test_an_edit_applies_at_once_here_and_within_the_cache_time_elsewhere(db):
    clock = Clock()
    here, elsewhere = service(clock), service(clock)
    assert (await elsewhere.of(GUILD)).server.limits.max_duration is None  # cached there
    await here.set_server(GUILD, ADMIN, {"max_duration": 6})
    assert (await here.of(GUILD)).server.limits.max_duration == 6
    assert (await elsewhere.of(GUILD)).server.limits.max_duration is None
    clock.t += 31
    assert (await elsewhere.of(GUILD)).server.limits.max_duration == 6
