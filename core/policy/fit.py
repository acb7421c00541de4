"""A request under a server's policy: its model allowed, its defaults chosen within the limits, or a
refusal that names the option and who set the limit (no database here)."""

from __future__ import annotations

import dataclasses

from core.catalog import ModelSpec
from core.errors import invalid
from core.policy.rules import Effective
from core.providers.base import resolution_rank
from core.validation import GenerationParams


def model_name(params: GenerationParams, policy: Effective, fallback: str) -> str:
    """The model a request asks for (the channel's or server's default when it names none), refused when
    the server does not allow it."""
    name = (params.model or policy.limits.default_model or fallback).strip()
    allowed = policy.allowed_models
    if allowed is not None and name not in allowed:
        raise invalid(f"model: '{name}' is not allowed on this server; allowed: {', '.join(sorted(allowed))}")
    return name


def fit(params: GenerationParams, spec: ModelSpec, policy: Effective) -> GenerationParams:
    """`params` with duration and resolution chosen within the limits when the user left them out; a
    value the user chose above a limit is refused (never silently lowered)."""
    limits = policy.limits
    duration, resolution = params.duration, params.resolution
    if limits.max_duration is not None:
        cap, who = limits.max_duration, policy.source("max_duration")
        if duration is not None and duration > cap:
            raise invalid(f"duration: at most {cap} s in {who}")
        if duration is None and spec.default_duration > cap:
            shorter = [d for d in spec.durations if d <= cap]
            if not shorter:
                raise invalid(
                    f"duration: {spec.name} makes videos of at least {min(spec.durations)} s, and {who}"
                    f" allows at most {cap} s; pick another model"
                )
            duration = max(shorter)
    if limits.max_resolution is not None:
        cap_r, who = limits.max_resolution, policy.source("max_resolution")
        chosen = resolution.strip().lower() if resolution else None
        if chosen in spec.resolutions and not policy.within_resolution(chosen):
            raise invalid(f"resolution: at most {cap_r} in {who}")
        if chosen is None and not policy.within_resolution(spec.default_resolution):
            lower = [r for r in spec.resolutions if policy.within_resolution(r)]
            if not lower:
                raise invalid(
                    f"resolution: {spec.name} makes nothing below {min(spec.resolutions, key=resolution_rank)}, and {who}"
                    f" allows at most {cap_r}; pick another model"
                )
            resolution = max(lower, key=resolution_rank)
    if limits.max_variants is not None and params.variants > limits.max_variants:
        raise invalid(f"variants: at most {limits.max_variants} in {policy.source('max_variants')}")
    return dataclasses.replace(params, model=spec.name, duration=duration, resolution=resolution)
