"""A model's lifecycle at admission, on an injected clock: offered and admitted the day before its retire
day; from that day hidden, and refused as model_unavailable naming the replacement, before any charge."""

from __future__ import annotations

import datetime as dt

import pytest

from core.accounts.quotas import QuotaService
from core.catalog import load_catalog
from core.errors import ErrorCategory
from core.jobs.intake import Admitted, Intake, Refusal
from core.jobs.views import Requester
from core.validation import GenerationParams
from models import DailySpend, DailyUsage, Generation
from tests.fakes.clock import FakeClock

LAST_MINUTE = dt.datetime(2026, 12, 2, 23, 59, tzinfo=dt.UTC)  # omni-1.1-flash retires 2026-12-03 (UTC)
ALICE = Requester(user_id=42, guild_id=None, channel_id=7)


def make_intake(tmp_path, clock: FakeClock, default_model: str = "omni-1.2-flash") -> Intake:
    return Intake(
        catalog=load_catalog(),
        providers={"gemini": object(), "demo": object()},
        quotas=QuotaService(daily_videos=5, daily_seconds=120, spend_cap_usd=50.0, now=clock.now),
        output_dir=tmp_path,
        default_model=default_model,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


async def nothing_charged() -> bool:
    return (
        await Generation.all().count() == 0
        and await DailyUsage.all().count() == 0
        and await DailySpend.filter(micro_usd__gt=0).count() == 0
    )


async def test_the_day_before_its_retirement_the_model_is_offered_and_admitted(db, tmp_path):
    intake = make_intake(tmp_path, FakeClock(LAST_MINUTE))
    assert "omni-1.1-flash" in [m.name for m in intake.available_models()]
    outcome = await intake.admit(GenerationParams(prompt="a fox", model="omni-1.1-flash"), ALICE)
    assert isinstance(outcome, Admitted) and outcome.request.model.name == "omni-1.1-flash"
    assert not await nothing_charged()  # the check below sees a charge when there is one


async def test_from_its_retire_day_it_is_hidden_and_refused_naming_the_replacement_with_no_charge(
    db, tmp_path
):
    clock = FakeClock(LAST_MINUTE)
    intake = make_intake(tmp_path, clock)
    clock.advance(60)  # 2026-12-03 00:00 UTC
    names = [m.name for m in intake.available_models()]
    assert "omni-1.1-flash" not in names and "omni-1.2-flash" in names
    outcome = await intake.admit(GenerationParams(prompt="a fox", model="omni-1.1-flash"), ALICE)
    assert outcome == Refusal(
        ErrorCategory.MODEL_UNAVAILABLE,
        "model: 'omni-1.1-flash' was retired on 2026-12-03; use 'omni-1.2-flash' instead",
    )
    assert await nothing_charged()


async def test_check_refuses_a_retired_model_without_the_database(tmp_path):
    clock = FakeClock(LAST_MINUTE + dt.timedelta(days=30))
    refusal = make_intake(tmp_path, clock).check(GenerationParams(prompt="a fox", model="omni-1.1-flash"))
    assert refusal is not None and refusal.category is ErrorCategory.MODEL_UNAVAILABLE


async def test_a_retired_default_model_refuses_requests_without_a_model(db, tmp_path):
    clock = FakeClock(LAST_MINUTE + dt.timedelta(minutes=1))
    intake = make_intake(tmp_path, clock, default_model="omni-1.1-flash")
    outcome = await intake.admit(GenerationParams(prompt="a fox"), ALICE)
    assert isinstance(outcome, Refusal) and outcome.category is ErrorCategory.MODEL_UNAVAILABLE
    assert "use 'omni-1.2-flash' instead" in outcome.detail
    assert await nothing_charged()
    explicit = await intake.admit(GenerationParams(prompt="a fox", model="demo"), ALICE)
    assert isinstance(explicit, Admitted)


@pytest.mark.parametrize("days", [0, 1, 400])
async def test_the_replacement_stays_offered_on_and_after_the_day(tmp_path, days):
    clock = FakeClock(dt.datetime(2026, 12, 3, tzinfo=dt.UTC) + dt.timedelta(days=days))
    request = make_intake(tmp_path, clock).validate(GenerationParams(prompt="a fox", model="omni-1.2-flash"))
    assert request.model.name == "omni-1.2-flash"


def test_a_retired_default_model_is_logged_at_start_naming_the_replacement(tmp_path, caplog):
    from core.platform.clock import Clock
    from core.platform.settings import load_settings
    from core.services import build_services

    settings = load_settings(
        {"DEFAULT_MODEL": "omni-1.1-flash", "GEMINI_API_KEY": "k", "OUTPUT_DIR": str(tmp_path)}, env_file=None
    )
    for moment, logged in ((LAST_MINUTE, False), (LAST_MINUTE + dt.timedelta(minutes=1), True)):
        caplog.clear()
        build_services(settings, clock=Clock(now=lambda m=moment: m))
        assert ("DEFAULT_MODEL=omni-1.2-flash" in caplog.text) is logged
