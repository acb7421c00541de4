"""Daily counters that quotas and the spend cap are reserved against with conditional UPDATEs."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DailyUsage(Model):
    """Videos and video-seconds one user has reserved on one UTC day."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="usage", on_delete=fields.CASCADE)
    day = fields.DateField()
    videos = fields.IntField(default=0)
    seconds = fields.IntField(default=0)

    class Meta:
        table = "daily_usage"
        unique_together = (("user", "day"),)


class DailySpend(Model):
    """Estimated USD committed on one UTC day, in micro-dollars (integers add up exactly)."""

    day = fields.DateField(primary_key=True)
    micro_usd = fields.BigIntField(default=0)

    class Meta:
        table = "daily_spend"
