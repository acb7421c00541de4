"""Tortoise ORM models. Tortoise discovers them through `__models__`."""

from models.coordination import Lock, RateWindow
from models.generation import Generation, GenerationStatus
from models.moderation import BlocklistEntry, PromptRefusal
from models.policy import AllowedChannel, ChannelSettings, RoleSettings, ServerSettings
from models.preset import Preset
from models.state import BotState
from models.usage import DailySpend, DailyUsage, ServerDailyUsage
from models.user import User

__models__ = [
    User, Generation, DailyUsage, DailySpend, BotState, Lock, RateWindow, Preset, BlocklistEntry, PromptRefusal,
    AllowedChannel, ServerSettings, ChannelSettings, RoleSettings, ServerDailyUsage,
]  # fmt: skip
__all__ = [
    "AllowedChannel",
    "BlocklistEntry",
    "BotState",
    "ChannelSettings",
    "DailySpend",
    "DailyUsage",
    "Generation",
    "GenerationStatus",
    "Lock",
    "Preset",
    "PromptRefusal",
    "RateWindow",
    "RoleSettings",
    "ServerDailyUsage",
    "ServerSettings",
    "User",
]
