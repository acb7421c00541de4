"""Tortoise ORM models. Tortoise discovers them through `__models__`."""

from models.coordination import Lock, RateWindow
from models.generation import Generation, GenerationStatus
from models.moderation import BlocklistEntry, PromptRefusal
from models.policy import AllowedChannel
from models.preset import Preset
from models.state import BotState
from models.usage import DailySpend, DailyUsage
from models.user import User

__models__ = [
    User, Generation, DailyUsage, DailySpend, BotState, Lock, RateWindow, Preset, BlocklistEntry, PromptRefusal,
    AllowedChannel,
]  # fmt: skip
__all__ = [
    "AllowedChannel",
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
