"""`python bot.py doctor`: one line per check; exit 0 when the default model is usable."""

from __future__ import annotations

import asyncio
import uuid
from typing import TextIO

from core.catalog import Catalog, load_catalog
from core.errors import GenerationError
from core.platform.db import close_db, describe_url, init_db
from core.platform.settings import Settings
from core.services import build_providers
from models import Generation

CHECK_TIMEOUT = 15.0


async def run_doctor(settings: Settings, out: TextIO) -> int:
    """Print the checks and return the exit code."""
    ok_default = True

    def line(ok: bool | None, name: str, text: str) -> None:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}[ok]
        out.write(f"{mark} {name}: {text}\n")

    line(True, "settings", "loaded")
    catalog = load_catalog(settings.model_catalog)
    line(
        True, "catalog", f"{len(catalog.models)} models from {settings.model_catalog or 'core/catalog.toml'}"
    )
    default = catalog.get(settings.default_model)
    if default is None:
        line(False, "default model", f"DEFAULT_MODEL '{settings.default_model}' is not in the catalog")
        ok_default = False

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

    configured = settings.configured_providers()
    providers = build_providers(settings)
    try:
        for name, is_configured in configured.items():
            answered, listed = await _check_provider(name, is_configured, providers.get(name), catalog, line)
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


async def _check_provider(
    name, is_configured, provider, catalog: Catalog, line
) -> tuple[bool, list[str] | None]:
    """Print the provider's line; return (usable, model ids it listed or None)."""
    models = [m.provider_model_id for m in catalog.models.values() if m.provider == name]
    if not is_configured or provider is None:
        hint = {
            "gemini": "GEMINI_API_KEY",
            "vertex": "GOOGLE_CLOUD_PROJECT or VERTEX_API_KEY",
            "fal": "FAL_KEY",
        }
        line(None, f"provider {name}", f"not configured (set {hint.get(name, '?')})")
        return False, None
    try:
        listed = await asyncio.wait_for(provider.list_models(), CHECK_TIMEOUT)
    except (GenerationError, TimeoutError) as exc:
        detail = exc.detail if isinstance(exc, GenerationError) else f"no answer in {CHECK_TIMEOUT:.0f}s"
        line(False, f"provider {name}", f"configured, but the API did not answer: {detail}")
        return False, None
    if listed is None:
        line(True, f"provider {name}", "configured (this API cannot list models; checked at first use)")
        return True, None
    missing = [m for m in models if m not in listed]
    if missing:
        line(False, f"provider {name}", f"API answers, but does not list: {', '.join(missing)}")
    else:
        line(True, f"provider {name}", f"API answers and lists {', '.join(models)}")
    return True, listed
