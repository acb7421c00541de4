"""`python bot.py doctor`: one line per check; exit 0 when the default model is usable."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from typing import TextIO

from core.catalog import Catalog, ModelSpec, load_catalog
from core.errors import GenerationError
from core.platform.clock import utc_day, utcnow
from core.platform.db import close_db, describe_url, init_db
from core.platform.settings import Settings
from core.services import build_providers
from core.storage import open_storage
from models import Generation

CHECK_TIMEOUT = 15.0


Mark = bool | str | None  # True ok, False FAIL, None a note, "warn" a warning
Line = Callable[[Mark, str, str], None]


async def run_doctor(settings: Settings, out: TextIO, *, today: dt.date | None = None) -> int:
    """Print the checks and return the exit code; `today` is the UTC day the lifecycle is judged by."""
    today = today or utc_day(utcnow())
    ok_default = True

    def line(ok: Mark, name: str, text: str) -> None:
        mark = {True: "ok  ", False: "FAIL", None: "--  ", "warn": "WARN"}[ok]
        out.write(f"{mark} {name}: {text}\n")

    line(True, "settings", "loaded")
    catalog = load_catalog(settings.model_catalog)
    line(
        True, "catalog", f"{len(catalog.models)} models from {settings.model_catalog or 'core/catalog.toml'}"
    )
    for spec in catalog.models.values():
        _lifecycle(catalog, spec, today, line)
    default = catalog.get(settings.default_model)
    if default is None:
        line(False, "default model", f"DEFAULT_MODEL '{settings.default_model}' is not in the catalog")
        ok_default = False
    elif default.retires is not None:
        ok_default = _default_lifecycle(catalog, default, today, line)

    try:
        await init_db(settings.database_url)
        jobs = await Generation.all().count()
        line(True, "database", f"{describe_url(settings.database_url)} ({jobs} jobs recorded)")
    except Exception as exc:  # any driver error is a failed check, reported as text
        line(False, "database", f"{describe_url(settings.database_url)}: {exc}")
        ok_default = False
    finally:
        await close_db()

    try:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.output_dir / f".doctor-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        line(True, "output dir", f"{settings.output_dir} is writable")
    except OSError as exc:
        line(False, "output dir", f"{settings.output_dir}: {exc}")
        ok_default = False

    if settings.storage_url:
        storage = open_storage(settings)
        try:
            await storage.probe()
            line(True, "storage", f"{storage.describe()}: write, read back and delete work")
        except (OSError, ValueError) as exc:  # unreachable, refused, no such bucket
            line(False, "storage", f"{storage.describe()}: {type(exc).__name__}: {exc}")
            ok_default = False
        finally:
            await storage.aclose()

    configured = settings.configured_providers()
    providers = build_providers(settings)
    try:
        for name, is_configured in configured.items():
            answered, listed = await _check_provider(
                name, is_configured, providers.get(name), catalog, today, line
            )
            if default is not None and default.provider == name:
                usable = answered and (listed is None or default.provider_model_id in listed)
                ok_default = ok_default and usable
    finally:
        for provider in providers.values():
            await provider.aclose()
    if default is not None:
        line(
            ok_default,
            "default model",
            f"{default.name} ({default.provider})" + ("" if ok_default else " is not usable"),
        )
    return 0 if ok_default else 1


def _successor_text(catalog: Catalog, spec: ModelSpec, today: dt.date) -> str:
    successor = catalog.successor(spec.name, today)
    return f"use {successor.name}" if successor is not None else "the catalog names no replacement"


def _lifecycle(catalog: Catalog, spec: ModelSpec, today: dt.date, line: Line) -> None:
    """A warning for a retired model, a note for a coming retirement or an unconfirmed model."""
    name = f"model {spec.name}"
    if spec.retires is not None and spec.retired(today):
        line(
            "warn",
            name,
            f"retired on {spec.retires:%Y-%m-%d}: hidden from /video and refused as model_unavailable; "
            + _successor_text(catalog, spec, today),
        )
    elif spec.retires is not None:
        days = (spec.retires - today).days
        then = catalog.successor(spec.name, spec.retires)
        line(
            None,
            name,
            f"retires on {spec.retires:%Y-%m-%d} (in {days} day{'s' * (days != 1)}); "
            + (f"requests then go to {then.name}" if then else "the catalog names no replacement"),
        )
    if not spec.confirmed:
        line(None, name, "unconfirmed" + (f": {spec.notes}" if spec.notes else ""))


def _default_lifecycle(catalog: Catalog, default: ModelSpec, today: dt.date, line: Line) -> bool:
    """The default model's retirement: a failure once retired, a note before; True while usable."""
    assert default.retires is not None
    when = f"{default.retires:%Y-%m-%d}"
    successor = catalog.successor(default.name, default.retires)
    fix = f"set DEFAULT_MODEL={successor.name}" if successor else "set DEFAULT_MODEL to another model"
    if default.retired(today):
        line(False, "default model", f"DEFAULT_MODEL '{default.name}' was retired on {when}; {fix}")
        return False
    line(None, "default model", f"DEFAULT_MODEL '{default.name}' retires on {when}; {fix} before then")
    return True


async def _check_provider(
    name, is_configured, provider, catalog: Catalog, today: dt.date, line: Line
) -> tuple[bool, list[str] | None]:
    """Print the provider's line; return (usable, model ids it listed or None). A retired model's id
    missing from the API's list is expected, not a failure."""
    ids = list(dict.fromkeys(m.provider_model_id for m in catalog.models.values() if m.provider == name))
    live = {m.provider_model_id for m in catalog.offered(today) if m.provider == name}
    if not is_configured or provider is None:
        hint = {
            "gemini": "GEMINI_API_KEY",
            "vertex": "GOOGLE_CLOUD_PROJECT or VERTEX_API_KEY",
            "fal": "FAL_KEY",
            "comfyui": "COMFYUI_URL",
        }
        line(None, f"provider {name}", f"not configured (set {hint.get(name, '?')})")
        return False, None
    if name == "comfyui":
        from app.doctor_comfyui import check_comfyui

        return await check_comfyui(provider, catalog, line, CHECK_TIMEOUT), None
    try:
        listed = await asyncio.wait_for(provider.list_models(), CHECK_TIMEOUT)
    except (GenerationError, TimeoutError) as exc:
        detail = exc.detail if isinstance(exc, GenerationError) else f"no answer in {CHECK_TIMEOUT:.0f}s"
        line(False, f"provider {name}", f"configured, but the API did not answer: {detail}")
        return False, None
    if listed is None:
        line(True, f"provider {name}", "configured (this API cannot list models; checked at first use)")
        return True, None
    missing = [m for m in ids if m in live and m not in listed]
    if missing:
        line(False, f"provider {name}", f"API answers, but does not list: {', '.join(missing)}")
    else:
        line(True, f"provider {name}", f"API answers and lists {', '.join(m for m in ids if m in listed)}")
    return True, listed
