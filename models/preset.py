"""A user's saved /video settings (Midjourney's /settings and /prefer option): a named bundle of options."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Preset(Model):
    """One named preset of one user. None in a field: the preset leaves that option alone.

    `key` is the name in lower case: names are unique per user whatever their case. At most one preset of a
    user is the default (`is_default`), the one /video uses when it names none.
    """

    id = fields.IntField(primary_key=True)
    user_id = fields.BigIntField(db_index=True)  # the Discord user id
    name = fields.CharField(max_length=32)  # as the user last typed it
    key = fields.CharField(max_length=32)  # name.lower()
    model = fields.CharField(max_length=64, null=True)
    duration = fields.IntField(null=True)
    aspect_ratio = fields.CharField(max_length=16, null=True)
    resolution = fields.CharField(max_length=16, null=True)
    negative_prompt = fields.CharField(max_length=500, null=True)
    suffix = fields.CharField(max_length=500, null=True)
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "presets"
        unique_together = (("user_id", "key"),)
