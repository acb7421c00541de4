"""`python -m benchmarks.fit_bench`: make the clips, run every method on each side by side (interleaved, so
load from other processes falls on all of them alike), score them, time the delivery path, print the
tables; exit code 0 only when every target is met (see the package docstring and benchmarks/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import av

from benchmarks.fit_bench import __doc__ as package_doc
from benchmarks.fit_bench import measure
from benchmarks.fit_bench.clips import CLIPS, ffmpeg_or_exit, make_clip
from benchmarks.fit_bench.delivery import Rig
from benchmarks.fit_bench.report import print_report
from core.media.fit_plan import machine_cores

OURS = "ours (fit_to_size)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fit_bench", description=(package_doc or "").split("\n")[0]
    )
    parser.add_argument("--clips", nargs="+", choices=list(CLIPS), default=list(CLIPS), help="default: all")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method per clip (default 3)")
    parser.add_argument(
        "--delivery-repeat", type=int, default=None, help="deliveries per clip (default: --repeat)"
    )
    parser.add_argument("--no-previous", action="store_true", help="skip the previous fit (the slowest)")
    parser.add_argument("--no-delivery", action="store_true", help="skip the delivery path")
    parser.add_argument(
        "--workdir",
        default=str(Path(tempfile.gettempdir()) / "fit_bench"),
        help="where the clips (kept between runs) and outputs go (default: $TMPDIR/fit_bench)",
    )
    parser.add_argument(
        "--busy", type=int, default=0, help="keep N other processes spinning meanwhile (simulated other work)"
    )
    parser.add_argument("--json", help="also write every measured value to this JSON file")
    parser.add_argument("--log-level", default="WARNING", help="log level of the bot's modules")
    return parser.parse_args(argv)


@contextlib.contextmanager
def spinners(count: int) -> Iterator[None]:
    """`count` child processes that each keep one core busy until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def methods(
    src: Path, workdir: Path, name: str, plan: Any, previous: bool
) -> list[tuple[str, Callable[[], Awaitable[str]], Path | None]]:
    """(label, work, output) for every way of fitting `src` that is compared."""

    def out(tag: str) -> Path:
        return workdir / f"{name}-{tag}.mp4"

    listed: list[tuple[str, Callable[[], Awaitable[str]], Path | None]] = [
        (OURS, lambda: measure.ours(src, out("ours")), out("ours")),
        (
            "ffmpeg -preset veryfast",
            lambda: measure.ffmpeg(src, out("veryfast"), plan, "veryfast"),
            out("veryfast"),
        ),
        (
            "ffmpeg -preset ultrafast",
            lambda: measure.ffmpeg(src, out("ultrafast"), plan, "ultrafast"),
            out("ultrafast"),
        ),
        (
            "ffmpeg, our x264 settings",
            lambda: measure.ffmpeg(src, out("oursettings"), plan, plan.tier.preset, plan.tier.params),
            out("oursettings"),
        ),
    ]
    if previous:
        listed.append(
            (
                "previous fit (PyAV, before)",
                lambda: measure.previous_fit(src, out("previous")),
                out("previous"),
            )
        )
    listed.append(("decode only (PyAV, threaded)", lambda: measure.decode_floor(src, plan), None))
    return listed


async def run_clip(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every method on one clip, `--repeat` rounds, then SSIM per output; then the deliveries."""
    clip = CLIPS[name]
    src = make_clip(clip, workdir)
    plan = measure.first_plan(src)
    listed = methods(src, workdir, name, plan, not args.no_previous)
    runs: dict[str, list[measure.Run]] = {label: [] for label, _, _ in listed}
    for rep in range(args.repeat):
        for label, work, output in listed:
            print(f"# {name} round {rep + 1}/{args.repeat}: {label} ...", file=sys.stderr, flush=True)
            runs[label].append(await measure.timed(work, output))
    result: dict[str, Any] = {
        "name": name,
        "seconds": clip.seconds,
        "source_bytes": src.stat().st_size,
        "plan": dataclasses.asdict(plan),
        "methods": {},
    }
    for label, _, output in listed:
        entry: dict[str, Any] = {
            "runs": [dataclasses.asdict(r) | {"others_cores": r.others_cores} for r in runs[label]]
        }
        if output is not None:
            print(f"# {name}: SSIM of {label} ...", file=sys.stderr, flush=True)
            entry["ssim"] = await asyncio.to_thread(measure.ssim, output, src)
        result["methods"][label] = entry
    if not args.no_delivery:
        result["delivery"] = await run_deliveries(src, workdir, args.delivery_repeat or args.repeat, name)
    return result


async def run_deliveries(src: Path, workdir: Path, count: int, name: str) -> list[dict[str, Any]]:
    """`count` deliveries of `src` (download, fit, upload), each timed per stage."""
    deliveries = []
    async with Rig(src, workdir, measure.CAP) as rig:
        for index in range(count):
            print(f"# {name} delivery {index + 1}/{count} ...", file=sys.stderr, flush=True)
            busy0 = measure.busy_cpu_seconds()
            cpu0 = measure.own_cpu()
            d = await rig.run(index)
            others = max(0.0, measure.busy_cpu_seconds() - busy0 - (measure.own_cpu() - cpu0))
            deliveries.append(dataclasses.asdict(d) | {"total": d.total, "others_cores": others / d.total})
    return deliveries


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir)
    machine = {
        "cores": machine_cores(),
        "load_start": loadavg(),
        "ffmpeg": ffmpeg_or_exit(),
        "pyav": av.__version__,
    }
    clips = {}
    for name in args.clips:
        clips[name] = await run_clip(name, args, workdir)
    machine["load_end"] = loadavg()
    return {"machine": machine, "cap": measure.CAP, "repeat": args.repeat, "clips": clips}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    with spinners(args.busy):
        result = asyncio.run(run(args))
    result["machine"]["busy"] = args.busy
    all_met = print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
