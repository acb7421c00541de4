"""Every policy value is checked before it is written: an unknown model, a duration no allowed model
can make, a negative cap are refused with the field named, and nothing changes."""

from __future__ import annotations

from typing import Any

from core.catalog import Catalog, ModelSpec
from core.policy.rules import GuildPolicy, Limits
from core.providers.base import resolution_rank
from core.validation import MAX_VARIANTS


class PolicyError(ValueError):
    """A policy value that can't be set; the message names the field."""


def check_server(
    catalog: Catalog, current: GuildPolicy, global_limits: Limits, changes: dict[str, Any]
) -> None:
    """Check server changes against the catalog and what is already set."""
    allowed = changes.get("allowed_models", current.server.allowed_models)
    for name in allowed or ():
        _model(catalog, "allowed_models", name)
    if allowed is not None and not allowed:
        raise PolicyError("allowed_models: name at least one model (or 'all')")
    limits = _merged(current.server.limits, changes)
    _check_limits(catalog, limits.over(global_limits), changes, allowed)
    for name in ("daily_videos", "daily_seconds", "daily_spend_micro_usd"):
        if changes.get(name) is not None and changes[name] < 0:
            raise PolicyError(f"{_shown(name)}: must be 0 (no cap) or more")
    for channel_id, rules in current.channels.items():  # the server's list must keep channels' defaults
        model = rules.limits.default_model
        if allowed is not None and model is not None and model not in allowed:
            raise PolicyError(
                f"allowed_models: channel <#{channel_id}>'s default model '{model}' would not be allowed;"
                " change that channel first"
            )


def check_channel(
    catalog: Catalog,
    current: GuildPolicy,
    channel_id: int,
    global_limits: Limits,
    changes: dict[str, Any],
    *,
    nsfw: bool,
) -> None:
    """Check a channel's changes; looser safety only where Discord marks the channel NSFW."""
    if changes.get("permissive_safety") and not nsfw:
        raise PolicyError(
            "nsfw_safety: only a channel marked age-restricted (NSFW) in Discord may use looser safety"
        )
    server = current.server
    limits = _merged(current.channel(channel_id).limits, changes)
    _check_limits(catalog, limits.over(server.limits.over(global_limits)), changes, server.allowed_models)


def check_role_quota(changes: dict[str, Any]) -> None:
    """Quota tiers are 0 (unlimited) or more."""
    for name in ("daily_videos", "daily_seconds"):
        if changes.get(name) is not None and changes[name] < 0:
            raise PolicyError(f"{name}: must be 0 (unlimited) or more")


def _check_limits(
    catalog: Catalog, limits: Limits, changes: dict[str, Any], allowed: frozenset[str] | None
) -> None:
    if "default_model" in changes and changes["default_model"] is not None:
        _model(catalog, "default_model", changes["default_model"])
    resolutions = {r for m in catalog.models.values() for r in m.resolutions}
    if changes.get("max_resolution") is not None and changes["max_resolution"] not in resolutions:
        raise PolicyError(
            f"max_resolution: '{changes['max_resolution']}' is not a resolution any model makes"
        )
    if changes.get("max_duration") is not None and changes["max_duration"] < 1:
        raise PolicyError("max_duration: at least 1 second (or 0 for no limit)")
    if changes.get("max_variants") is not None and not 1 <= changes["max_variants"] <= MAX_VARIANTS:
        raise PolicyError(f"max_variants: between 1 and {MAX_VARIANTS} (or 0 for no limit)")
    default = catalog.get(limits.default_model or "")
    if allowed is not None and limits.default_model not in allowed:
        raise PolicyError(
            f"default_model: '{limits.default_model}' is not among the allowed models; make one of"
            f" {', '.join(sorted(allowed))} the default"
        )
    if default is None:
        return
    if limits.max_duration is not None and min(default.durations) > limits.max_duration:
        raise PolicyError(
            f"max_duration: the default model {default.name} makes videos of at least"
            f" {min(default.durations)} s; allow that or pick another default model"
        )
    if limits.max_resolution is not None and all(
        resolution_rank(r) > resolution_rank(limits.max_resolution) for r in default.resolutions
    ):
        raise PolicyError(
            f"max_resolution: the default model {default.name} makes nothing at or below"
            f" {limits.max_resolution}; allow more or pick another default model"
        )


def _model(catalog: Catalog, field: str, name: str) -> ModelSpec:
    spec = catalog.get(name)
    if spec is None:
        raise PolicyError(f"{field}: unknown model '{name}'; known: {', '.join(catalog.names())}")
    return spec


def _merged(limits: Limits, changes: dict[str, Any]) -> Limits:
    values = {k: getattr(limits, k) for k in Limits.__dataclass_fields__}
    values.update({k: v for k, v in changes.items() if k in values})
    return Limits(**values)


def _shown(name: str) -> str:
    return "daily_spend_usd" if name == "daily_spend_micro_usd" else name
