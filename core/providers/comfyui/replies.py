"""Reading ComfyUI's replies: error bodies, `node_errors`, history entries and their outputs.

Shapes: providers.md section 9 and ComfyUI's `server.py` / `execution.py`. History entries are
`{prompt, outputs, status: {status_str, completed, messages: [[event, data], ...]}, meta}`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from core.errors import ErrorCategory, GenerationError
from core.providers._common import json_or_none, snippet
from core.providers.base import JobState, PollResult, VideoSource

log = logging.getLogger(__name__)

_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv")


@dataclass(frozen=True)
class Reply:
    """One HTTP reply, read in full."""

    status: int
    text: str

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        return json_or_none(self.text)


class AuthRefused(GenerationError):
    """A 401/403 from the reverse proxy in front of ComfyUI: a configuration error, never retried."""


def auth_refused(server: str, status: int) -> AuthRefused:
    """A 401/403 from the reverse proxy in front of ComfyUI (ComfyUI has no auth of its own)."""
    return AuthRefused(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"ComfyUI at {server} refused us (HTTP {status}): check COMFYUI_HEADERS, the headers its reverse "
        "proxy wants",
    )


def http_error(server: str, what: str, reply: Reply) -> GenerationError:
    """An unexpected reply to a call that cannot create a job (poll, queue, upload, cancel)."""
    if reply.status in (401, 403):
        return auth_refused(server, reply.status)
    text = f"ComfyUI {what} at {server}: HTTP {reply.status}: {snippet(reply.text, 200)}"
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=reply.status >= 500)


def rejected(server: str, reply: Reply) -> GenerationError:
    """A 400 from `POST /prompt`: the graph failed validation, so nothing was queued. Names each node."""
    body = reply.json()
    body = body if isinstance(body, dict) else {}
    error = body.get("error")
    parts: list[str] = []
    if isinstance(error, dict):
        parts.append(str(error.get("message") or error.get("type") or "invalid prompt"))
        if error.get("details"):
            parts.append(str(error["details"]))
    elif error:
        parts.append(str(error))
    parts.extend(describe_node_errors(body.get("node_errors")))
    detail = snippet("; ".join(parts) or reply.text, 500)
    return GenerationError(
        ErrorCategory.GENERATION_FAILED,
        f"ComfyUI at {server} rejected the workflow: {detail}",
        may_have_billed=False,
    )


def describe_node_errors(node_errors: Any) -> list[str]:
    """`node 5 (KSampler): Required input is missing: steps` for each node error."""
    if not isinstance(node_errors, dict):
        return []
    lines = []
    for node_id, entry in node_errors.items():
        if not isinstance(entry, dict):
            continue
        reasons = [
            f"{e.get('message')}: {e.get('details')}" if e.get("details") else str(e.get("message"))
            for e in entry.get("errors") or []
            if isinstance(e, dict)
        ]
        lines.append(f"node {node_id} ({entry.get('class_type')}): {', '.join(reasons) or 'invalid'}")
    return lines


# -- outcomes ---------------------------------------------------------------------------------------------


def failed(category: ErrorCategory, detail: str) -> PollResult:
    """A FAILED observation (the job's own outcome)."""
    log.info("ComfyUI job ended: %s: %s", category.value, detail)
    return PollResult(JobState.FAILED, error=GenerationError(category, detail))


def lost(prompt_id: str, server: str) -> PollResult:
    """Neither history nor queue knows the prompt: the server lost it (a restart empties both)."""
    return failed(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"the ComfyUI server {server} lost the job {prompt_id} — restarted?",
    )


def error_outcome(event: str, data: Any, prompt_id: str) -> PollResult:
    """FAILED from an `execution_error` (the node and its exception) or `execution_interrupted`."""
    data = data if isinstance(data, dict) else {}
    if event == "execution_interrupted":
        return failed(ErrorCategory.CANCELLED, f"ComfyUI prompt {prompt_id} was interrupted")
    node = f"{data.get('node_type') or 'node'} #{data.get('node_id')}"
    message = data.get("exception_message") or data.get("exception_type") or "no message"
    return failed(ErrorCategory.GENERATION_FAILED, f"ComfyUI {node} failed: {snippet(message, 300)}")


def history_outcome(server: str, prompt_id: str, entry: dict[str, Any]) -> PollResult:
    """The outcome of one history entry: SUCCEEDED with the video, or FAILED (error vs interrupted)."""
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    if status.get("status_str") == "error":
        last = ("execution_error", {})
        for message in status.get("messages") or []:
            ended = isinstance(message, list | tuple) and len(message) >= 2
            if ended and message[0] in ("execution_error", "execution_interrupted"):
                last = (message[0], message[1])
        return error_outcome(last[0], last[1], prompt_id)
    video = find_video(entry.get("outputs"))
    if video is None:
        outputs = entry.get("outputs")
        keys = ", ".join(sorted(outputs)) if isinstance(outputs, dict) else "none"
        return failed(
            ErrorCategory.GENERATION_FAILED,
            f"ComfyUI prompt {prompt_id} finished without a video output (output nodes: {keys})",
        )
    return PollResult(JobState.SUCCEEDED, progress=1.0, video=VideoSource(url=view_url(server, video)))


def find_video(outputs: Any) -> dict[str, str] | None:
    """The first video file among a prompt's outputs: VHS `gifs`, or core SaveVideo's `images` with
    `animated: [true]` (also any listed file with a video suffix)."""
    if not isinstance(outputs, dict):
        return None
    for node_output in outputs.values():
        if not isinstance(node_output, dict):
            continue
        animated = node_output.get("animated")
        for key in ("gifs", "videos", "images"):
            for item in node_output.get(key) or []:
                if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
                    continue
                is_video = str(item["filename"]).lower().endswith(_VIDEO_SUFFIXES)
                if key != "images" or is_video or (isinstance(animated, list) and any(animated)):
                    return {
                        "filename": item["filename"],
                        "subfolder": str(item.get("subfolder") or ""),
                        "type": str(item.get("type") or "output"),
                    }
    return None


def view_url(server: str, file: dict[str, str]) -> str:
    """`<server>/view?filename=&subfolder=&type=` from those three fields only (never `fullpath`)."""
    query = urlencode({"filename": file["filename"], "subfolder": file["subfolder"], "type": file["type"]})
    return f"{server.rstrip('/')}/view?{query}"


def queue_place(queue: Any, prompt_id: str) -> PollResult | None:
    """RUNNING or QUEUED (position = prompts ahead in the pending queue) from `GET /queue`; None if absent."""
    if not isinstance(queue, dict):
        return None
    for item in queue.get("queue_running") or []:
        if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
            return PollResult(JobState.RUNNING)
    pending = [i for i in queue.get("queue_pending") or [] if isinstance(i, list) and len(i) > 1]
    pending.sort(key=lambda item: item[0] if isinstance(item[0], int | float) else 0)
    for position, item in enumerate(pending):
        if item[1] == prompt_id:
            return PollResult(JobState.QUEUED, queue_position=position)
    return None


def queue_length(queue: Any) -> int:
    """Running plus pending prompts in a `GET /queue` reply."""
    if not isinstance(queue, dict):
        raise ValueError("queue reply is not a JSON object")
    return len(queue.get("queue_running") or []) + len(queue.get("queue_pending") or [])
