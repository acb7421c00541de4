"""Reading fal's replies: error bodies, status/result shapes, and their mapping to GenerationError.

Protocol: providers.md section 4.2. Submit errors must never be retryable when a job may exist (a 5xx or a
lost reply): an accepted request is possibly billed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from core.errors import ErrorCategory, GenerationError
from core.providers._common import exc_text, json_or_none, retry_after, snippet, transport_error
from core.providers.base import JobRef, JobState, PollResult

log = logging.getLogger(__name__)

_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


@dataclass(frozen=True)
class Reply:
    """One queue reply, read in full."""

    status: int
    headers: CIMultiDictProxy[str]
    text: str


@dataclass(frozen=True)
class FalError:
    """What an error reply says: fal's message, its error_type, and whether it is a content-policy refusal."""

    message: str
    error_type: str | None
    content_policy: bool
    from_fal: bool  # a JSON body with `detail` (fal itself), not an ingress/proxy page

    @classmethod
    def parse(cls, reply: Reply) -> FalError:
        """Read `detail` (a string or a pydantic-style list) and error_type from a reply."""
        header_type = reply.headers.get("X-Fal-Error-Type")
        body = json_or_none(reply.text)
        if not isinstance(body, dict) or "detail" not in body:
            return cls(snippet(reply.text) or f"HTTP {reply.status}", header_type, False, False)
        detail = body["detail"]
        error_type = body.get("error_type") or header_type
        policy = error_type == "content_policy_violation"
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if not isinstance(item, dict):
                    parts.append(str(item))
                    continue
                policy = policy or item.get("type") == "content_policy_violation"
                loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
            message = "; ".join(parts)
        else:
            message = str(detail)
        return cls(snippet(message), error_type if isinstance(error_type, str) else None, policy, True)


# -- submit ---------------------------------------------------------------------------------------------


def key_rejected(status: int) -> GenerationError:
    """A 401/403: the key is wrong or not allowed this operation (a configuration error, not transient)."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"fal rejected the API key (HTTP {status}); check FAL_KEY"
    )


def unknown_outcome(endpoint: str, what: str) -> GenerationError:
    """A submit that may have created a job: never retried."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"submit to fal {endpoint} failed ({what}); the job may exist, outcome unknown, NOT resubmitted",
    )


def submit_error(endpoint: str, reply: Reply) -> GenerationError:
    """Map a non-2xx submit reply."""
    err = FalError.parse(reply)
    status = reply.status
    if status == 429:
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            f"fal rate limit on submit (429): {err.message}; no job was created",
            retryable=True,
            retry_after=retry_after(reply.headers),
        )
    if status == 503:
        # fal documents 5xx requests as not billed, and 503 is its "no runner / try again" answer.
        kind = f" {err.error_type}" if err.error_type else ""
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"fal unavailable on submit (503{kind}): {err.message}; not billed",
            retryable=True,
            retry_after=retry_after(reply.headers),
        )
    if status >= 500:
        return unknown_outcome(endpoint, f"HTTP {status}: {err.message}")
    if status in (401, 403):
        return key_rejected(status)
    if status == 404:
        return GenerationError(
            ErrorCategory.MODEL_UNAVAILABLE,
            f"fal endpoint {endpoint} is no longer available (404: {err.message}); update the catalog",
        )
    if err.content_policy:
        return GenerationError(ErrorCategory.SAFETY_BLOCKED, f"fal refused the prompt: {err.message}")
    if status in (400, 422):
        return GenerationError(ErrorCategory.INVALID_REQUEST, f"fal rejected the request: {err.message}")
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE, f"fal answered submit with HTTP {status}: {err.message}"
    )


# -- status, result, cancel -----------------------------------------------------------------------------


def poll_http_error(ref: JobRef, what: str, reply: Reply) -> GenerationError:
    """Map an error reply to a status/result/cancel call (which never creates a job)."""
    err = FalError.parse(reply)
    status = reply.status
    text = f"fal {what} of {ref.job_id}: HTTP {status}: {err.message}"
    if status == 429:
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            text,
            retryable=True,
            retry_after=retry_after(reply.headers),
        )
    if status >= 500 or status in (408, 409):
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True, retry_after=retry_after(reply.headers)
        )
    if status in (401, 403):
        return key_rejected(status)
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text)


def malformed(ref: JobRef, what: str, problem: str) -> GenerationError:
    """A reply we cannot read; retryable, since reading a status again changes nothing."""
    return GenerationError(
        ErrorCategory.PROVIDER_UNAVAILABLE,
        f"fal {what} of {ref.job_id} was malformed: {problem}",
        retryable=True,
    )


def json_object(reply: Reply, ref: JobRef, what: str) -> dict[str, Any]:
    """The reply's JSON object, or a retryable `malformed` error."""
    body = json_or_none(reply.text)
    if body is None:
        raise malformed(ref, what, f"not JSON: {snippet(reply.text)[:80]}")
    if not isinstance(body, dict):
        raise malformed(ref, what, "not a JSON object")
    return body


def stream_http_error(ref: JobRef, reply: Reply) -> GenerationError:
    """Map an error reply to opening the status stream (a 404 is the caller's to confirm). A rejected key
    stays a configuration error; anything else only makes this stream unusable, so it is retryable and the
    caller polls instead."""
    error = poll_http_error(ref, "status stream", reply)
    if error.retryable or reply.status in (401, 403):
        return error
    return GenerationError(error.category, f"{error.detail}; polling instead", retryable=True)


def status_outcome(ref: JobRef, body: dict[str, Any], what: str) -> PollResult | None:
    """What one status object says, from the status route or an event of the status stream (same fields):
    QUEUED, RUNNING or FAILED; None for a COMPLETED without an error, whose result the caller fetches."""
    state = body.get("status")
    if state == "IN_QUEUE":
        position = body.get("queue_position")
        if not isinstance(position, int) or isinstance(position, bool):
            raise malformed(ref, what, "IN_QUEUE without an integer queue_position")
        return PollResult(JobState.QUEUED, queue_position=position)
    if state not in ("IN_PROGRESS", "COMPLETED"):
        raise malformed(ref, what, f"unknown status {state!r}")
    if "logs" not in body:
        raise malformed(ref, what, f"{state} without a logs key")
    if state == "IN_PROGRESS":
        return PollResult(JobState.RUNNING, progress=progress(body["logs"]))
    metrics = body.get("metrics")
    if isinstance(metrics, dict) and "inference_time" in metrics:
        log.debug("fal request %s inference_time=%s s", ref.job_id, metrics["inference_time"])
    if body.get("error") or body.get("error_type"):
        return completed_with_error(ref, body.get("error"), body.get("error_type"))
    return None


def lost(ref: JobRef) -> PollResult:
    """The job's id is unknown to fal (404 from the status route): it is gone."""
    return failed(ErrorCategory.UNKNOWN, f"the provider no longer knows job {ref.job_id}")


def failed(category: ErrorCategory, detail: str) -> PollResult:
    """A FAILED observation (the job's own outcome, not a failed call)."""
    log.info("fal job ended: %s: %s", category.value, detail)
    return PollResult(JobState.FAILED, error=GenerationError(category, detail))


def completed_with_error(ref: JobRef, error: Any, error_type: Any) -> PollResult:
    """COMPLETED carrying error/error_type: cancelled, refused, or failed."""
    text = f"{error_type}: {error}" if error_type else str(error)
    lowered = text.lower()
    if error_type == "request_cancelled":
        return failed(ErrorCategory.CANCELLED, f"fal job {ref.job_id} was cancelled ({error})")
    if "content_policy" in lowered or "content policy" in lowered:
        return failed(ErrorCategory.SAFETY_BLOCKED, f"fal refused job {ref.job_id}: {text}")
    return failed(ErrorCategory.GENERATION_FAILED, f"fal job {ref.job_id} failed: {snippet(text)}")


def result_error(ref: JobRef, reply: Reply) -> PollResult:
    """The outcome of a non-2xx result GET; raises for trouble with this GET alone (retry the poll)."""
    err = FalError.parse(reply)
    if reply.status == 404:
        return lost(ref)
    # fal stores the app's error reply and returns it on every result GET (a JSON `detail`): that is
    # the job's outcome. A 429, or a 5xx page from the ingress (no JSON detail), is about this GET only.
    if reply.status in (401, 403, 408, 429) or (reply.status >= 500 and not err.from_fal):
        raise poll_http_error(ref, "result", reply)
    if err.content_policy:
        return failed(ErrorCategory.SAFETY_BLOCKED, f"fal refused job {ref.job_id}: {err.message}")
    kind = f" {err.error_type}" if err.error_type else ""
    return failed(
        ErrorCategory.GENERATION_FAILED,
        f"fal job {ref.job_id} failed (HTTP {reply.status}{kind}): {err.message}",
    )


def progress(logs: Any) -> float | None:
    """The last "NN%" in the runner logs as 0.0-1.0, if any."""
    if not isinstance(logs, list):
        return None
    for entry in reversed(logs):
        message = entry.get("message") if isinstance(entry, dict) else None
        match = _PERCENT.search(message) if isinstance(message, str) else None
        if match:
            return min(float(match.group(1)) / 100, 1.0)
    return None


# -- download -------------------------------------------------------------------------------------------


def download_http_error(ref: JobRef, status: int) -> GenerationError:
    """Map the media host's non-200 answer."""
    # fal media URLs are plain GETs; a 404 right after completion may be propagation, so the
    # generator may retry a few times (it bounds the retries).
    text = f"download of {ref.job_id} failed with HTTP {status}"
    if status == 429:
        return GenerationError(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, text, retryable=True)
    if status in (404, 408) or status >= 500:
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True)
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text)


def fetch_error(ref: JobRef, dest: Path, exc: Exception) -> GenerationError:
    """Map a download exception: truncation and transport trouble are retryable."""
    if isinstance(exc, aiohttp.ClientPayloadError):
        text = f"download of {ref.job_id} was truncated: {exc_text(exc)}"
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, text, retryable=True)
    if isinstance(exc, TimeoutError | aiohttp.ClientError):
        return transport_error(f"download of {ref.job_id}", exc)
    if isinstance(exc, OSError):
        return GenerationError(ErrorCategory.UNKNOWN, f"could not write {dest}: {exc}")
    return GenerationError(ErrorCategory.UNKNOWN, f"download of {ref.job_id} failed: {exc_text(exc)}")
