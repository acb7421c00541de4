"""Whether a file is already the mp4 Discord handles best: ISO-BMFF (not QuickTime), not fragmented, its
index (`moov`) before the media data (`mdat`), so a player can start before the whole file has arrived.

Only the top-level box headers are read (a few seeks), never the media.
"""

from __future__ import annotations

from pathlib import Path

HEADER = 16  # a box header: 32-bit size and type, then a 64-bit size when the 32-bit one is 1
QUICKTIME_BRAND = b"qt  "


def layout_problem(path: Path) -> str | None:
    """Why `path` is not a plain faststart mp4, in a few words; None when it is one."""
    with Path(path).open("rb") as file:
        end = file.seek(0, 2)
        offset, seen = 0, []
        while offset + 8 <= end:
            file.seek(offset)
            head = file.read(HEADER)
            size, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if size == 1 and len(head) >= HEADER:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:  # the last box runs to the end of the file
                size = end - offset
            if not seen:
                if kind != b"ftyp":
                    return "not an mp4 container"
                if head[8:12] == QUICKTIME_BRAND:
                    return "a QuickTime (.mov) container"
            if size < 8:
                return "a damaged mp4 (bad box size)"
            if kind == b"moof":
                return "a fragmented mp4"
            if kind == b"mdat" and b"moov" not in seen:
                return "an mp4 whose index comes after the media (not faststart)"
            if kind == b"mdat":
                return None  # moov came first; fragments, if any, would have started before this
            seen.append(kind)
            offset += size
    return "an mp4 without media data" if b"moov" in seen else "an mp4 without an index (moov)"
