"""The job engine wired as the product wires it (core.services.Services), on an injected clock."""

from __future__ import annotations

from pathlib import Path

from core.accounts.admin import AdminService
from core.accounts.quotas import QuotaService
from core.catalog import Catalog, load_catalog
from core.jobs.actions import JobActions
from core.jobs.delivery import DeliveryLedger
from core.jobs.intake import Intake
from core.jobs.results import Results
from core.jobs.runner import JobRunner
from core.platform.settings import load_settings
from core.services import Services

CATALOG = load_catalog()


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
    """Services for tests: every component on `clock` (a tests.fakes.clock.FakeClock)."""
    quotas = quotas or QuotaService(daily_videos=5, daily_seconds=120, spend_cap_usd=50.0)
    output_dir = tmp_path / "out"
    intake = Intake(
        catalog=catalog,
        providers=providers,
        quotas=quotas,
        output_dir=output_dir,
        default_model=default_model,
        max_waiting=max_waiting,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    runner = JobRunner(
        catalog=catalog,
        providers=providers,
        quotas=quotas,
        output_dir=output_dir,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        rand=lambda: 0.5,
    )
    settings = load_settings({"OUTPUT_DIR": str(output_dir)}, env_file=None)
    return Services(
        settings,
        catalog,
        providers,
        quotas,
        intake,
        runner,
        JobActions(intake, runner, now=clock.now),
        Results(quotas, notify_after=settings.notify_after),
        DeliveryLedger(now=clock.now),
        AdminService(quotas),
    )
