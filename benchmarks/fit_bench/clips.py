"""The benchmark's inputs, made with ffmpeg's lavfi sources: moving test patterns with seeded grain and a
sine tone, H.264 + AAC in mp4. Cached in the work folder under a name that hashes the recipe."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "fit_bench needs ffmpeg (Debian's package): apt-get install -y ffmpeg\n"
    "(only the benchmark needs it; the bot and the test suite use PyAV's own libraries)"
)


@dataclass(frozen=True)
class Clip:
    """One input: what it looks like and how ffmpeg encodes it."""

    name: str
    width: int
    height: int
    seconds: int
    fps: int
    grain: int  # strength of ffmpeg's `noise` filter (temporal + uniform), 0-100
    seed: int
    preset: str
    video_bitrate: str  # x264 ABR target of the source, e.g. "20M"
    note: str

    def args(self, dest: Path) -> list[str]:
        """The ffmpeg command that makes this clip at `dest`."""
        video = (
            f"testsrc2=s={self.width}x{self.height}:r={self.fps}:d={self.seconds},"
            f"noise=alls={self.grain}:allf=t+u:all_seed={self.seed}"
        )
        rate = self.video_bitrate
        return [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", video),
            *("-f", "lavfi", "-i", f"sine=f=440:d={self.seconds}:r=48000"),
            *("-c:v", "libx264", "-preset", self.preset, "-b:v", rate, "-maxrate", rate, "-bufsize", rate),
            *("-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest"),
            str(dest),
        ]


CLIPS = {
    "1080p": Clip(
        "1080p", 1920, 1080, 8, 24, 25, 42, "veryfast", "21M", "8 s 1080p24, heavy film grain, ~21 MB"
    ),
    "4k": Clip("4k", 3840, 2160, 8, 24, 10, 7, "superfast", "38M", "8 s 2160p24, light grain, ~35 MB"),
}


def ffmpeg_or_exit() -> str:
    """The ffmpeg version line; exits with the install hint when ffmpeg is missing."""
    if shutil.which("ffmpeg") is None:
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(2)
    out = subprocess.run(["ffmpeg", "-hide_banner", "-version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def make_clip(clip: Clip, folder: Path) -> Path:
    """The clip's file in `folder`, made unless a file from the same recipe is already there."""
    recipe = " ".join(clip.args(Path("out.mp4")))
    path = folder / f"{clip.name}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}.mp4"
    if not path.exists():
        print(f"# making the {clip.name} clip ({clip.note}) ...", file=sys.stderr, flush=True)
        part = path.with_suffix(".part.mp4")
        subprocess.run(clip.args(part), check=True)
        part.replace(path)
    return path
