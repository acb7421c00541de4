"""Tortoise ORM models. Tortoise discovers them through `__models__`."""

from models.coordination import Lock, RateWindow
from models.generation import Generation, GenerationStatus
from models.moderation import BlocklistEntry, PromptRefusal
from models.preset import Preset
from models.state import BotState
from models.usage import DailySpend, DailyUsage
from models.user import User

__models__ = [
    User, Generation, DailyUsage, DailySpend, BotState, Lock, RateWindow, Preset, BlocklistEntry, PromptRefusal
]  # fmt: skip
__all__ = [
    "BlocklistEntry",
    "BotState",
    "DailySpend",
    "DailyUsage",
    "Generation",
    "GenerationStatus",
    "Lock",
    "Preset",
    "PromptRefusal",
    "RateWindow",
    "User",
]
