"""Presets: a user's named bundles of /video options (like Midjourney's /settings and /prefer option).

    save(user, name, ...)       validate against the model, then create or replace (names: case-insensitive)
    presets(user)               the user's presets, by name
    delete(user, name)          remove one (if it was the default, there is no default any more)
    set_default(user, name)     the preset /video uses when it names none; None clears it
    resolve(params, requester)  the request with the preset's values filled in, validated again

Effective value of each /video option: what the command says > the preset it names (else the user's
default preset) > the server's defaults (not yet: see `layers`) > the catalog's defaults (filled in by
core.validation). One preset applies at a time: a named preset replaces the default rather than mixing
with it, so the values used were validated together. A preset's suffix is appended to the prompt.

Nothing here reserves anything: a refused save changes nothing, and a preset is only read at admission.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import GenerationError, invalid
from core.jobs.intake import Admitted, Intake, Refusal
from core.jobs.views import Requester
from core.validation import MAX_NEGATIVE_PROMPT_CHARS, GenerationParams, clean_text
from models import Preset

NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,32}")
NAME_RULE_TEXT = "1-32 characters: letters, digits, - and _"
MAX_PRESETS = 25  # per user: as many as Discord's autocomplete shows
MAX_SUFFIX_CHARS = MAX_NEGATIVE_PROMPT_CHARS
OPTIONS = ("model", "duration", "aspect_ratio", "resolution", "negative_prompt")  # what a preset may set
CHECK_PROMPT = "a preset check"  # stands in for the prompt when a preset is validated on save


class Layer(Protocol):
    """Option values, any of them None (= leave it to the next layer)."""

    model: str | None
    duration: int | None
    aspect_ratio: str | None
    resolution: str | None
    negative_prompt: str | None


@dataclass(frozen=True)
class PresetView:
    """One saved preset."""

    name: str
    model: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    suffix: str | None = None
    is_default: bool = False

    @classmethod
    def of(cls, row: Preset) -> PresetView:
        """The view of a row."""
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    def summary(self) -> str:
        """One line: the options it sets, e.g. `demo · 2 s · 9:16 · 360p · suffix: cinematic`."""
        parts = [
            self.model,
            f"{self.duration} s" if self.duration else None,
            self.aspect_ratio,
            self.resolution,
        ]
        text = [p for p in parts if p]
        if self.negative_prompt:
            text.append(f"avoid: {self.negative_prompt}")
        if self.suffix:
            text.append(f"suffix: {self.suffix}")
        return " · ".join(text)


@dataclass(frozen=True)
class Saved:
    """The preset as saved; `replaced` when it took the place of one with the same name."""

    preset: PresetView
    replaced: bool


def check_name(name: str | None) -> str:
    """The name, trimmed, if it follows the rule; else an error naming the field."""
    name = (name or "").strip()
    if not NAME_RULE.fullmatch(name):
        raise invalid(f"name: a preset name is {NAME_RULE_TEXT}")
    return name


def join_suffix(prompt: str, suffix: str | None) -> str:
    """The prompt with the suffix after a comma (just a space when the prompt ends in punctuation)."""
    if not suffix:
        return prompt
    prompt = prompt.rstrip()
    return f"{prompt} {suffix}" if prompt.endswith((",", ".", ";", ":", "!", "?")) else f"{prompt}, {suffix}"


def merge(params: GenerationParams, layers: Sequence[Layer]) -> GenerationParams:
    """Each option from the command, else from the first layer that sets it (None: the catalog's default)."""
    values = {}
    for option in OPTIONS:
        value = getattr(params, option)
        for layer in layers:
            if value is not None:
                break
            value = getattr(layer, option)
        values[option] = value
    return dataclasses.replace(params, **values)


class PresetService:
    """Saves users' presets and applies them to /video requests (validated by `intake`, as /video is)."""

    def __init__(self, intake: Intake, *, max_presets: int = MAX_PRESETS) -> None:
        self.intake = intake
        self.max_presets = max_presets
        self._lookups: dict[tuple[int, str | None], asyncio.Future[PresetView | None]] = {}

    # ---- managing presets ----------------------------------------------------------------------

    async def save(
        self,
        user_id: int,
        name: str,
        *,
        model: str | None = None,
        duration: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        negative_prompt: str | None = None,
        suffix: str | None = None,
    ) -> Saved:
        """Create or replace the user's preset `name`, checked against its model (the bot's default model
        when it names none). Raises GenerationError naming the field; nothing changes then."""
        name = check_name(name)
        suffix = (clean_text(suffix).lstrip(", ") or None) if suffix else None
        if suffix is not None and len(suffix) > MAX_SUFFIX_CHARS:
            raise invalid(
                f"suffix: {len(suffix)} characters is too long; at most {MAX_SUFFIX_CHARS} are allowed"
            )
        given = dict(
            model=model,
            duration=duration,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            negative_prompt=negative_prompt,
        )
        if all(v is None for v in given.values()) and suffix is None:
            raise invalid(f"options: a preset needs at least one of {', '.join(OPTIONS)} or suffix")
        request = self.intake.validate(GenerationParams(prompt=CHECK_PROMPT, **given))
        values = {  # as validation normalised them (trimmed, resolution in lower case)
            "model": request.model.name if model is not None else None,
            "duration": request.duration if duration is not None else None,
            "aspect_ratio": request.aspect_ratio if aspect_ratio is not None else None,
            "resolution": request.resolution if resolution is not None else None,
            "negative_prompt": request.negative_prompt,
            "suffix": suffix,
        }
        key = name.lower()
        replaced = await self._replace(user_id, key, name, values)
        if not replaced:
            try:
                row = await Preset.create(user_id=user_id, key=key, name=name, **values)
            except IntegrityError:  # saved at the same moment under the same name: this one replaces it
                replaced = await self._replace(user_id, key, name, values)
            else:
                # Created first, counted after: two saves racing for the last place can't both keep theirs.
                if await Preset.filter(user_id=user_id).count() > self.max_presets:
                    await Preset.filter(id=row.id).delete()
                    raise invalid(
                        f"name: you already have {self.max_presets} presets, the most allowed; delete one"
                        " with /presets delete, or save over one of their names"
                    )
        return Saved(PresetView.of(await Preset.get(user_id=user_id, key=key)), replaced)

    @staticmethod
    async def _replace(user_id: int, key: str, name: str, values: dict) -> bool:
        return bool(await Preset.filter(user_id=user_id, key=key).update(name=name, **values))

    async def presets(self, user_id: int) -> list[PresetView]:
        """The user's presets, by name."""
        return [PresetView.of(row) for row in await Preset.filter(user_id=user_id).order_by("key")]

    async def delete(self, user_id: int, name: str) -> PresetView:
        """Delete the user's preset `name` (the default too, leaving none); raises if there is none."""
        row = await Preset.filter(user_id=user_id, key=check_name(name).lower()).first()
        if row is None or not await Preset.filter(id=row.id).delete():
            raise await self._missing(user_id, name)
        return PresetView.of(row)

    async def set_default(self, user_id: int, name: str | None) -> PresetView | None:
        """Make `name` the user's default preset, or clear the default with None; the new default."""
        if name is None:
            await Preset.filter(user_id=user_id, is_default=True).update(is_default=False)
            return None
        key = check_name(name).lower()
        async with in_transaction():
            if not await Preset.filter(user_id=user_id, key=key).update(is_default=True):
                raise await self._missing(user_id, name)
            await Preset.filter(user_id=user_id, is_default=True).exclude(key=key).update(is_default=False)
        return PresetView.of(await Preset.get(user_id=user_id, key=key))

    async def _missing(self, user_id: int, name: str, field: str = "name") -> GenerationError:
        names = [p.name for p in await self.presets(user_id)]
        have = f"your presets: {', '.join(names)}" if names else "you have none yet (/presets save)"
        return invalid(f"{field}: you have no preset called '{name}'; {have}")

    # ---- using presets -------------------------------------------------------------------------

    async def resolve(
        self, params: GenerationParams, requester: Requester, preset: str | None = None
    ) -> GenerationParams | Refusal:
        """The request with the preset named (else the user's default) filled in and validated again (the
        catalog may have changed since it was saved); a refusal naming the preset if it no longer works."""
        if preset is not None:
            if not NAME_RULE.fullmatch(preset.strip()):
                return Refusal.of(invalid(f"preset: a preset name is {NAME_RULE_TEXT}"))
            preset = preset.strip()
        found = await self._lookup(requester.user_id, preset.lower() if preset else None)
        if found is None:
            if preset is None:
                return params
            return Refusal.of(await self._missing(requester.user_id, preset, "preset"))
        layers: list[Layer] = [found]  # then the server's and channel's defaults, when validated
        merged = merge(params, layers)
        merged = dataclasses.replace(merged, prompt=join_suffix(params.prompt, found.suffix))
        policy = await self.intake.policy_for(requester)
        if isinstance(policy, Refusal):
            return policy
        try:
            self.intake.validate(merged, policy)
        except GenerationError as exc:
            return Refusal(exc.category, self._blame(exc.detail, params, found, preset is None))
        return merged

    async def admit(
        self, params: GenerationParams, requester: Requester, preset: str | None = None
    ) -> Admitted | Refusal:
        """`resolve`, then admit the job (Intake.admit) — or the refusal; nothing is charged on a refusal."""
        resolved = await self.resolve(params, requester, preset)
        if isinstance(resolved, Refusal):
            return resolved
        return await self.intake.admit(resolved, requester)

    @staticmethod
    def _blame(detail: str, params: GenerationParams, preset: PresetView, is_default: bool) -> str:
        """A validation error about an option the preset set says so, naming the preset."""
        option = detail.split(":", 1)[0]
        from_preset = {o for o in OPTIONS if getattr(params, o) is None and getattr(preset, o) is not None}
        if preset.suffix:
            from_preset.add("prompt")
        if option not in from_preset:
            return detail
        which = f"your default preset '{preset.name}'" if is_default else f"preset '{preset.name}'"
        return f"{which}: {detail} (save the preset again with /presets save, or set {option} in /video)"

    async def _lookup(self, user_id: int, key: str | None) -> PresetView | None:
        """The user's preset `key` (None: their default). Callers asking at the same moment share one query,
        so a storm of /video from one user costs one read; nothing is remembered afterwards."""
        flight = (user_id, key)
        future = self._lookups.get(flight)
        if future is None:
            future = asyncio.ensure_future(self._read(user_id, key))
            self._lookups[flight] = future
            future.add_done_callback(lambda f: self._landed(flight, f))
        return await asyncio.shield(future)

    def _landed(self, flight: tuple[int, str | None], future: asyncio.Future) -> None:
        del self._lookups[flight]
        if not future.cancelled():
            future.exception()  # retrieved, even if every caller was cancelled meanwhile

    @staticmethod
    async def _read(user_id: int, key: str | None) -> PresetView | None:
        query = Preset.filter(user_id=user_id)
        query = query.filter(is_default=True) if key is None else query.filter(key=key)
        row = await query.order_by("key").first()  # two defaults (racing set_default): the first by name
        return PresetView.of(row) if row is not None else None
