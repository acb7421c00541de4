"""A server's prompt blocklist, and the refusals it made (for admins to review; no prompt is kept)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class BlocklistEntry(Model):
    """One entry of one server's blocklist: a plain word, or `re:` and a regular expression."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    pattern = fields.CharField(max_length=300)  # as the admin wrote it
    added_by = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocklist_entries"
        unique_together = (("guild_id", "pattern"),)


class PromptRefusal(Model):
    """A request the blocklist refused: who, where, when, and which entry (never the prompt)."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField(null=True)  # None: a DM (the global list)
    user_id = fields.BigIntField()
    entry = fields.CharField(max_length=300)  # the matched entry, as written; "(file)" marks the global list
    field = fields.CharField(max_length=32)  # prompt | negative_prompt
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "prompt_refusals"
        indexes = (("guild_id", "created_at"),)
