"""The benchmark's tables and target checks, from the result dict `__main__` builds."""

from __future__ import annotations

import statistics
from typing import Any

MB = 1024 * 1024
TARGET_REALTIME = 0.5  # the fit of the 8 s 1080p clip in at most half its duration
TARGET_SSIM_GAP = 0.01  # at most this much below ffmpeg -preset veryfast's SSIM
TARGET_DELIVERY_S = 6.0  # download + fit + upload, p50, 1080p
REFERENCE = "ffmpeg -preset veryfast"

FIT_HEADER = (
    "| clip | method | wall p50 (s) | wall min–max (s) | CPU p50 (s) | × clip length | others' CPU (cores) "
    "| output (MB) | SSIM | Δ SSIM vs veryfast | how |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)
DELIVERY_HEADER = (
    "| clip | download p50 (s) | fit p50 (s) | upload p50 (s) | total p50 (s) | total min–max (s) "
    "| others' CPU (cores) | uploaded (MB) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fit_rows(clip: dict[str, Any]) -> list[str]:
    """One table row per method of one clip."""
    reference = clip["methods"].get(REFERENCE, {}).get("ssim")
    rows = []
    for name, m in clip["methods"].items():
        walls = [r["wall"] for r in m["runs"]]
        cpus = [r["cpu"] for r in m["runs"]]
        others = [r["others_cores"] for r in m["runs"]]
        out = m["runs"][-1]["out_bytes"]
        score = m.get("ssim")
        delta = "" if score is None or reference is None else f"{score - reference:+.4f}"
        rows.append(
            f"| {clip['name']} | {name} | {p50(walls):.2f} | {min(walls):.2f}–{max(walls):.2f} | {p50(cpus):.2f} "
            f"| {p50(walls) / clip['seconds']:.2f} | {p50(others):.2f} | {out / MB:.2f} "
            f"| {'' if score is None else f'{score:.4f}'} | {delta} | {m['runs'][-1]['note']} |"
        )
    return rows


def delivery_row(clip: dict[str, Any]) -> str:
    d = clip["delivery"]
    totals = [r["total"] for r in d]
    return (
        f"| {clip['name']} | {p50([r['download'] for r in d]):.2f} | {p50([r['fit'] for r in d]):.2f} "
        f"| {p50([r['upload'] for r in d]):.2f} | {p50(totals):.2f} | {min(totals):.2f}–{max(totals):.2f} "
        f"| {p50([r['others_cores'] for r in d]):.2f} | {d[-1]['uploaded_bytes'] / MB:.2f} |"
    )


def target_checks(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """(text, met) for each target that applies to the clips that ran (the targets are for 1080p)."""
    clip = result["clips"].get("1080p")
    if clip is None:
        return []
    checks = []
    ours = clip["methods"]["ours (fit_to_size)"]
    wall = p50([r["wall"] for r in ours["runs"]])
    limit = TARGET_REALTIME * clip["seconds"]
    checks.append(
        (f"1080p fit ≤ {limit:.1f} s p50 ({TARGET_REALTIME}× real time): {wall:.2f} s", wall <= limit)
    )
    reference = clip["methods"].get(REFERENCE, {}).get("ssim")
    if reference is not None and ours.get("ssim") is not None:
        gap = reference - ours["ssim"]
        checks.append(
            (
                f"1080p SSIM at most {TARGET_SSIM_GAP} below {REFERENCE}'s: {ours['ssim']:.4f} vs "
                f"{reference:.4f} ({-gap:+.4f})",
                gap <= TARGET_SSIM_GAP,
            )
        )
    if clip.get("delivery"):
        total = p50([r["total"] for r in clip["delivery"]])
        checks.append(
            (f"1080p delivery ≤ {TARGET_DELIVERY_S:.0f} s p50: {total:.2f} s", total <= TARGET_DELIVERY_S)
        )
    return checks


def print_report(result: dict[str, Any]) -> bool:
    """Print the machine line, the tables and the target checklist; True when every target is met."""
    m = result["machine"]
    print(
        f"Machine: {m['cores']} cores, load average {m['load_start']} at start → {m['load_end']} at end; "
        f"{m['ffmpeg']}; PyAV {m['pyav']}; cap {result['cap'] / MB:.0f} MiB; {result['repeat']} repetitions"
        + (f"; {m['busy']} spinning process(es) meanwhile." if m.get("busy") else ".")
    )
    print()
    print(FIT_HEADER)
    for clip in result["clips"].values():
        for row in fit_rows(clip):
            print(row)
    if any(c.get("delivery") for c in result["clips"].values()):
        print()
        print(DELIVERY_HEADER)
        for clip in result["clips"].values():
            if clip.get("delivery"):
                print(delivery_row(clip))
    print()
    all_met = True
    print("Targets:")
    for text, met in target_checks(result):
        all_met &= met
        print(f"  [{'x' if met else ' '}] {text}")
    return all_met
