"""Logging set-up, and a filter that keeps tokens and secrets out of every log line at every level.

At DEBUG, discord.py logs interaction webhook URLs (`/webhooks/<app>/<token>/...`,
`/interactions/<id>/<token>/callback`), request bodies, and gateway payloads whose `"token"` field is an
interaction token. The filter sits on the handlers (not on loggers), so it sees the records of every logger,
including loggers created before it was installed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter configured values are not redacted literally (they would mangle every line)
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_TOKEN_CHARS = r"[^/?#\s'\"&]+"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # interaction tokens in webhook and callback URLs: /webhooks/<app id>/<token>, /interactions/<id>/<token>
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)" + _TOKEN_CHARS), r"\1" + REDACTED),
    # interaction tokens anywhere (e.g. SQL parameters at DEBUG): Discord's are base64 of "interaction:<id>:..."
    (re.compile(r"aW50ZXJhY3Rpb246[A-Za-z0-9+/=_.\-]*"), REDACTED),
    # "token": "...", 'access_token': '...', token='...' (JSON, Python reprs, keyword reprs)
    (
        re.compile(r"""(["']?\b\w*token["']?\s*[:=]\s*)(["'])[^"']*\2""", re.IGNORECASE),
        r"\1\2" + REDACTED + r"\2",
    ),
    # ?token=... in query strings
    (re.compile(r"([?&]\w*token=)[^&#\s'\"]+", re.IGNORECASE), r"\1" + REDACTED),
    # Authorization: Bot ... / Bearer ... (header lines and header dicts)
    (
        re.compile(r"""(authorization["']?\s*[:=]\s*["']?(?:Bot|Bearer)\s+)[^\s'",}]+""", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    # credentials in URLs: scheme://user:password@host
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]+(@)", re.IGNORECASE),
        r"\1" + REDACTED + r"\2",
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with interaction tokens, token fields, Authorization values, URL passwords and `secrets` replaced."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's message, exception and stack text through `redact`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # longest first, so a secret that contains another is replaced whole
        self.secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging would print msg and args raw when it reports the error
            message = f"{record.msg} {record.args!r}"
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install_redaction(handlers: Iterable[logging.Handler], secrets: Iterable[str] = ()) -> RedactingFilter:
    """Put one RedactingFilter on each of `handlers` (replacing any earlier one); return it."""
    redactor = RedactingFilter(secrets)
    for handler in handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Root logging at `level`; discord.http at WARNING so rate-limit waits stay visible; every root handler
    redacts tokens and `secrets` (install handlers before calling: later ones get no filter)."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger().setLevel(level)  # basicConfig leaves the level alone when handlers already exist
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    install_redaction(logging.getLogger().handlers, secrets)
