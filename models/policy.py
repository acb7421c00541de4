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


class ServerSettings(Model):
    """One server's /video policy, set with /videoadmin server set (None: the global setting applies).

    Caps are per UTC day for the whole server, besides each member's quota and the global spend cap."""

    guild_id = fields.BigIntField(primary_key=True)
    default_model = fields.CharField(max_length=64, null=True)
    allowed_models = fields.JSONField(null=True)  # model names, or None for every model
    max_duration = fields.IntField(null=True)
    max_resolution = fields.CharField(max_length=8, null=True)
    max_variants = fields.IntField(null=True)
    daily_videos = fields.IntField(null=True)
    daily_seconds = fields.IntField(null=True)
    daily_spend_micro_usd = fields.BigIntField(null=True)
    spoilers = fields.BooleanField(default=False)
    threads = fields.BooleanField(default=True)
    hide_blocked_prompts = fields.BooleanField(default=False)
    updated_by = fields.BigIntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "server_settings"


class ChannelSettings(Model):
    """One channel's defaults and limits, set with /videoadmin channel set (None: the server settings apply).

    `permissive_safety` sends the permissive safety inputs (catalog `permissive`) and is
    honoured only while Discord marks the channel NSFW."""

    channel_id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField(db_index=True)
    default_model = fields.CharField(max_length=64, null=True)
    max_duration = fields.IntField(null=True)
    max_resolution = fields.CharField(max_length=8, null=True)
    max_variants = fields.IntField(null=True)
    permissive_safety = fields.BooleanField(default=False)
    updated_by = fields.BigIntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "channel_settings"


class RoleSettings(Model):
    """A server role: allowed to use /video (once one is, only members with an allowed role may), and
    its daily quota tier (a member gets the highest tier of their roles, 0 = unlimited)."""

    role_id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField(db_index=True)
    allowed = fields.BooleanField(default=False)
    daily_videos = fields.IntField(null=True)
    daily_seconds = fields.IntField(null=True)
    updated_by = fields.BigIntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "role_settings"
