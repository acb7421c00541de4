"""Tortoise ORM models. Tortoise discovers them through `__models__`."""

from models.coordination import Lock, RateWindow
from models.generation import Generation, GenerationStatus
from models.preset import Preset
from models.state import BotState
from models.usage import DailySpend, DailyUsage
from models.user import User

__models__ = [User, Generation, DailyUsage, DailySpend, BotState, Lock, RateWindow, Preset]
__all__ = [
    "BotState",
    "DailySpend",
    "DailyUsage",
    "Generation",
    "GenerationStatus",
    "Lock",
    "Preset",
    "RateWindow",
    "User",
]
