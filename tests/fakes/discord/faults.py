"""Discord's JSON errors as one table, the canned misbehaviours (`Fault`) tests inject, and their rules."""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple


class DiscordError(NamedTuple):
    """One Discord JSON error: HTTP status, JSON `code`, `message`; `via` as for `Fault`."""

    status: int
    code: int
    message: str
    via: bool = True


# Every Discord JSON error the fake answers, by name. The handlers reject with these (`Reject.of(name)`),
# and each name is also a `Fault` factory for injection: `Fault.unknown_interaction()`.
ERRORS: dict[str, DiscordError] = {
    "invalid_webhook_token": DiscordError(401, 50027, "Invalid Webhook Token"),
    "unknown_channel": DiscordError(404, 10003, "Unknown Channel"),
    "unknown_message": DiscordError(404, 10008, "Unknown Message"),
    "unknown_webhook": DiscordError(404, 10015, "Unknown Webhook"),
    "unknown_interaction": DiscordError(404, 10062, "Unknown interaction"),
    "already_acknowledged": DiscordError(400, 40060, "Interaction has already been acknowledged."),
    "invalid_form_body": DiscordError(400, 50035, "Invalid Form Body"),
    "invalid_response_type": DiscordError(400, 50035, "Invalid Form Body (interaction response type)"),
    "missing_access": DiscordError(403, 50001, "Missing Access"),
    "missing_permissions": DiscordError(403, 50013, "Missing Permissions"),
    "cannot_edit_others_message": DiscordError(403, 50005, "Cannot edit a message authored by another user"),
    "empty_message": DiscordError(400, 50006, "Cannot send an empty message"),
    "too_large": DiscordError(413, 40005, "Request entity too large"),
    "max_followups": DiscordError(
        400, 40094, "This interaction has hit the maximum number of follow up messages"
    ),
    # 429/30046 has no retry_after; sent without Via so discord.py raises HTTPException (with Via it would
    # die on a KeyError for 'retry_after').
    "max_edits_old_message": DiscordError(
        429,
        30046,
        "Maximum number of edits to messages older than 1 hour reached. Try again later",
        via=False,
    ),
}


@dataclass(frozen=True)
class Fault:
    """A canned misbehaviour. `status == 0` means "answer normally", possibly after `delay` and with extra
    headers. Besides the factories below, every name of `ERRORS` is one: `Fault.missing_access()`."""

    name: str
    status: int = 0
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    via: bool = True

    @classmethod
    def error(cls, status: int, code: int, message: str, *, via: bool = True, name: str = "") -> Fault:
        """Answer this Discord JSON error."""
        return cls(name or f"{status}/{code}", status, {"message": message, "code": code}, via=via)

    @classmethod
    def named(cls, error: str) -> Fault:
        """Answer the error `ERRORS[error]`."""
        status, code, message, via = ERRORS[error]
        return cls.error(status, code, message, via=via)

    @classmethod
    def rate_limited(
        cls,
        retry_after: float = 0.05,
        *,
        via: bool = True,
        global_: bool = False,
        scope: str = "user",
        retry_after_header: float | None = None,
    ) -> Fault:
        """429 as in RL, plus `Via` (discord.py retries only with it, sleeping the body's retry_after)."""
        header = retry_after_header if retry_after_header is not None else max(1, math.ceil(retry_after))
        headers = [
            ("Retry-After", str(header)),
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", f"{retry_after:.3f}"),
            ("X-RateLimit-Bucket", "fakebucket0001"),
            ("X-RateLimit-Scope", "global" if global_ else scope),
        ]
        if global_:
            headers.append(("X-RateLimit-Global", "true"))
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
        return cls(
            "429" + ("-global" if global_ else "") + ("" if via else "-no-via"),
            429,
            body,
            tuple(headers),
            via=via,
        )

    @classmethod
    def exhausted(cls, reset_after: float = 0.25) -> Fault:
        """A normal answer carrying `X-RateLimit-Remaining: 0` + `Reset-After`: the next call waits."""
        headers = (
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", f"{time.time() + reset_after:.3f}"),
            ("X-RateLimit-Reset-After", f"{reset_after:.3f}"),
            ("X-RateLimit-Bucket", "fakebucket0001"),
        )
        return cls("exhausted", 0, None, headers)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally after `seconds`."""
        return cls(f"slow-{seconds}", 0, None, (), delay=seconds)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx with Discord's plain error body."""
        return cls(f"{status}", status, {"message": f"{status}: Internal Server Error", "code": 0})


def _factory(error: str) -> classmethod:
    """`Fault.<error>()`: the classmethod answering `ERRORS[error]`."""

    def make(cls: type[Fault]) -> Fault:
        return cls.named(error)

    make.__name__, make.__qualname__ = error, f"Fault.{error}"
    make.__doc__ = f"Answer {ERRORS[error].status}/{ERRORS[error].code} {ERRORS[error].message!r}."
    return classmethod(make)


for _error in ERRORS:
    setattr(Fault, _error, _factory(_error))
del _error


@dataclass
class FaultRule:
    """A fault injected on requests whose "METHOD /path" (or "METHOD /template") matches `route` (a glob)."""

    route: str
    fault: Fault
    times: int | None = 1  # None = forever
    skip: int = 0  # let this many matching requests through first
    seen: int = 0
    hits: int = 0

    def matches(self, method: str, path: str, template: str) -> bool:
        """Whether a request's "METHOD /path" or "METHOD /template" matches the glob."""
        pattern = self.route if not self.route.startswith("/") else "* " + self.route
        return fnmatch.fnmatchcase(f"{method} {path}", pattern) or fnmatch.fnmatchcase(
            f"{method} {template}", pattern
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times
