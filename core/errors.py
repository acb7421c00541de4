"""The closed set of error categories a job can end with, and their user-facing texts."""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """Why a job did not produce a video. Every failure maps to exactly one of these."""

    INVALID_REQUEST = "invalid_request"
    USER_QUOTA_EXCEEDED = "user_quota_exceeded"
    TOO_MANY_WAITING = "too_many_waiting"
    PAUSED = "paused"
    BLOCKED = "blocked"
    PROMPT_BLOCKED = "prompt_blocked"
    WRONG_CHANNEL = "wrong_channel"
    ROLE_REQUIRED = "role_required"
    SERVER_QUOTA_EXCEEDED = "server_quota_exceeded"
    SPEND_CAP_REACHED = "spend_cap_reached"
    PROVIDER_QUOTA_EXCEEDED = "provider_quota_exceeded"
    SAFETY_BLOCKED = "safety_blocked"
    TIMEOUT = "timeout"
    MODEL_UNAVAILABLE = "model_unavailable"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    GENERATION_FAILED = "generation_failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


USER_MESSAGES: dict[ErrorCategory, str] = {
    ErrorCategory.INVALID_REQUEST: "The request was not valid. Fix the option named above and try again.",
    ErrorCategory.USER_QUOTA_EXCEEDED: "You have used your video quota for today. It resets at midnight UTC.",
    ErrorCategory.TOO_MANY_WAITING: "You have as many videos waiting as allowed. Wait until one starts, then try again.",
    ErrorCategory.PAUSED: "New videos are paused by an admin right now. Jobs already running will finish; try later.",
    ErrorCategory.BLOCKED: "You are not allowed to generate videos here. Ask a server admin if this is a mistake.",
    ErrorCategory.WRONG_CHANNEL: "Videos can't be made here.",
    ErrorCategory.ROLE_REQUIRED: "Only members with certain roles can make videos on this server.",
    ErrorCategory.SERVER_QUOTA_EXCEEDED: "This server has made as many videos as its admins allow today. It resets at midnight UTC.",
    ErrorCategory.PROMPT_BLOCKED: "Your prompt uses something this server does not allow. Change it and try again.",
    ErrorCategory.SPEND_CAP_REACHED: "The bot has reached today's spending limit. Try again after midnight UTC.",
    ErrorCategory.PROVIDER_QUOTA_EXCEEDED: "The video service is rate-limiting us right now. Try again in a few minutes.",
    ErrorCategory.SAFETY_BLOCKED: "The video service refused this prompt on safety grounds. Rephrase it and try again.",
    ErrorCategory.TIMEOUT: "The video took too long to generate and was abandoned. Try again, perhaps shorter.",
    ErrorCategory.MODEL_UNAVAILABLE: "This model is no longer available. Pick another model (an admin should update the catalog).",
    ErrorCategory.PROVIDER_UNAVAILABLE: "The video service is unreachable or failing. Try again later.",
    ErrorCategory.GENERATION_FAILED: "The video service failed to generate this video. Try again or change the prompt.",
    ErrorCategory.CANCELLED: "The job was cancelled.",
    ErrorCategory.UNKNOWN: "Something unexpected went wrong. Try again; if it keeps happening, tell an admin.",
}

# Failures for which the user keeps their quota (refund). The user's own bad input never
# reaches the provider, so it never consumed quota in the first place.
REFUNDED_CATEGORIES = frozenset(
    {
        ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
        ErrorCategory.SAFETY_BLOCKED,
        ErrorCategory.TIMEOUT,
        ErrorCategory.MODEL_UNAVAILABLE,
        ErrorCategory.PROVIDER_UNAVAILABLE,
        ErrorCategory.GENERATION_FAILED,
        ErrorCategory.UNKNOWN,
    }
)


class GenerationError(Exception):
    """A domain error with a category, a detail for logs and an optional retry hint.

    `retryable` is True only when repeating the same call cannot create a second paid job
    (e.g. a 429 on create, a failed poll). `retry_after` carries a provider's Retry-After.
    `may_have_billed` says whether the provider may have created (and billed) a job although we never
    learned its id: True for a create whose outcome is unknown, False for one it surely refused,
    None when the error says nothing about it.
    """

    def __init__(
        self,
        category: ErrorCategory,
        detail: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        may_have_billed: bool | None = None,
    ) -> None:
        super().__init__(detail)
        self.may_have_billed = may_have_billed
        self.category = ErrorCategory(category)
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        """The text shown to the user for this error."""
        return USER_MESSAGES[self.category]

    def __repr__(self) -> str:
        return f"GenerationError({self.category.value!r}, {self.detail!r})"


def invalid(detail: str) -> GenerationError:
    """Shortcut for a validation failure; `detail` names the field and the allowed values."""
    return GenerationError(ErrorCategory.INVALID_REQUEST, detail)
