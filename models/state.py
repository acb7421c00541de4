"""Small shared switches every process reads: paused, the synced command-tree hash."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class BotState(Model):
    """One named value. Kept in the database so several processes agree on it."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "bot_state"
