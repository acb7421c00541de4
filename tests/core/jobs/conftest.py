"""The job engine wired as the product wires it (core.services.assemble), on an injected clock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.accounts.quotas import QuotaService
from core.catalog import Catalog, load_catalog
from core.platform.settings import load_settings
from core.services import Services, assemble
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_provider import ScriptedProvider

CATALOG = load_catalog()
UNLIMITED = 1_000_000


def make_services(
    tmp_path: Path,
    clock,
    providers: dict,
    *,
    catalog: Catalog = CATALOG,
    quotas: QuotaService | None = None,
    default_model: str = "omni-1.2-flash",
    max_waiting: int | None = None,
) -> Services:
    """Services for tests: every component on `clock` (a tests.fakes.clock.FakeClock); random() = 0.5."""
    settings = load_settings(
        {
            "OUTPUT_DIR": str(tmp_path / "out"),
            "DEFAULT_MODEL": default_model,
            "USER_MAX_QUEUED": str(max_waiting or UNLIMITED),
        },
        env_file=None,
    )
    quotas = quotas or QuotaService(daily_videos=5, daily_seconds=120, spend_cap_usd=50.0)
    jobs = assemble(settings, catalog, providers, quotas, clock=clock, rand=lambda: 0.5)
    jobs.intake.max_waiting = max_waiting  # None: no waiting cap, unlike any real setting
    return jobs


def pinned_cadence(tmp_path: Path, clock, provider, seconds: float) -> Services:
    """Services whose omni-1.2-flash entry pins the poll cadence (catalog `poll_interval_s`) instead of
    the learned schedule; the provider is "gemini"; no quota limits."""
    models = dict(CATALOG.models)
    models["omni-1.2-flash"] = dataclasses.replace(models["omni-1.2-flash"], poll_interval_s=seconds)
    quotas = QuotaService(daily_videos=0, daily_seconds=0, spend_cap_usd=0)
    return make_services(tmp_path, clock, {"gemini": provider}, catalog=Catalog(models), quotas=quotas)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider(name="gemini")


@pytest.fixture
def jobs(tmp_path, clock, provider) -> Services:
    return make_services(tmp_path, clock, {"gemini": provider})
