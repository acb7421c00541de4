"""Rows that let several processes share one database safely: short locks and rate windows."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Lock(Model):
    """A named mutex held by one process until it releases it or `expires_at` passes."""

    name = fields.CharField(max_length=64, primary_key=True)
    owner = fields.CharField(max_length=64, null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "locks"


class RateWindow(Model):
    """Requests made to one provider in one minute, shared by every process."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    minute = fields.BigIntField()  # whole minutes since the epoch
    count = fields.IntField(default=0)

    class Meta:
        table = "rate_windows"
        unique_together = (("provider", "minute"),)
