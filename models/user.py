"""A Discord user as the bot knows them: quota overrides and the blocked flag."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    """Keyed by the Discord user id. Quota overrides: None = the default, 0 = unlimited."""

    id = fields.BigIntField(primary_key=True)  # the Discord user id (always given explicitly)
    daily_videos = fields.IntField(null=True)
    daily_seconds = fields.IntField(null=True)
    blocked = fields.BooleanField(default=False)
    blocked_reason = fields.CharField(max_length=500, null=True)
    last_started_at = fields.DatetimeField(null=True)  # when a job of theirs last started: round-robin order
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"
