"""Small shared values every process sees (pause flag, the last synced command tree), kept in the database."""

from __future__ import annotations

from models import BotState

PAUSED_KEY = "paused"  # True while an admin has paused new jobs


async def get_state(key: str) -> object:
    """A shared value, or None."""
    row = await BotState.get_or_none(key=key)
    return row.value.get("v") if row and isinstance(row.value, dict) else None


async def set_state(key: str, value: object) -> None:
    """Store a shared value."""
    # Wrapped: Tortoise's JSONField would try to parse a bare string as JSON text.
    await BotState.update_or_create(key=key, defaults={"value": {"v": value}})
