"""One timed run of one way to fit a clip, and how good its output is.

A run records wall time, its own CPU time (this process's for in-process work, the reaped child's for
ffmpeg) and the CPU that *other* processes used meanwhile (all CPUs' busy time from /proc/stat minus ours),
so a slow run on a shared machine shows why.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from core.media.encode import source_facts
from core.media.fit_plan import Plan, machine_cores, plan_fit
from core.media.probe import probe_video
from core.media.transcode import fit_to_size

CAP = 10 * 1024 * 1024  # Discord's default upload limit
AUDIO_KBPS = 96  # fit_to_size's default


@dataclass(frozen=True)
class Run:
    """One measured run."""

    wall: float
    cpu: float  # seconds of CPU used by the measured work
    others: float  # seconds of CPU other processes used during the run
    out_bytes: int = 0
    note: str = ""

    @property
    def others_cores(self) -> float:
        """How many cores other processes kept busy on average during the run."""
        return self.others / self.wall if self.wall > 0 else 0.0


def busy_cpu_seconds() -> float:
    """CPU seconds all processes have spent (busy time of every CPU, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def timed(work: Callable[[], Awaitable[str]], out: Path | None = None) -> Run:
    """Run `work` (returns a note) and measure it."""
    busy0, cpu0, t0 = busy_cpu_seconds(), own_cpu(), time.monotonic()
    note = await work()
    wall, cpu = time.monotonic() - t0, own_cpu() - cpu0
    others = max(0.0, busy_cpu_seconds() - busy0 - cpu)
    return Run(wall, cpu, others, file_size(out), note)


def file_size(path: Path | None) -> int:
    """Bytes of `path`; 0 when there is none."""
    return path.stat().st_size if path is not None and path.exists() else 0


def first_plan(src: Path) -> Plan:
    """The plan of our fit's first attempt on `src` under CAP (the one the ffmpeg runs are given)."""
    return plan_fit(source_facts(src, probe_video(src)), CAP, AUDIO_KBPS, machine_cores())


async def ours(src: Path, out: Path) -> str:
    """core.media.transcode.fit_to_size, in process, as the bot runs it."""
    result = await fit_to_size(src, out, CAP)
    return f"{result.preset}, {result.attempts} attempt(s), {result.width}x{result.height} @ {result.video_kbps} kbps"


async def ffmpeg(src: Path, out: Path, plan: Plan, preset: str, params: str = "") -> str:
    """Debian's ffmpeg doing the same job: the same frame size, rate control and audio as our plan."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    info = probe_video(src)
    if (plan.width, plan.height) != (info.width, info.height):
        args += ["-vf", f"scale={plan.width}:{plan.height}:flags=area"]
    args += ["-c:v", "libx264", "-preset", preset, *(["-x264-params", params] if params else [])]
    rate = f"{plan.video_kbps}k"
    args += ["-b:v", rate, "-maxrate", rate, "-bufsize", f"{plan.bufsize_kbits}k", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "copy"] if plan.copy_audio else ["-c:a", "aac", "-b:a", f"{plan.audio_kbps or 96}k"]
    args += ["-movflags", "+faststart", str(out)]
    proc = await asyncio.create_subprocess_exec(*args)
    if await proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(args)}")
    return f"-preset {preset}" + (f" -x264-params {params}" if params else "")


async def decode_floor(src: Path, plan: Plan) -> str:
    """Decoding alone with PyAV's frame threads (as our fit decodes), plus the resize when the plan has one."""

    def run() -> str:
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_type = "AUTO"
            frames = 0
            for frame in container.decode(stream):
                if (frame.width, frame.height) != (plan.width, plan.height):
                    frame.reformat(
                        width=plan.width, height=plan.height, format="yuv420p", interpolation="AREA"
                    )
                frames += 1
        resized = (plan.width, plan.height) != (frame.width, frame.height)
        return f"{frames} frames" + (f", resized to {plan.width}x{plan.height}" if resized else "")

    return await asyncio.to_thread(run)


async def previous_fit(src: Path, out: Path) -> str:
    """The fit as shipped before this benchmark (git 1ed571c): the same steps, re-typed here to compare."""
    return await asyncio.to_thread(_previous_fit, src, out)


def _previous_fit(src: Path, out: Path) -> str:
    info = probe_video(src)
    with av.open(str(src)) as container:
        video = container.streams.video[0]
        fps = Fraction(video.average_rate or video.guessed_rate or 24)
    audio = 96 if info.has_audio else 0
    kbps = int(CAP * 8 * 0.92 / info.duration / 1000) - audio
    for attempt in range(1, 4):
        width, height = _previous_frame_size(info.width, info.height, kbps, fps)
        _previous_encode(src, out, width, height, kbps, audio)
        size = out.stat().st_size
        if size <= CAP:
            return f"veryfast, {attempt} attempt(s), {width}x{height} @ {kbps} kbps"
        kbps = int(kbps * CAP / size * 0.85)
    return "did not fit in 3 attempts"


def _previous_frame_size(width: int, height: int, kbps: int, fps: Fraction) -> tuple[int, int]:
    short = min(width, height)
    for side in [short, *(s for s in (1080, 720, 540, 360) if s < short)]:
        w, h = round(width * side / short / 2) * 2, round(height * side / short / 2) * 2
        if kbps * 1000 / (w * h * float(fps)) >= 0.05:
            break
    return w, h


def _previous_encode(src: Path, dest: Path, width: int, height: int, kbps: int, audio_kbps: int) -> None:
    options = {"movflags": "+faststart"}
    with av.open(str(src)) as inp, av.open(str(dest), mode="w", format="mp4", options=options) as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate or 24)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.bit_rate = kbps * 1000
        vout.options = {"preset": "veryfast", "maxrate": f"{kbps}k", "bufsize": f"{kbps}k"}
        streams = {vin: vout}
        if audio_kbps and inp.streams.audio:
            ain = inp.streams.audio[0]
            aout = out.add_stream("aac", rate=ain.rate or 48000)
            aout.layout = "stereo" if ain.channels >= 2 else "mono"
            aout.bit_rate = audio_kbps * 1000
            streams[ain] = aout
        for packet in inp.demux(list(streams)):
            target = streams[packet.stream]
            for frame in packet.decode():
                if target is vout:
                    frame = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
                    frame.pict_type = PictureType.NONE
                out.mux(target.encode(frame))
        for target in streams.values():
            out.mux(target.encode(None))


_SSIM = re.compile(r"All:([0-9.]+)")


def ssim(out: Path, src: Path) -> float:
    """SSIM (ffmpeg's ssim filter, all planes) of `out` against `src`, at `out`'s frame size: the source is
    resized to it with the same area filter when they differ (the 4k clip's fit is 1080p)."""
    o, s = probe_video(out), probe_video(src)
    if (o.width, o.height) == (s.width, s.height):
        graph = "[0:v][1:v]ssim"
    else:
        graph = f"[1:v]scale={o.width}:{o.height}:flags=area[ref];[0:v][ref]ssim"
    args = [
        "ffmpeg",
        "-hide_banner",
        "-nostats",
        "-i",
        str(out),
        "-i",
        str(src),
        "-lavfi",
        graph,
        "-f",
        "null",
        "-",
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=True).stderr
    found = _SSIM.findall(done)
    if not found:
        raise RuntimeError(f"no SSIM from ffmpeg for {out}: {done[-500:]}")
    return float(found[-1])
