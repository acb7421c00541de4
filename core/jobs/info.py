"""What the Info button shows: every parameter a job ran with — the seed too, recorded even when the
user gave none —, its cost and timings, and a ready-to-copy `/video` line that asks for it again."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.views import JobView

STAGES = (
    ("submit", "submit"),
    ("processing", "at the provider"),
    ("download", "download"),
    ("total", "total"),
)


@dataclass(frozen=True)
class JobInfo:
    """A job's parameters and outcome, as (name, value) pairs, and the command that repeats it."""

    title: str
    fields: list[tuple[str, str]]
    command: str


def job_info(job: JobView, children: list[tuple[int, str]] | None = None) -> JobInfo:
    """The Info of a job (any status); `children` are (id, relation) of the jobs made from it."""
    cfg = job.config
    seed = cfg.get("seed")
    fields = [
        ("Prompt", job.shown_prompt),
        ("Model", job.model + (" (demo renderer, not AI)" if job.is_demo else "")),
        ("Length", _length(job)),
        ("Aspect ratio", str(cfg.get("aspect_ratio", "—"))),
        ("Resolution", str(cfg.get("resolution", "—"))),
        ("Seed", str(seed) if seed is not None else "— (this model takes no seed)"),
    ]
    if cfg.get("negative_prompt"):
        fields.append(("Negative prompt", str(cfg["negative_prompt"])))
    if cfg.get("image_mime_type"):
        frame = (
            "the clip's last frame"
            if cfg.get("extends") and cfg.get("drop_first_frame")
            else "an attached image"
        )
        fields.append(("First frame", frame))
    if cfg.get("loop"):
        fields.append(("Last frame", "the first frame (a loop)"))
    elif cfg.get("last_frame_mime_type"):
        fields.append(("Last frame", "an attached image"))
    if "audio" in cfg:
        fields.append(("Sound", "on" if cfg["audio"] else "off"))
    fields.append(("Status", _status(job)))
    cost = f"est. ${job.estimated_cost_usd:.2f}"
    fields.append(("Cost", cost + (" (quota refunded)" if job.refunded else "")))
    timings = [f"{label} {job.timings[key]:.1f} s" for key, label in STAGES if key in job.timings]
    if timings:
        fields.append(("Timings", " · ".join(timings)))
    fields.append(("Requested", f"<t:{int(job.created_at.timestamp())}:f> by <@{job.user_id}>"))
    if job.group_id is not None:
        fields.append(
            ("Variant", f"{job.variant} of {job.config.get('variants', '?')} (from job #{job.group_id})")
        )
    if job.parent_id is not None:
        fields.append(("Made from", f"#{job.parent_id} ({job.relation})"))
    if children:
        fields.append(("Made from it", ", ".join(f"#{i} ({r})" for i, r in children)))
    return JobInfo(f"Job #{job.id}", fields, video_command(job))


def _length(job: JobView) -> str:
    cfg = job.config
    own = f"{cfg.get('duration', job.video_seconds)} s"
    if cfg.get("extends"):
        return f"{own} added to #{cfg['extends']}'s clip: {cfg.get('total_seconds', '?')} s in all"
    return own


def video_command(job: JobView) -> str:
    """The `/video` line that asks for this job's video again (an attached first frame must be
    attached again: the line says so)."""
    cfg = job.config
    parts = [
        f"prompt:{job.shown_prompt}",
        f"model:{job.model}",
        f"duration:{cfg.get('duration', job.video_seconds)}",
    ]
    for name in ("aspect_ratio", "resolution", "negative_prompt", "seed"):
        if cfg.get(name) not in (None, ""):
            parts.append(f"{name}:{cfg[name]}")
    if cfg.get("audio") is False:
        parts.append("audio:False")
    if cfg.get("image_mime_type"):
        parts.append("image:<attach the same image>")
    if cfg.get("loop"):
        parts.append("loop:True")
    elif cfg.get("last_frame_mime_type"):
        parts.append("last_frame:<attach the same image>")
    return "/video " + " ".join(parts)


def _status(job: JobView) -> str:
    if job.error_type:
        return f"{job.status.value} ({job.error_type})"
    return job.status.value
