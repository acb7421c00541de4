"""Precedence: a channel's value, else the server's, else the global one; quotas: the user's override,
else the highest tier of their roles, else the default. Pure values, no database."""

from __future__ import annotations

import pytest

from core.accounts.quotas import QuotaService
from core.policy.rules import (
    ChannelRules,
    GuildPolicy,
    Limits,
    RoleRule,
    ServerCaps,
    ServerRules,
    Tier,
    effective,
    highest,
)
from models import User

GLOBAL = Limits(default_model="demo")
LAB, GENERAL, THREAD = 11, 12, 13
GLOBAL_NONE = Limits()


def policy(server: Limits = GLOBAL_NONE, **channels: Limits) -> GuildPolicy:
    ids = {"lab": LAB, "general": GENERAL}
    return GuildPolicy(
        server=ServerRules(limits=server),
        channels={ids[name]: ChannelRules(limits) for name, limits in channels.items()},
    )


@pytest.mark.parametrize(
    ("server", "channel", "expected", "source"),
    [
        (Limits(), Limits(), Limits(default_model="demo"), {}),
        (Limits(max_duration=8), Limits(), Limits("demo", 8), {"max_duration": "this server"}),
        (Limits(max_duration=8), Limits(max_duration=4), Limits("demo", 4), {"max_duration": "this channel"}),
        (Limits(max_duration=4), Limits(max_duration=8), Limits("demo", 8), {"max_duration": "this channel"}),
        (
            Limits(default_model="veo-3.1", max_resolution="1080p"),
            Limits(max_resolution="720p"),
            Limits("veo-3.1", None, "720p"),
            {"default_model": "this server", "max_resolution": "this channel"},
        ),
        (
            Limits(default_model="veo-3.1"),
            Limits(default_model="fal-kling-3", max_variants=1),
            Limits("fal-kling-3", None, None, 1),
            {"default_model": "this channel", "max_variants": "this channel"},
        ),
    ],
)
def test_a_channel_wins_over_its_server_which_wins_over_the_bot(server, channel, expected, source):
    got = effective(policy(server, general=channel), GLOBAL, channel_id=GENERAL)
    assert got.limits == expected
    assert got.sources == source


def test_other_channels_and_threads_follow_their_own_scope():
    p = policy(Limits(max_duration=8), general=Limits(max_duration=4))
    assert effective(p, GLOBAL, channel_id=LAB).limits.max_duration == 8  # no settings: the server's
    in_thread = effective(p, GLOBAL, channel_id=THREAD, parent_id=GENERAL)
    assert in_thread.limits.max_duration == 4  # a thread takes its channel's


def test_in_dms_only_the_global_policy_applies():
    got = effective(GuildPolicy(), GLOBAL, channel_id=None)
    assert got.limits == GLOBAL and got.caps == ServerCaps() and got.tier == Tier()


def test_looser_safety_only_while_the_channel_is_marked_nsfw():
    p = GuildPolicy(channels={LAB: ChannelRules(permissive_safety=True)})
    assert effective(p, GLOBAL, channel_id=LAB, nsfw=True).permissive_safety
    assert not effective(p, GLOBAL, channel_id=LAB, nsfw=False).permissive_safety  # never the reverse
    assert not effective(p, GLOBAL, channel_id=GENERAL, nsfw=True).permissive_safety


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([None, None], None), ([3, 10, 5], 10), ([3, 0, 5], 0), ([None, 2], 2)],
)
def test_the_most_generous_limit_wins_and_zero_is_unlimited(values, expected):
    assert highest(values) == expected


ROLES = {
    1: RoleRule(daily_videos=2, daily_seconds=20),
    2: RoleRule(daily_videos=10),
    3: RoleRule(daily_seconds=0),
}


@pytest.mark.parametrize(
    ("member_roles", "tier"),
    [
        ((), Tier()),
        ((99,), Tier()),  # a role with no tier
        ((1,), Tier(2, 20)),
        ((1, 2), Tier(10, 20)),  # each limit from the most generous role
        ((1, 3), Tier(2, 0)),
        ((1, 2, 3), Tier(10, 0)),
    ],
)
def test_a_member_gets_the_highest_tier_of_their_roles(member_roles, tier):
    assert GuildPolicy(roles=ROLES).tier(member_roles) == tier


@pytest.mark.parametrize(
    ("override", "tier", "limits"),
    [
        ((None, None), Tier(), (5, 60)),  # the defaults
        ((None, None), Tier(10, None), (10, 60)),  # the role tier, limit by limit
        ((1, None), Tier(10, 100), (1, 100)),  # the user's own override wins over the tier
        ((0, 0), Tier(2, 2), (0, 0)),  # ... also when it is "unlimited"
    ],
)
def test_the_users_own_override_wins_over_every_role(override, tier, limits):
    quotas = QuotaService(daily_videos=5, daily_seconds=60, spend_cap_usd=0)
    got = quotas.limits_for(User(id=1, daily_videos=override[0], daily_seconds=override[1]), tier)
    assert (got.videos, got.seconds) == limits
