"""Gemini API errors: the Interactions SDK's exceptions and files.download's, mapped to GenerationError.

Bodies and quirks: providers.md section 2.4. A create whose outcome is unknown (5xx, timeout, lost or
garbled reply) is never retryable: the job may exist and be billed.
"""

from __future__ import annotations

import re

from google.genai import _interactions as gi
from google.genai import errors as genai_errors

from core.errors import ErrorCategory, GenerationError
from core.providers._common import retry_after, snippet

_RETRY_IN = re.compile(r"retry in ([0-9]+(?:\.[0-9]+)?)\s*s", re.IGNORECASE)


def _connect_error_types() -> tuple[type[BaseException], ...]:
    """httpx/httpx2 errors that mean the TCP connection never opened (so the request was not sent)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found += [module.ConnectError, module.ConnectTimeout]
    return tuple(found)


_CONNECT_ERRORS = _connect_error_types()


def map_api_error(exc: gi.APIError, *, action: str, job_id: str | None) -> GenerationError:
    """Turn an Interactions SDK error into a GenerationError; `job_id` is None for create."""
    submitting = job_id is None
    unknown_outcome = "the outcome is unknown and it was NOT resubmitted"

    if isinstance(exc, gi.APIConnectionError):  # includes APITimeoutError
        if _never_connected(exc):
            return GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"{action}: could not connect to the Gemini API ({_cause_name(exc)}); nothing was sent",
                retryable=True,
            )
        what = "timed out" if isinstance(exc, gi.APITimeoutError) else f"lost the connection ({exc})"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{action} {what}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{action} {what}", retryable=True)

    if isinstance(exc, gi.APIResponseValidationError):
        detail = f"{action} got a malformed reply (HTTP {exc.status_code}): {exc.message}"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)

    if not isinstance(exc, gi.APIStatusError):
        detail = f"{action} failed: {exc}"
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)

    status = exc.status_code
    code, message = _body_error(exc.body)
    detail = f"{action}: HTTP {status}" + (f" {code}" if code else "") + f": {message or 'no message'}"
    lowered = message.lower()

    if status == 429:
        # A 429 creates no job, and a poll/cancel changes nothing, so repeating is safe.
        return GenerationError(
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            detail,
            retryable=True,
            retry_after=_retry_after_of(exc, message),
        )
    if status in (401, 403) or "api key not valid" in lowered or "api_key_invalid" in str(exc.body).lower():
        return _key_rejected(detail)
    if "is no longer available" in lowered:
        return GenerationError(ErrorCategory.MODEL_UNAVAILABLE, detail)
    if job_id is not None and (
        (status == 400 and "invalid interaction name" in lowered)
        or (status == 404 and "model" not in lowered)
    ):
        return GenerationError(ErrorCategory.UNKNOWN, f"the provider no longer knows job {job_id} ({detail})")
    if status == 404:
        return GenerationError(ErrorCategory.MODEL_UNAVAILABLE, detail)
    if status >= 500 or status == 408:
        if submitting:
            return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail}; {unknown_outcome}")
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)
    if "safety" in lowered or "content policy" in lowered:
        return GenerationError(ErrorCategory.SAFETY_BLOCKED, detail)
    return GenerationError(ErrorCategory.INVALID_REQUEST, detail)


def map_download_error(exc: genai_errors.APIError, job_id: str, waited: float) -> GenerationError:
    """files.download errors (google.genai.errors, not the Interactions classes)."""
    detail = f"download of job {job_id}: HTTP {exc.code}" + (f" {exc.status}" if exc.status else "")
    detail += f": {exc.message or 'no message'}"
    if exc.code == 404:
        # Final: the download loop already waited out the file's usual delay, and another window from the
        # caller would only stretch a missing file's failure to many minutes.
        return GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE, f"{detail} (still missing after {waited:.0f} s)"
        )
    if exc.code == 429:
        return GenerationError(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, detail, retryable=True)
    if exc.code in (401, 403) or "api key not valid" in (exc.message or "").lower():
        return _key_rejected(detail)
    if exc.code >= 500 or exc.code == 408:
        return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, detail, retryable=True)
    return GenerationError(ErrorCategory.GENERATION_FAILED, detail)


def _key_rejected(detail: str) -> GenerationError:
    """A bad or unauthorised key: a configuration error, never retried."""
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, f"the Gemini API key was rejected: {detail}")


def _body_error(body: object) -> tuple[str | None, str]:
    """(code, message) from `{"error": {...}}`, a list of those, or a plain text body."""
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str_or_none(error.get("code")), str(error.get("message") or "")
        return None, str(error)
    if isinstance(body, str):
        return None, squash(body)
    return None, ""


def _retry_after_of(exc: gi.APIStatusError, message: str) -> float | None:
    """The Retry-After header (seconds or an HTTP date), else the "retry in N s" of the message."""
    seconds = retry_after(exc.response.headers) if exc.response is not None else None
    return seconds if seconds is not None else retry_in(message)


def retry_in(message: str) -> float | None:
    """The N of a "Please retry in N s" message, or None."""
    match = _RETRY_IN.search(message or "")
    return float(match.group(1)) if match else None


def _never_connected(exc: BaseException) -> bool:
    """True when the cause chain holds a connect failure, i.e. the request never left this host."""
    seen: BaseException | None = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, _CONNECT_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cause_name(exc: BaseException) -> str:
    """`Class: message` of the exception's cause, for error details."""
    cause = exc.__cause__
    return f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)


def str_or_none(value: object) -> str | None:
    """`str(value)`, keeping None as None."""
    return None if value is None else str(value)


def squash(text: str, limit: int = 300) -> str:
    """Tags and whitespace out of an HTML error page, shortened for logs."""
    return snippet(re.sub(r"<[^>]+>", " ", text), limit)
