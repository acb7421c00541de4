"""The job id we store for a ComfyUI prompt: `<prompt_id>@<server url>`, so every later call (also after our
restart) knows which server holds the prompt; and the per-prompt WebSocket client id."""

from __future__ import annotations

from core.errors import ErrorCategory, GenerationError


def make_job_id(server: str, prompt_id: str) -> str:
    """`<prompt_id>@<server url>` (the URL without a trailing slash)."""
    return f"{prompt_id}@{server.rstrip('/')}"


def parse_job_id(job_id: str) -> tuple[str, str]:
    """(server url, prompt id) of a job id made by `make_job_id`; an UNKNOWN GenerationError otherwise."""
    prompt_id, sep, server = job_id.partition("@")
    if not sep or not prompt_id or not server.startswith(("http://", "https://")):
        raise GenerationError(ErrorCategory.UNKNOWN, f"not a ComfyUI job id: {job_id!r}")
    return server, prompt_id


def client_id_for(prompt_id: str) -> str:
    """The `client_id` a prompt is sent with and its WebSocket opened with.

    One per prompt, derived from it: ComfyUI keeps ONE socket per client id (a new one replaces the old), so
    a shared id would let one job's watch steal another's events; deriving it keeps it known after a restart.
    """
    return f"videobot-{prompt_id}"
