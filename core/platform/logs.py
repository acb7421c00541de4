"""Logging set-up, and a filter that keeps tokens and secrets out of every log line at every level.

At DEBUG, discord.py logs interaction webhook URLs (`/webhooks/<app>/<token>/...`,
`/interactions/<id>/<token>/callback`), request bodies, and gateway payloads whose `"token"` field is an
interaction token. The filter sits on the handlers (not on loggers), so it sees the records of every logger,
including loggers created before it was installed.

With `LOG_FORMAT=json` each line is one JSON object (`JsonFormatter`). A job's lines carry its ids as fields:
`job_log_fields(job_id=...)` names them for everything logged in its `with` block (a contextvar, so an
asyncio task started inside inherits them), and a message that starts `job <id>` names its job too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter configured values are not redacted literally (they would mangle every line)
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")
JOB_FIELDS = ("job_id", "user_id", "guild_id", "provider_job_id")

_job_fields: ContextVar[Mapping[str, Any]] = ContextVar(
    "videobot_job_log_fields", default=MappingProxyType({})
)
_JOB_IN_MESSAGE = re.compile(r"^job (\d+)\b")

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


@contextlib.contextmanager
def job_log_fields(**fields: Any) -> Iterator[None]:
    """Name a job's fields (`JOB_FIELDS`; None values are left out) on every line logged in this block,
    and in asyncio tasks started inside it; `add_job_log_fields` adds to them on the way."""
    token = _job_fields.set({**_job_fields.get(), **_known(fields)})
    try:
        yield
    finally:
        _job_fields.reset(token)


def add_job_log_fields(**fields: Any) -> None:
    """Add fields (e.g. `provider_job_id` once known) to the current `job_log_fields` block."""
    _job_fields.set({**_job_fields.get(), **_known(fields)})


def _known(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(JOB_FIELDS)
    if unknown:
        raise ValueError(f"not a job log field: {', '.join(sorted(unknown))}")
    return {k: v for k, v in fields.items() if v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, exception (its text, when
    there is one) and the job fields known for the line. Only these keys: a record's `extra=` attributes
    are not copied, so nothing the redaction did not see can reach a line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (the message and exception text as the filters left them)."""
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        fields = dict(_job_fields.get())
        named = _JOB_IN_MESSAGE.match(line["message"])
        if named and "job_id" not in fields:
            fields["job_id"] = int(named.group(1))
        for key in JOB_FIELDS:
            value = getattr(record, key, None)  # extra={"job_id": ...} wins over the context
            if value is None:
                value = fields.get(key)
            if value is not None:
                line[key] = value if isinstance(value, int | float) else str(value)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """Root logging at `level`, as text or one JSON object per line (`log_format`); discord.http at WARNING
    so rate-limit waits stay visible; every root handler redacts tokens and `secrets` (install handlers
    before calling: later ones get no filter)."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger().setLevel(level)  # basicConfig leaves the level alone when handlers already exist
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    handlers = logging.getLogger().handlers
    for handler in handlers:
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
    install_redaction(handlers, secrets)
