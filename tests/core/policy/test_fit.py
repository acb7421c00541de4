"""A request under a server's limits: defaults chosen within them, choices above them refused with the
option and who set the limit named, disallowed models refused."""

from __future__ import annotations

import pytest

from core.catalog import load_catalog
from core.errors import GenerationError
from core.policy.fit import fit, model_name
from core.policy.rules import GuildPolicy, Limits, ServerRules, effective
from core.validation import GenerationParams

CATALOG = load_catalog()
VEO = CATALOG.get("veo-3.1")  # 4/6/8 s (default 8), 720p/1080p/4k (default 720p)


def under(server: Limits | None = None, allowed=None):
    rules = ServerRules(limits=server or Limits(), allowed_models=frozenset(allowed) if allowed else None)
    return effective(GuildPolicy(server=rules), Limits(default_model="demo"), channel_id=1)


def params(**kw) -> GenerationParams:
    return GenerationParams(prompt="a fox", **kw)


def test_left_out_values_are_chosen_within_the_limits():
    got = fit(params(), VEO, under(Limits(max_duration=6)))
    assert got.duration == 6 and got.model == "veo-3.1"
    got = fit(params(), VEO, under(Limits(max_duration=5)))
    assert got.duration == 4


def test_a_chosen_value_above_a_limit_is_refused_not_lowered():
    with pytest.raises(GenerationError) as err:
        fit(params(duration=8), VEO, under(Limits(max_duration=6)))
    assert err.value.detail == "duration: at most 6 s in this server"
    with pytest.raises(GenerationError) as err:
        fit(params(resolution="1080p"), VEO, under(Limits(max_resolution="720p")))
    assert err.value.detail == "resolution: at most 720p in this server"
    with pytest.raises(GenerationError) as err:
        fit(params(variants=3), VEO, under(Limits(max_variants=2)))
    assert err.value.detail == "variants: at most 2 in this server"


def test_values_within_the_limits_pass_unchanged():
    got = fit(params(duration=4, resolution="720p", variants=2), VEO, under(Limits(6, None, "1080p", 2)))
    assert (got.duration, got.resolution, got.variants) == (4, "720p", 2)


def test_a_model_that_cannot_fit_the_limit_is_named():
    with pytest.raises(GenerationError) as err:
        fit(params(), VEO, under(Limits(max_duration=3)))
    assert "veo-3.1 makes videos of at least 4 s" in err.value.detail
    with pytest.raises(GenerationError) as err:
        fit(params(), VEO, under(Limits(max_resolution="480p")))
    assert "makes nothing below 720p" in err.value.detail


def test_only_allowed_models_and_the_servers_default():
    policy = under(Limits(default_model="veo-3.1"), allowed=["veo-3.1", "demo"])
    assert model_name(params(), policy, "demo") == "veo-3.1"  # the server's default
    assert model_name(params(model="demo"), policy, "demo") == "demo"
    with pytest.raises(GenerationError) as err:
        model_name(params(model="fal-kling-3"), policy, "demo")
    assert err.value.detail == "model: 'fal-kling-3' is not allowed on this server; allowed: demo, veo-3.1"
