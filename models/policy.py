"""Where /video works in a server: its allowed channels (none allowed = every channel)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AllowedChannel(Model):
    """A channel of a server where /video works (once a server has one, /video works only in those)."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField(db_index=True)
    channel_id = fields.BigIntField(unique=True)
    added_by = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "allowed_channels"
