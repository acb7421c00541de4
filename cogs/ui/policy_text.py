"""How /videoadmin shows a server's policy: short lines an admin reads at a glance."""

from __future__ import annotations

from discord import app_commands

from core.catalog import KNOWN_RESOLUTIONS
from core.platform.clock import utc_day, utcnow
from core.policy.rules import GuildPolicy, Limits
from core.policy.service import ServerUsage
from core.services import Services

RESOLUTION_CHOICES = [app_commands.Choice(name=r, value=r) for r in (*KNOWN_RESOLUTIONS, "none")]


def model_choices(services: Services, current: str) -> list[app_commands.Choice[str]]:
    """Catalog models offered today, and "none" to clear the setting."""
    typed = current.strip().lower()
    names = [m.name for m in services.catalog.offered(utc_day(utcnow())) if m.provider in services.providers]
    return [app_commands.Choice(name=n, value=n) for n in [*names, "none"] if typed in n.lower()][:25]


def limits_text(limits: Limits) -> str:
    """e.g. "default model demo · at most 8 s · at most 720p" ("no limits of its own" when empty)."""
    parts = []
    if limits.default_model:
        parts.append(f"default model {limits.default_model}")
    if limits.max_duration is not None:
        parts.append(f"at most {limits.max_duration} s")
    if limits.max_resolution:
        parts.append(f"at most {limits.max_resolution}")
    if limits.max_variants is not None:
        parts.append(f"at most {limits.max_variants} variants")
    return " · ".join(parts) or "no limits of its own"


def channel_lines(policy: GuildPolicy, only: int | None = None) -> list[str]:
    """One line per channel with settings of its own (or just `only`)."""
    lines = []
    for channel_id, rules in sorted(policy.channels.items()):
        if only is not None and channel_id != only:
            continue
        nsfw = " · looser safety (while age-restricted)" if rules.permissive_safety else ""
        lines.append(f"<#{channel_id}>: {limits_text(rules.limits)}{nsfw}")
    if only is not None and not lines:
        lines.append(f"<#{only}> has no settings of its own: the server's apply.")
    return lines


def _cap(value: int | None, used: float, unit: str = "") -> str:
    if not value:
        return f"no cap ({used:g}{unit} used today)"
    return f"{used:g}{unit} of {value:g}{unit} used today"


def server_text(policy: GuildPolicy, usage: ServerUsage, global_default: str) -> str:
    """Everything /videoadmin server show lists."""
    server = policy.server
    limits = server.limits
    allowed = ", ".join(sorted(server.allowed_models)) if server.allowed_models is not None else "all"
    spend = server.caps.spend_micro_usd
    lines = [
        f"**Default model:** {limits.default_model or f'{global_default} (the bot default)'}",
        f"**Allowed models:** {allowed}",
        f"**Limits:** {limits_text(Limits(None, limits.max_duration, limits.max_resolution, limits.max_variants))}",
        f"**Videos a day:** {_cap(server.caps.videos, usage.videos)}",
        f"**Video-seconds a day:** {_cap(server.caps.seconds, usage.seconds, ' s')}",
        "**Spend a day:** "
        + (
            f"${usage.spend_usd:.2f} of ${spend / 1_000_000:.2f} used today"
            if spend
            else f"no cap (${usage.spend_usd:.2f} today)"
        ),
        f"**Spoilers:** {'on' if server.spoilers else 'off'} · **Threads:** {'on' if server.threads else 'off'}"
        f" · **Hide safety-blocked prompts:** {'on' if server.hide_blocked_prompts else 'off'}",
        "**Channels:** "
        + (
            ", ".join(f"<#{c}>" for c in sorted(policy.allowed_channels))
            if policy.allowed_channels
            else "all"
        ),
        *channel_lines(policy),
        "**Roles:** " + (role_summary(policy) or "everyone may use /video; no quota tiers"),
    ]
    return "\n".join(lines)


def role_summary(policy: GuildPolicy) -> str:
    """Allowed roles and quota tiers, one role per line."""
    lines = []
    for role_id, rule in sorted(policy.roles.items()):
        parts = ["allowed"] if rule.allowed else []
        if rule.daily_videos is not None:
            parts.append(f"{rule.daily_videos or 'unlimited'} videos a day")
        if rule.daily_seconds is not None:
            parts.append(f"{rule.daily_seconds or 'unlimited'} video-seconds a day")
        lines.append(f"<@&{role_id}>: {', '.join(parts)}")
    return "\n".join(lines)
