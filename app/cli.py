"""Terminal commands: `generate` (the whole pipeline with a live progress bar) and `doctor`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from app.doctor import run_doctor
from core.catalog import CatalogError
from core.jobs.progress import ProgressCallback, progress_bar
from core.jobs.views import GenerationResult, Requester
from core.media.retention import sweep_outputs
from core.platform.db import close_db, describe_url, init_db
from core.platform.settings import Settings, SettingsError, load_settings
from core.services import build_services
from core.validation import GenerationParams

LOCAL_USER_ID = 0  # jobs started from the terminal are recorded under this user


def terminal_progress(stream: TextIO) -> ProgressCallback:
    """A progress callback that redraws one line on a terminal, or prints a line per step otherwise."""
    live = stream.isatty()

    async def show(percent: int, stage: str) -> None:
        line = f"{progress_bar(percent)} {percent}% - {stage}"
        stream.write(f"\r\x1b[2K{line}" if live else f"{line}\n")
        if live and percent >= 100:
            stream.write("\n")
        stream.flush()

    return show


def summary(result: GenerationResult) -> str:
    """The human-readable result block (the seed's summary)."""
    if result.status == "success":
        lines = [
            "✅ Video generated successfully!",
            f"   Video: {result.video_path}",
            f"   Model: {result.model} ({result.video_seconds}s, est. ${result.estimated_cost_usd or 0:.2f})",
        ]
    else:
        lines = [f"❌ Generation failed: {result.error}", f"   Error type: {result.error_type}"]
        if result.error_detail:
            lines.append(f"   Detail: {result.error_detail}")
        if result.refunded:
            lines.append("   Your quota was refunded.")
    if result.generation_id is not None:
        lines.append(f"   Generation ID: {result.generation_id}")
    if result.operation_id:
        lines.append(f"   Operation ID: {result.operation_id}")
    if result.duration is not None:
        lines.append(f"   Time taken: {result.duration:.1f}s")
    return "\n".join(lines)


async def generate_command(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run one generation from the terminal; 0 on success, 1 on error."""
    services = build_services(settings)
    await init_db(settings.database_url)
    await sweep_outputs(settings.output_dir, settings.output_retention_days, storage=services.storage)
    try:
        params = GenerationParams(
            prompt=args.prompt,
            model=args.model,
            duration=args.duration,
            aspect_ratio=args.aspect_ratio,
            resolution=args.resolution,
            negative_prompt=args.negative_prompt,
            seed=args.seed,
        )
        spec = services.catalog.get(args.model or settings.default_model)
        if spec is not None and spec.provider == "demo":
            err.write("Demo model: renders a labelled test pattern locally (not AI output).\n")
        result = await services.generate(params, Requester(user_id=LOCAL_USER_ID), terminal_progress(err))
    finally:
        await services.aclose()
        await close_db()
    out.write(summary(result) + "\n")
    if args.json:
        out.write(json.dumps(result.to_dict()) + "\n")
    return 0 if result.status == "success" else 1


def build_parser() -> argparse.ArgumentParser:
    """`python bot.py [generate|doctor]`."""
    parser = argparse.ArgumentParser(prog="bot.py", description="Discord text-to-video bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Discord bot (the default)")
    sub.add_parser("worker", help="run jobs only: no gateway, REST only (several may share PostgreSQL)")
    gen = sub.add_parser("generate", help="generate one video from the terminal")
    gen.add_argument("prompt")
    gen.add_argument("--model", help="catalog model name (default: DEFAULT_MODEL)")
    gen.add_argument("--duration", type=int, help="seconds")
    gen.add_argument("--aspect-ratio", help="e.g. 16:9 or 9:16")
    gen.add_argument("--resolution", help="e.g. 720p")
    gen.add_argument("--negative-prompt")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--json", action="store_true", help="print the result object as the last stdout line")
    sub.add_parser("doctor", help="check settings, database, output folder and providers")
    return parser


async def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point for the terminal commands; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        err.write(f"error: {exc}\n")
        return 2
    try:
        if args.command == "generate":
            return await generate_command(settings, args, out, err)
        if args.command == "doctor":
            return await run_doctor(settings, out)
    except (SettingsError, CatalogError) as exc:
        err.write(f"error: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"error: database {describe_url(settings.database_url)}: {exc}\n")
        return 2
    raise SystemExit(f"unknown command {args.command}")
