"""Where videos are written: safe output file names, and sizes as people read them."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

SLUG_MAX_CHARS = 24


def prompt_slug(prompt: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """ASCII letters, digits and single underscores from `prompt`, at most `max_chars`; 'video' if empty."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"\s+", "_", ascii_text)
    text = re.sub(r"[^A-Za-z0-9_]", "", text)
    text = re.sub(r"_+", "_", text).strip("_")
    text = text[:max_chars].rstrip("_")
    return text or "video"


def output_filename(prompt: str, when: datetime, job_id: int) -> str:
    """E.g. '20250105_143025_A_serene_mountain_landsc_42.mp4': timestamp, prompt slug, job id."""
    return f"{when:%Y%m%d_%H%M%S}_{prompt_slug(prompt)}_{int(job_id)}.mp4"


def safe_output_path(output_dir: Path, filename: str) -> Path:
    """`output_dir/filename` resolved; ValueError unless it is a file directly inside output_dir."""
    if not filename or "\x00" in filename or "/" in filename or "\\" in filename:
        raise ValueError(f"unsafe output file name {filename!r}")
    base = Path(output_dir).resolve()
    candidate = (base / filename).resolve()
    if candidate.parent != base or candidate.name in ("", ".", ".."):
        raise ValueError(f"output file name {filename!r} escapes {base}")
    return candidate


def human_size(n: int) -> str:
    """Bytes as '9.5 MB' (MiB with one decimal, labelled MB); '512.0 KB' below 1 MiB."""
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
