"""Presets: saving (name rules, the cap, validation against the model), listing, deleting, the default, and
how a preset fills in a /video request (precedence, the suffix, validation again when used)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from core.accounts.presets import PresetService, join_suffix
from core.catalog import Catalog
from core.errors import ErrorCategory, GenerationError
from core.jobs.intake import Admitted, Refusal
from core.jobs.views import Requester
from core.validation import GenerationParams
from models import Preset
from tests.core.jobs.conftest import CATALOG, make_services
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_provider import ScriptedProvider

ALICE = Requester(user_id=101, guild_id=5, channel_id=6)
BOB = Requester(user_id=202)
FULL = dict(model="demo", duration=2, aspect_ratio="9:16", resolution="360p", suffix="cinematic lighting")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # 2026-12-01 12:00 UTC: omni-1.1-flash retires on 2026-12-03


@pytest.fixture
def providers() -> dict:
    return {"demo": ScriptedProvider(name="demo"), "gemini": ScriptedProvider(name="gemini")}


@pytest.fixture
def services(db, tmp_path, clock, providers):
    return make_services(tmp_path, clock, providers, default_model="demo")


@pytest.fixture
def presets(services) -> PresetService:
    return services.presets


async def refused(call) -> GenerationError:
    """The error `call` raises; the presets table is the same before and after."""
    before = await Preset.all().order_by("id").values()
    with pytest.raises(GenerationError) as info:
        await call
    assert await Preset.all().order_by("id").values() == before
    return info.value


def ask(prompt: str = "a fox", **options) -> GenerationParams:
    return GenerationParams(prompt=prompt, **options)


# ---- save, replace, list ---------------------------------------------------------------------------


async def test_a_saved_preset_is_listed_with_its_values_normalised(presets):
    saved = await presets.save(ALICE.user_id, "Portrait", **{**FULL, "resolution": " 360P "})
    assert not saved.replaced
    [listed] = await presets.presets(ALICE.user_id)
    assert listed == saved.preset
    assert (listed.name, listed.model, listed.duration, listed.aspect_ratio, listed.resolution) == (
        "Portrait",
        "demo",
        2,
        "9:16",
        "360p",
    )
    assert listed.suffix == "cinematic lighting" and not listed.is_default
    assert listed.summary() == "demo · 2 s · 9:16 · 360p · suffix: cinematic lighting"


async def test_saving_an_existing_name_in_any_case_replaces_it(presets):
    await presets.save(ALICE.user_id, "wide", **FULL)
    saved = await presets.save(ALICE.user_id, "WIDE", aspect_ratio="21:9")
    assert saved.replaced
    [only] = await presets.presets(ALICE.user_id)
    assert (only.name, only.aspect_ratio, only.model, only.suffix) == ("WIDE", "21:9", None, None)


async def test_presets_are_per_user(presets):
    await presets.save(ALICE.user_id, "mine", duration=6)
    assert await presets.presets(BOB.user_id) == []
    refusal = await presets.resolve(ask(), BOB, "mine")
    assert isinstance(refusal, Refusal) and "preset: you have no preset called 'mine'" in refusal.detail


@pytest.mark.parametrize("name", ["", "   ", "two words", "x" * 33, "émigré", "a/b", "semi;colon"])
async def test_a_name_outside_the_rule_is_refused_naming_the_field(presets, name):
    error = await refused(presets.save(ALICE.user_id, name, duration=4))
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert error.detail == "name: a preset name is 1-32 characters: letters, digits, - and _"


async def test_names_at_the_edges_of_the_rule_are_accepted(presets):
    for name in ("a", "x" * 32, "Night_city-2"):
        await presets.save(ALICE.user_id, name, duration=4)
    assert [p.name for p in await presets.presets(ALICE.user_id)] == ["a", "Night_city-2", "x" * 32]


async def test_the_cap_refuses_one_more_but_allows_replacing(services):
    presets = PresetService(services.intake, max_presets=3)
    for name in ("a", "b", "c"):
        await presets.save(ALICE.user_id, name, duration=4)
    error = await refused(presets.save(ALICE.user_id, "d", duration=4))
    assert error.detail.startswith("name: you already have 3 presets, the most allowed")
    assert (await presets.save(ALICE.user_id, "B", duration=6)).replaced
    await presets.save(BOB.user_id, "d", duration=4)  # the cap is per user


async def test_concurrent_saves_for_the_last_place_never_exceed_the_cap(services):
    presets = PresetService(services.intake, max_presets=3)
    await presets.save(ALICE.user_id, "a", duration=4)
    outcomes = await asyncio.gather(
        *(presets.save(ALICE.user_id, f"n{i}", duration=4) for i in range(6)), return_exceptions=True
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) <= 2
    assert await Preset.filter(user_id=ALICE.user_id).count() <= 3


# ---- validation on save ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "starts"),
    [
        ({"model": "sora-9"}, "model: unknown model 'sora-9'. Available models: demo,"),
        ({"model": "demo", "duration": 3}, "duration: 3 s is not offered by demo; allowed: 2, 4, 6, 8, 10 s"),
        ({"model": "omni-1.2-flash", "aspect_ratio": "1:1"}, "aspect_ratio: '1:1' is not offered by omni"),
        (
            {"model": "demo", "resolution": "4k"},
            "resolution: '4k' is not offered by demo; allowed: 360p, 720p",
        ),
        (
            {"model": "demo", "negative_prompt": "blur"},
            "negative_prompt: demo does not take a negative prompt",
        ),
        ({"resolution": "1080p"}, "resolution: '1080p' is not offered by demo"),  # no model: the default's
        ({"suffix": "x" * 501}, "suffix: 501 characters is too long; at most 500"),
        ({}, "options: a preset needs at least one of model, duration"),
        ({"suffix": "  \n "}, "options: a preset needs at least one of model, duration"),
    ],
)
async def test_a_preset_the_model_cannot_do_is_refused_naming_the_field(presets, options, starts):
    error = await refused(presets.save(ALICE.user_id, "p", **options))
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert error.detail.startswith(starts), error.detail


async def test_a_retired_model_is_refused_on_save_naming_its_replacement(presets, clock):
    clock.advance(2 * 86400)  # 2026-12-03: omni-1.1-flash retired
    error = await refused(presets.save(ALICE.user_id, "old", model="omni-1.1-flash"))
    assert error.category is ErrorCategory.MODEL_UNAVAILABLE
    assert "use 'omni-1.2-flash' instead" in error.detail


async def test_a_model_whose_provider_is_not_configured_is_refused_on_save(db, tmp_path, clock):
    presets = make_services(tmp_path, clock, {"demo": ScriptedProvider()}, default_model="demo").presets
    error = await refused(presets.save(ALICE.user_id, "veo", model="veo-3.1"))
    assert error.category is ErrorCategory.MODEL_UNAVAILABLE and "vertex provider" in error.detail


# ---- delete and the default ------------------------------------------------------------------------


async def test_delete_removes_one_preset_and_a_missing_name_is_refused(presets):
    await presets.save(ALICE.user_id, "keep", duration=4)
    await presets.save(ALICE.user_id, "drop", duration=6)
    assert (await presets.delete(ALICE.user_id, "DROP")).name == "drop"
    assert [p.name for p in await presets.presets(ALICE.user_id)] == ["keep"]
    error = await refused(presets.delete(ALICE.user_id, "drop"))
    assert error.detail == "name: you have no preset called 'drop'; your presets: keep"


async def test_one_default_at_a_time_and_none_clears_it(presets):
    for name in ("a", "b"):
        await presets.save(ALICE.user_id, name, duration=4)
    assert (await presets.set_default(ALICE.user_id, "A")).is_default
    await presets.set_default(ALICE.user_id, "b")
    assert [(p.name, p.is_default) for p in await presets.presets(ALICE.user_id)] == [
        ("a", False),
        ("b", True),
    ]
    assert await presets.set_default(ALICE.user_id, None) is None
    assert not any(p.is_default for p in await presets.presets(ALICE.user_id))


async def test_a_missing_default_name_is_refused_and_keeps_the_default(presets):
    await presets.save(ALICE.user_id, "a", duration=4)
    await presets.set_default(ALICE.user_id, "a")
    error = await refused(presets.set_default(ALICE.user_id, "zzz"))
    assert error.detail.startswith("name: you have no preset called 'zzz'")


async def test_deleting_the_default_leaves_no_default_and_replacing_it_keeps_it(presets):
    await presets.save(ALICE.user_id, "a", duration=4)
    await presets.set_default(ALICE.user_id, "a")
    assert (await presets.save(ALICE.user_id, "a", duration=6)).preset.is_default
    assert (await presets.delete(ALICE.user_id, "a")).is_default
    assert await presets.resolve(ask(), ALICE) == ask()


# ---- using a preset: precedence, suffix, validation again --------------------------------------------


async def test_a_named_preset_fills_every_option_the_command_leaves_out(presets):
    await presets.save(ALICE.user_id, "p", **FULL)
    resolved = await presets.resolve(ask("a fox", duration=6), ALICE, "P")
    assert resolved == ask(
        "a fox, cinematic lighting", model="demo", duration=6, aspect_ratio="9:16", resolution="360p"
    )


async def test_the_default_preset_applies_when_the_command_names_none(presets):
    await presets.save(ALICE.user_id, "d", aspect_ratio="1:1")
    assert await presets.resolve(ask(), ALICE) == ask()  # saved, but not the default yet
    await presets.set_default(ALICE.user_id, "d")
    assert await presets.resolve(ask(), ALICE) == ask(aspect_ratio="1:1")
    assert await presets.resolve(ask(aspect_ratio="4:3"), ALICE) == ask(aspect_ratio="4:3")


async def test_a_named_preset_takes_the_defaults_place_and_the_catalog_fills_the_rest(presets, services):
    await presets.save(ALICE.user_id, "d", aspect_ratio="1:1", duration=8)
    await presets.set_default(ALICE.user_id, "d")
    await presets.save(ALICE.user_id, "n", resolution="360p")
    resolved = await presets.resolve(ask(), ALICE, "n")
    assert resolved == ask(resolution="360p")  # not the default's 1:1 or 8 s...
    request = services.intake.validate(resolved)
    assert (request.aspect_ratio, request.duration) == ("16:9", 4)  # ...but demo's own defaults


@pytest.mark.parametrize(
    ("prompt", "suffix", "joined"),
    [
        ("a fox", "cinematic", "a fox, cinematic"),
        ("a fox.", "cinematic", "a fox. cinematic"),
        ("a fox, ", "cinematic", "a fox, cinematic"),
        ("a fox", None, "a fox"),
    ],
)
def test_the_suffix_follows_a_comma_or_the_prompts_own_punctuation(prompt, suffix, joined):
    assert join_suffix(prompt, suffix) == joined


async def test_a_suffix_saved_with_a_leading_comma_is_not_doubled(presets):
    await presets.save(ALICE.user_id, "s", suffix=", 35mm film")
    assert (await presets.resolve(ask("a fox"), ALICE, "s")).prompt == "a fox, 35mm film"


async def test_a_preset_whose_model_retired_is_refused_naming_the_preset(presets, clock):
    await presets.save(ALICE.user_id, "old", model="omni-1.1-flash", duration=8)
    clock.advance(2 * 86400)
    refusal = await presets.resolve(ask(), ALICE, "old")
    assert isinstance(refusal, Refusal) and refusal.category is ErrorCategory.MODEL_UNAVAILABLE
    assert refusal.detail.startswith("preset 'old': model: 'omni-1.1-flash' was retired on 2026-12-03")
    assert "use 'omni-1.2-flash' instead" in refusal.detail


async def test_a_default_preset_whose_model_left_the_catalog_is_refused_naming_it(
    presets, tmp_path, clock, providers
):
    await presets.save(ALICE.user_id, "omni", model="omni-1.2-flash")
    await presets.set_default(ALICE.user_id, "omni")
    smaller = Catalog({k: v for k, v in CATALOG.models.items() if k != "omni-1.2-flash"})
    later = make_services(tmp_path, clock, providers, catalog=smaller, default_model="demo").presets
    refusal = await later.resolve(ask(), ALICE)
    assert refusal.category is ErrorCategory.INVALID_REQUEST
    assert refusal.detail.startswith("your default preset 'omni': model: unknown model 'omni-1.2-flash'")
    assert await later.resolve(ask(model="demo"), ALICE) == ask(model="demo")  # the command's model wins


async def test_an_option_the_command_got_wrong_is_not_blamed_on_the_preset(presets):
    await presets.save(ALICE.user_id, "p", model="demo", aspect_ratio="9:16")
    refusal = await presets.resolve(ask(duration=3), ALICE, "p")
    assert refusal.detail.startswith("duration: 3 s is not offered by demo")


async def test_with_another_model_the_presets_options_still_apply_and_are_blamed_if_they_fail(presets):
    await presets.save(ALICE.user_id, "tall", aspect_ratio="9:16")
    await presets.save(ALICE.user_id, "wide", aspect_ratio="21:9")
    omni = ask(model="omni-1.2-flash")
    assert await presets.resolve(omni, ALICE, "tall") == ask(model="omni-1.2-flash", aspect_ratio="9:16")
    refusal = await presets.resolve(omni, ALICE, "wide")
    assert refusal.detail.startswith("preset 'wide': aspect_ratio: '21:9' is not offered by omni-1.2-flash")
    assert "or set aspect_ratio in /video" in refusal.detail


async def test_a_prompt_the_suffix_makes_too_long_names_the_preset(presets):
    await presets.save(ALICE.user_id, "long", suffix="y" * 100)
    refusal = await presets.resolve(ask("x" * 1950), ALICE, "long")
    assert refusal.detail.startswith("preset 'long': prompt: 2052 characters is too long")


async def test_an_unknown_or_malformed_preset_name_is_refused(presets):
    refusal = await presets.resolve(ask(), ALICE, "nope")
    assert refusal.detail == "preset: you have no preset called 'nope'; you have none yet (/presets save)"
    refusal = await presets.resolve(ask(), ALICE, "no pe")
    assert refusal.detail.startswith("preset: a preset name is 1-32 characters")


async def test_the_presets_values_and_suffix_reach_the_provider(services, providers):
    await services.presets.save(ALICE.user_id, "p", **FULL)
    admitted = await services.presets.admit(ask("a heron"), ALICE, "p")
    assert isinstance(admitted, Admitted)
    await services.runner.run_job(admitted.job.id)
    [request] = providers["demo"].submitted
    assert (request.prompt, request.model.name, request.duration) == (
        "a heron, cinematic lighting",
        "demo",
        2,
    )
    assert (request.aspect_ratio, request.resolution) == ("9:16", "360p")


async def test_a_refused_preset_is_not_admitted_and_records_nothing(services, clock):
    from models import DailyUsage, Generation

    await services.presets.save(ALICE.user_id, "old", model="omni-1.1-flash")
    clock.advance(2 * 86400)
    assert isinstance(await services.presets.admit(ask(), ALICE, "old"), Refusal)
    assert await Generation.all().count() == 0 and await DailyUsage.all().count() == 0


async def test_concurrent_requests_from_one_user_share_one_preset_read(presets, monkeypatch):
    await presets.save(ALICE.user_id, "p", duration=6)
    await presets.set_default(ALICE.user_id, "p")
    reads = []
    real = PresetService._read

    async def counted(user_id, key):
        reads.append(key)
        return await real(user_id, key)

    monkeypatch.setattr(PresetService, "_read", staticmethod(counted))
    resolved = await asyncio.gather(*(presets.resolve(ask(), ALICE) for _ in range(50)))
    assert resolved == [dataclasses.replace(ask(), duration=6)] * 50
    assert reads == [None]
    await presets.resolve(ask(), ALICE)  # nothing is remembered afterwards
    assert reads == [None, None]
