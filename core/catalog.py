"""The model catalog: model ids, limits and prices as data (core/catalog.toml), validated at start."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.catalog_values import day as _day
from core.catalog_values import kind_name as _kind_name
from core.catalog_values import prices as _prices
from core.catalog_workflows import workflow_fields as _workflows

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.toml")

PROVIDERS = ("demo", "gemini", "vertex", "fal", "comfyui")
AUDIO_MODES = ("always", "optional", "off", "none")
DURATION_FORMATS = ("seconds_suffix", "string", "integer")
EXTENSION_MODES = ("native", "last_frame", "none")
EXTENSION_OUTPUTS = ("continuation", "whole")
NATIVE_EXTENSION_PROVIDERS = ("gemini", "vertex")  # the providers whose request can carry a video
KNOWN_RESOLUTIONS = ("360p", "480p", "540p", "720p", "1080p", "4k")
KNOWN_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Rule:
    """A per-model combination rule, e.g. Veo: 1080p and 4k need 8 s."""

    resolutions: tuple[str, ...]
    durations: tuple[int, ...]
    message: str


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry."""

    name: str
    provider: str
    provider_model_id: str
    label: str
    durations: tuple[int, ...]
    aspect_ratios: tuple[str, ...]
    resolutions: tuple[str, ...]
    default_duration: int
    default_aspect_ratio: str
    default_resolution: str
    audio: str
    seed: bool
    negative_prompt: bool
    image_input: bool
    usd_per_second: dict[str, float]
    expected_latency_s: float
    max_prompt_chars: int = 2000
    rules: tuple[Rule, ...] = ()
    duration_format: str = "seconds_suffix"
    image_model_id: str | None = None
    image_field: str = "image_url"  # fal: the image endpoint's first-frame field
    image_aspect_ratio: bool = True  # fal: False when the image endpoint takes no aspect_ratio
    send_resolution: bool = True
    requests_per_minute: int | None = None
    poll_interval_s: float | None = None  # None = the provider's own cadence
    notes: str = ""
    retires: dt.date | None = None  # the first UTC day the model is no longer offered
    replaced_by: str | None = None  # the catalog entry that takes its requests
    confirmed: bool = True  # False: only third parties report this model / id
    end_frame: bool = False  # takes a last frame (and so can loop: first frame = last frame)
    end_frame_field: str = "end_image_url"  # fal: the image endpoint's last-frame field
    extension: str = "none"  # native | last_frame | none: how Extend continues a clip
    extension_durations: tuple[int, ...] = ()  # seconds one Extend may add (default: durations)
    extension_max_s: int = 0  # longest clip Extend may reach, in seconds (0: no Extend)
    extension_output: str = "continuation"  # native only: continuation | whole (the API returns all)
    usd_per_second_silent: dict[str, float] | None = None  # audio optional: the price without sound
    permissive: dict[str, Any] = field(default_factory=dict)  # fal: inputs for NSFW channels that allow it
    # comfyui: the API-format workflow (its path, found next to the catalog file, else shipped) and how the
    # request binds to it; image_workflow/image_bindings: the first-frame variant (like image_model_id)
    workflow: str | None = None
    bindings: dict[str, Any] = field(default_factory=dict)
    image_workflow: str | None = None
    image_bindings: dict[str, Any] = field(default_factory=dict)
    frame_rule: str = "any"
    fps: int = 24
    size_multiple: int = 32
    image_required: bool = False  # derived: the only workflow binds an image (not a catalog field)
    extra: dict[str, Any] = field(default_factory=dict)

    def retired(self, today: dt.date) -> bool:
        """True from the retire day (UTC) on: hidden, refused, flagged by doctor."""
        return self.retires is not None and today >= self.retires

    def price_per_second(self, resolution: str, *, audio: bool = True) -> float:
        """USD per generated second at `resolution` (without sound: the silent price, where one is set)."""
        table = self.usd_per_second if audio or not self.usd_per_second_silent else self.usd_per_second_silent
        return table.get(resolution, table["default"])

    def estimate_cost(self, duration: int, resolution: str, *, audio: bool = True) -> float:
        """Estimated USD for one video of `duration` seconds."""
        return round(self.price_per_second(resolution, audio=audio) * duration, 4)

    @property
    def can_extend(self) -> bool:
        """Whether Extend is offered on this model's clips."""
        return self.extension != "none" and self.extension_max_s > 0

    @property
    def extension_steps(self) -> tuple[int, ...]:
        """The seconds one Extend may add."""
        return self.extension_durations or self.durations

    def describe_limits(self) -> str:
        """One line: durations, aspect ratios, resolutions and price, for pickers and errors."""
        durations = _span(self.durations)
        price = self.price_per_second(self.default_resolution)
        return (
            f"{durations} s · {'/'.join(self.aspect_ratios)} · {'/'.join(self.resolutions)} · ${price:.3f}/s"
        )


def _span(values: tuple[int, ...]) -> str:
    contiguous = len(values) > 2 and list(values) == list(range(values[0], values[-1] + 1))
    return f"{values[0]}-{values[-1]}" if contiguous else ",".join(str(v) for v in values)


@dataclass(frozen=True)
class Catalog:
    """All models by public name."""

    models: dict[str, ModelSpec]

    def get(self, name: str) -> ModelSpec | None:
        """The model called `name`, or None."""
        return self.models.get(name)

    def names(self) -> list[str]:
        """Public names in file order."""
        return list(self.models)

    def offered(self, today: dt.date) -> list[ModelSpec]:
        """The models not retired on `today` (a UTC day), in file order."""
        return [m for m in self.models.values() if not m.retired(today)]

    def successor(self, name: str, today: dt.date) -> ModelSpec | None:
        """The model that takes over from `name` on `today`: its `replaced_by`, followed past
        replacements that are themselves retired; None when the chain names none."""
        seen = {name}
        spec = self.models.get(name)
        while spec is not None and spec.replaced_by and spec.replaced_by not in seen:
            seen.add(spec.replaced_by)
            spec = self.models.get(spec.replaced_by)
            if spec is not None and not spec.retired(today):
                return spec
        return None


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file (the shipped one when `path` is None)."""
    path = Path(path) if path else DEFAULT_CATALOG_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"model catalog {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"model catalog {path} is not valid TOML: {exc}") from None
    return parse_catalog(raw, source=str(path), folder=path.parent)


def parse_catalog(raw: dict[str, Any], source: str = "catalog", folder: Path | None = None) -> Catalog:
    """Validate the decoded TOML document; `folder` (the file's) is where a ComfyUI workflow is looked
    for first, before the shipped workflows."""
    entries = raw.get("models")
    if not isinstance(entries, dict) or not entries:
        raise CatalogError(f"{source}: needs a [models.<name>] table for at least one model")
    models = {name: _parse_entry(name, entry, source, folder) for name, entry in entries.items()}
    for spec in models.values():
        where = f"{source}: model '{spec.name}', field 'replaced_by'"
        chain = [spec.name]
        while (nxt := models[chain[-1]].replaced_by) is not None:
            if nxt not in models:
                raise CatalogError(
                    f"{where}: '{nxt}' is not a model in this catalog (models: {', '.join(models)})"
                )
            if nxt in chain:
                raise CatalogError(
                    f"{where}: the replacements go round in a loop: {' -> '.join([*chain, nxt])}"
                )
            chain.append(nxt)
    return Catalog(models)


def _parse_entry(name: str, e: Any, source: str, folder: Path | None = None) -> ModelSpec:
    where = f"{source}: model '{name}'"

    def fail(key: str, problem: str) -> CatalogError:
        return CatalogError(f"{where}, field '{key}': {problem}")

    if not isinstance(e, dict):
        raise CatalogError(f"{where}: must be a table")
    known = set(ModelSpec.__dataclass_fields__) - {"name", "rules", "usd_per_second", "image_required"}
    known |= {"rules", "usd_per_second"}
    for key in e:
        if key not in known:
            raise fail(key, "unknown field")

    def need(key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in e:
            raise fail(key, "is required")
        value = e[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise fail(key, f"must be {_kind_name(kind)}, got {value!r}")
        return value

    def opt(key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        return need(key, kind) if key in e else default

    def choice_list(key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        values = need(key, list)
        if not values or not all(isinstance(v, str) for v in values):
            raise fail(key, "must be a non-empty list of strings")
        for v in values:
            if v not in allowed:
                raise fail(key, f"{v!r} is not one of {', '.join(allowed)}")
        return tuple(values)

    provider = need("provider", str)
    if provider not in PROVIDERS:
        raise fail("provider", f"{provider!r} is not one of {', '.join(PROVIDERS)}")
    durations = need("durations", list)
    if not durations or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in durations):
        raise fail("durations", "must be a non-empty list of positive whole seconds")
    durations = tuple(sorted(set(durations)))
    aspect_ratios = choice_list("aspect_ratios", KNOWN_ASPECT_RATIOS)
    resolutions = choice_list("resolutions", KNOWN_RESOLUTIONS)

    default_duration = opt("default_duration", int, durations[0])
    if default_duration not in durations:
        raise fail("default_duration", f"{default_duration} is not in durations")
    default_aspect = opt("default_aspect_ratio", str, aspect_ratios[0])
    if default_aspect not in aspect_ratios:
        raise fail("default_aspect_ratio", f"{default_aspect!r} is not in aspect_ratios")
    default_resolution = opt("default_resolution", str, resolutions[0])
    if default_resolution not in resolutions:
        raise fail("default_resolution", f"{default_resolution!r} is not in resolutions")

    audio = need("audio", str)
    if audio not in AUDIO_MODES:
        raise fail("audio", f"{audio!r} is not one of {', '.join(AUDIO_MODES)}")
    if audio == "off" and provider != "fal":
        raise fail("audio", "'off' (ask the model for no sound) is only supported for fal models")

    prices = _prices(
        need("usd_per_second", (int, float, dict)), resolutions, lambda p: fail("usd_per_second", p)
    )
    silent = None
    if "usd_per_second_silent" in e:
        if audio != "optional":
            raise fail(
                "usd_per_second_silent", "only a model whose audio is 'optional' can be asked for silence"
            )
        silent = _prices(
            need("usd_per_second_silent", (int, float, dict)),
            resolutions,
            lambda p: fail("usd_per_second_silent", p),
        )

    latency = need("expected_latency_s", (int, float))
    if latency <= 0:
        raise fail("expected_latency_s", "must be > 0")

    rules = []
    for i, rule in enumerate(opt("rules", list, [])):
        key = f"rules[{i}]"
        if not isinstance(rule, dict) or set(rule) - {"resolutions", "durations", "message"}:
            raise fail(key, "must be a table with resolutions, durations and message")
        r_res = tuple(rule.get("resolutions", ()))
        r_dur = tuple(rule.get("durations", ()))
        if not r_res or not r_dur or not isinstance(rule.get("message"), str):
            raise fail(key, "needs non-empty resolutions, durations and a message")
        if set(r_res) - set(resolutions) or set(r_dur) - set(durations):
            raise fail(key, "names resolutions or durations the model does not offer")
        rules.append(Rule(r_res, r_dur, rule["message"]))

    duration_format = opt("duration_format", str, "seconds_suffix")
    if duration_format not in DURATION_FORMATS:
        raise fail("duration_format", f"{duration_format!r} is not one of {', '.join(DURATION_FORMATS)}")
    max_prompt = opt("max_prompt_chars", int, 2000)
    if not 1 <= max_prompt <= 2000:
        raise fail("max_prompt_chars", "must be between 1 and 2000")
    poll = opt("poll_interval_s", (int, float), None)
    if poll is not None and poll < 0:
        raise fail("poll_interval_s", "must be >= 0")
    rpm = opt("requests_per_minute", int, None)
    if rpm is not None and rpm <= 0:
        raise fail("requests_per_minute", "must be > 0")
    image_model_id = opt("image_model_id", str, None)
    image_input = opt("image_input", bool, False)
    if provider == "fal" and image_input and not image_model_id:
        raise fail("image_model_id", "is required for a fal model with image_input = true")
    image_field = opt("image_field", str, "image_url")
    if not image_field.isidentifier():
        raise fail("image_field", f"{image_field!r} is not a field name (e.g. image_url)")
    end_frame = opt("end_frame", bool, False)
    if end_frame and not image_input:
        raise fail("end_frame", "a last frame needs image_input = true (a loop starts and ends on the image)")
    end_frame_field = opt("end_frame_field", str, "end_image_url")
    if not end_frame_field.isidentifier():
        raise fail("end_frame_field", f"{end_frame_field!r} is not a field name (e.g. end_image_url)")
    extension = opt("extension", str, "none")
    if extension not in EXTENSION_MODES:
        raise fail("extension", f"{extension!r} is not one of {', '.join(EXTENSION_MODES)}")
    if extension == "last_frame" and not image_input:
        raise fail("extension", "'last_frame' continues from an image: it needs image_input = true")
    if extension == "native" and provider not in NATIVE_EXTENSION_PROVIDERS:
        raise fail("extension", f"'native' is built for {', '.join(NATIVE_EXTENSION_PROVIDERS)} models only")
    steps = opt("extension_durations", list, [])
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in steps):
        raise fail("extension_durations", "must be a list of positive whole seconds")
    if extension == "last_frame" and set(steps) - set(durations):
        raise fail("extension_durations", "a last-frame extension is a clip: use this model's durations")
    extension_max = opt("extension_max_s", int, 0)
    if extension != "none" and extension_max <= min(steps or durations):
        raise fail("extension_max_s", "must be longer than one extension step")
    extension_output = opt("extension_output", str, "continuation")
    if extension_output not in EXTENSION_OUTPUTS:
        raise fail("extension_output", f"{extension_output!r} is not one of {', '.join(EXTENSION_OUTPUTS)}")
    permissive = opt("permissive", dict, {})
    if permissive and provider != "fal":
        raise fail("permissive", "looser safety inputs are built for fal models only")
    if not all(isinstance(v, (str, int, float, bool)) for v in permissive.values()):
        raise fail("permissive", "values must be strings, numbers or booleans (the endpoint's inputs)")
    comfy = _workflows(name, e, provider, image_input, folder, fail)
    retires = _day(e.get("retires"), lambda problem: fail("retires", problem))
    replaced_by = opt("replaced_by", str, None)
    if replaced_by is not None and retires is None:
        raise fail("replaced_by", "needs 'retires', the day the replacement takes over")
    if replaced_by == name:
        raise fail("replaced_by", "cannot name the model itself")

    return ModelSpec(
        name=name,
        provider=provider,
        provider_model_id=need("provider_model_id", str),
        label=opt("label", str, name),
        durations=durations,
        aspect_ratios=aspect_ratios,
        resolutions=resolutions,
        default_duration=default_duration,
        default_aspect_ratio=default_aspect,
        default_resolution=default_resolution,
        audio=audio,
        seed=opt("seed", bool, False),
        negative_prompt=opt("negative_prompt", bool, False),
        image_input=image_input,
        usd_per_second=prices,
        expected_latency_s=float(latency),
        max_prompt_chars=max_prompt,
        rules=tuple(rules),
        duration_format=duration_format,
        image_model_id=image_model_id,
        image_field=image_field,
        image_aspect_ratio=opt("image_aspect_ratio", bool, True),
        send_resolution=opt("send_resolution", bool, True),
        requests_per_minute=rpm,
        poll_interval_s=float(poll) if poll is not None else None,
        notes=opt("notes", str, ""),
        retires=retires,
        replaced_by=replaced_by,
        confirmed=opt("confirmed", bool, True),
        end_frame=end_frame,
        end_frame_field=end_frame_field,
        extension=extension,
        extension_durations=tuple(sorted(set(steps))),
        extension_max_s=extension_max,
        extension_output=extension_output,
        usd_per_second_silent=silent,
        permissive=dict(permissive),
        extra=opt("extra", dict, {}),
        **comfy,
    )
