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


class ServerDailyUsage(Model):
    """Videos, video-seconds and estimated micro-dollars one server has reserved on one UTC day (its caps
    are reserved against these with conditional UPDATEs, as a user's quota is)."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    day = fields.DateField()
    videos = fields.IntField(default=0)
    seconds = fields.IntField(default=0)
    micro_usd = fields.BigIntField(default=0)

    class Meta:
        table = "server_daily_usage"
        unique_together = (("guild_id", "day"),)
