"""A server's policy as plain values, and the rule that combines its scopes (no database here).

Precedence: a channel's value, else the server's, else the global setting. Quotas: the per-user
override (`/videoadmin quota set`) wins over all, else the highest tier among the member's roles, else
the global default. In DMs only the global policy applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.providers.base import resolution_rank


@dataclass(frozen=True)
class Limits:
    """Defaults and limits a server or a channel may set (None: the next scope decides)."""

    default_model: str | None = None
    max_duration: int | None = None
    max_resolution: str | None = None
    max_variants: int | None = None

    def over(self, base: Limits) -> Limits:
        """These values where set, `base`'s elsewhere."""
        return Limits(
            default_model=self.default_model or base.default_model,
            max_duration=self.max_duration if self.max_duration is not None else base.max_duration,
            max_resolution=self.max_resolution or base.max_resolution,
            max_variants=self.max_variants if self.max_variants is not None else base.max_variants,
        )


@dataclass(frozen=True)
class ServerCaps:
    """Daily caps for a whole server (None: no cap)."""

    videos: int | None = None
    seconds: int | None = None
    spend_micro_usd: int | None = None


@dataclass(frozen=True)
class ServerRules:
    """What /videoadmin server set decides."""

    limits: Limits = Limits()
    allowed_models: frozenset[str] | None = None  # None: every model
    caps: ServerCaps = ServerCaps()
    spoilers: bool = False
    threads: bool = True
    hide_blocked_prompts: bool = False


@dataclass(frozen=True)
class ChannelRules:
    """What /videoadmin channel set decides for one channel."""

    limits: Limits = Limits()
    permissive_safety: bool = False  # only while Discord marks the channel NSFW


@dataclass(frozen=True)
class RoleRule:
    """A role's standing: allowed to use /video, and its daily quota tier (None: not set, 0: unlimited)."""

    allowed: bool = False
    daily_videos: int | None = None
    daily_seconds: int | None = None


@dataclass(frozen=True)
class Tier:
    """Daily limits from the member's roles (None: no role sets that limit)."""

    videos: int | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class GuildPolicy:
    """Everything one server has set."""

    server: ServerRules = ServerRules()
    allowed_channels: frozenset[int] = frozenset()
    channels: dict[int, ChannelRules] = field(default_factory=dict)
    roles: dict[int, RoleRule] = field(default_factory=dict)

    @property
    def allowed_roles(self) -> frozenset[int]:
        """Roles allowed to use /video (empty: everyone)."""
        return frozenset(r for r, rule in self.roles.items() if rule.allowed)

    def channel(self, channel_id: int | None, parent_id: int | None = None) -> ChannelRules:
        """A channel's rules; a thread without its own takes its channel's."""
        for key in (channel_id, parent_id):
            if key is not None and key in self.channels:
                return self.channels[key]
        return ChannelRules()

    def tier(self, role_ids: Iterable[int]) -> Tier:
        """The highest quota tier among these roles, limit by limit (0, unlimited, is the highest)."""
        rules = [self.roles[r] for r in role_ids if r in self.roles]
        return Tier(
            videos=highest(r.daily_videos for r in rules), seconds=highest(r.daily_seconds for r in rules)
        )


NO_POLICY = GuildPolicy()


def highest(limits: Iterable[int | None]) -> int | None:
    """The most generous of these daily limits: 0 (unlimited) beats any number; None when none is set."""
    given = [v for v in limits if v is not None]
    if not given:
        return None
    return 0 if 0 in given else max(given)


@dataclass(frozen=True)
class Effective:
    """The policy one request is admitted under."""

    limits: Limits
    allowed_models: frozenset[str] | None = None
    caps: ServerCaps = ServerCaps()
    tier: Tier = Tier()
    spoilers: bool = False
    hide_blocked_prompts: bool = False
    permissive_safety: bool = False
    sources: dict[str, str] = field(
        default_factory=dict
    )  # limit -> who set it: "this channel", "this server"

    def source(self, name: str) -> str:
        """Who set a limit, for a refusal that names it."""
        return self.sources.get(name, "this bot")

    def within_resolution(self, resolution: str) -> bool:
        """Whether a resolution is at most the limit."""
        return self.limits.max_resolution is None or resolution_rank(resolution) <= resolution_rank(
            self.limits.max_resolution
        )


def effective(
    policy: GuildPolicy,
    global_limits: Limits,
    *,
    channel_id: int | None,
    parent_id: int | None = None,
    role_ids: Iterable[int] = (),
    nsfw: bool = False,
) -> Effective:
    """Combine the scopes for one request (channel > server > global)."""
    channel = policy.channel(channel_id, parent_id)
    server = policy.server
    by_server = server.limits.over(global_limits)
    limits = channel.limits.over(by_server)
    sources = {}
    for name in ("default_model", "max_duration", "max_resolution", "max_variants"):
        if getattr(channel.limits, name) is not None:
            sources[name] = "this channel"
        elif getattr(server.limits, name) is not None:
            sources[name] = "this server"
    return Effective(
        limits=limits,
        allowed_models=server.allowed_models,
        caps=server.caps,
        tier=policy.tier(role_ids),
        spoilers=server.spoilers,
        hide_blocked_prompts=server.hide_blocked_prompts,
        permissive_safety=channel.permissive_safety and nsfw,
        sources=sources,
    )
