"""Admission as the metrics see it: refusals by reason, and the estimated spend each admission commits."""

from __future__ import annotations

from typing import Any

from core.jobs.intake import Admitted, Intake, Refusal
from core.jobs.views import Lineage, Requester
from core.platform.metrics import UNCOUNTED, Metrics
from core.validation import GenerationParams


class CountedIntake(Intake):
    """An Intake whose `admit` is counted in `metrics` (every refusal point of admit returns through here)."""

    def __init__(self, *, metrics: Metrics = UNCOUNTED, **options: Any) -> None:
        super().__init__(**options)
        self.metrics = metrics

    async def admit(
        self,
        params: GenerationParams,
        requester: Requester,
        *,
        parent: Lineage | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Admitted | Refusal:
        """`Intake.admit`, counted: a refusal by its category, an admission by the spend it reserved."""
        outcome = await super().admit(params, requester, parent=parent, extra=extra)
        if isinstance(outcome, Refusal):
            self.metrics.refused(outcome.category.value)
        else:
            spend = sum(job.estimated_cost_usd or 0.0 for job in outcome.jobs)
            self.metrics.spend_committed(outcome.job.model, requester.guild_id, spend)
        return outcome
