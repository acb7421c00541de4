"""Logging: no interaction token, bot token or configured secret in any log line, at any level."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from core.platform.logs import REDACTED, RedactingFilter, configure_logging, install_redaction, redact
from tests.cogs.conftest import make_settings, running_bot
from tests.fakes.discord import FakeDiscord

# Discord's interaction tokens are base64 of "interaction:<id>:..."; OPAQUE is any other token shape, so
# the structural patterns (URL segment, "token" field) are tested on their own.
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
OPAQUE = "opaque_Tok-3n.value42"
BOT_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.Gh1ab2.cd3ef4gh5ij6kl7mn8op9qr0st"


# ---- the patterns ---------------------------------------------------------------------------------


def test_interaction_token_in_a_webhook_url_is_redacted_and_the_route_kept():
    url = f"https://discord.com/api/v10/webhooks/1234/{OPAQUE}/messages/@original"
    line = f"Webhook ID 1234 with PATCH {url} has returned status code 200"
    assert redact(line) == (
        f"Webhook ID 1234 with PATCH https://discord.com/api/v10/webhooks/1234/{REDACTED}/messages/@original"
        " has returned status code 200"
    )


def test_interaction_token_in_a_callback_url_is_redacted():
    line = f"POST http://127.0.0.1:1/api/v10/interactions/99/{OPAQUE}/callback?with_response=1"
    assert (
        redact(line) == f"POST http://127.0.0.1:1/api/v10/interactions/99/{REDACTED}/callback?with_response=1"
    )


def test_token_field_of_a_gateway_event_is_redacted_as_a_python_repr_and_as_json():
    event = {"t": "INTERACTION_CREATE", "op": 0, "d": {"id": "99", "token": OPAQUE, "type": 2}}
    for text in (str(event), json.dumps(event), json.dumps(event, separators=(",", ":"))):
        clean = redact(text)
        assert OPAQUE not in clean and REDACTED in clean
        assert "INTERACTION_CREATE" in clean and "99" in clean


def test_interaction_token_is_redacted_anywhere_by_its_shape():
    line = f"UPDATE generations SET status=? WHERE id=?: ['queued', '{INTERACTION_TOKEN}', 5]"
    assert redact(line) == f"UPDATE generations SET status=? WHERE id=?: ['queued', '{REDACTED}', 5]"


def test_identify_token_is_redacted():
    identify = {"op": 2, "d": {"token": BOT_TOKEN, "intents": 3243773, "properties": {"os": "linux"}}}
    assert BOT_TOKEN not in redact(str(identify))


def test_authorization_header_is_redacted_in_header_lines_and_header_dicts():
    for text in (f"Authorization: Bot {BOT_TOKEN}", str({"Authorization": f"Bot {BOT_TOKEN}", "X": "1"})):
        clean = redact(text)
        assert BOT_TOKEN not in clean and "Bot [REDACTED]" in clean


def test_token_in_a_query_string_is_redacted():
    assert redact("GET /oauth?token=abc123secret&x=1") == f"GET /oauth?token={REDACTED}&x=1"


def test_password_in_a_url_is_redacted():
    clean = redact("connecting to postgres://bot:hunter2pass@db.internal:5432/videos")
    assert clean == f"connecting to postgres://bot:{REDACTED}@db.internal:5432/videos"


def test_configured_secrets_are_redacted_wherever_they_appear():
    line = "calling gemini with key AIzaSyExampleKey123 (fal fal-key-456789)"
    assert redact(line, ["AIzaSyExampleKey123", "fal-key-456789"]) == (
        f"calling gemini with key {REDACTED} (fal {REDACTED})"
    )


def test_ordinary_lines_are_left_alone():
    for line in (
        "job 5: claimed by host:1:abc (user 7)",
        "token expired, editing via the channel",
        "Bot ready",
    ):
        assert redact(line) == line


# ---- the filter on records ------------------------------------------------------------------------


def record(msg: str, *args, exc_info=None, stack_info: str | None = None) -> logging.LogRecord:
    rec = logging.LogRecord("discord.webhook.async_", logging.DEBUG, __file__, 1, msg, args, exc_info)
    rec.stack_info = stack_info
    return rec


def test_filter_redacts_the_formatted_message_of_a_record_with_arguments():
    rec = record("%s %s has returned %s", "PATCH", f"/webhooks/1/{OPAQUE}/messages/2", 200)
    assert RedactingFilter().filter(rec) is True  # redacts, never drops
    assert rec.getMessage() == f"PATCH /webhooks/1/{REDACTED}/messages/2 has returned 200"
    assert OPAQUE not in f"{rec.msg} {rec.args}"


def test_filter_keeps_the_arguments_of_a_clean_record():
    rec = record("job %s: claimed by %s", 5, "host")
    RedactingFilter().filter(rec)
    assert (rec.msg, rec.args) == ("job %s: claimed by %s", (5, "host"))


def test_filter_redacts_exception_and_stack_text():
    try:
        raise RuntimeError(f"request to /webhooks/1/{OPAQUE} failed with key SECRET-KEY-1")
    except RuntimeError:
        rec = record("delivery failed", exc_info=sys.exc_info(), stack_info=f"token='{OPAQUE}'")
    RedactingFilter(["SECRET-KEY-1"]).filter(rec)
    out = logging.Formatter().format(rec)
    assert "RuntimeError" in out and REDACTED in out
    assert OPAQUE not in out and "SECRET-KEY-1" not in out


def test_filter_on_a_handler_covers_loggers_created_before_it():
    early = logging.getLogger("tests.logs.created_early")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    early.addHandler(handler)
    try:
        install_redaction([handler], [BOT_TOKEN])
        early.warning("sent %s", {"op": 2, "d": {"token": BOT_TOKEN}})
        early.error("logging in with %s", BOT_TOKEN)
    finally:
        early.removeHandler(handler)
    assert BOT_TOKEN not in stream.getvalue() and stream.getvalue().count(REDACTED) == 2


def test_installing_twice_replaces_the_filter():
    handler = logging.NullHandler()
    install_redaction([handler], ["first-secret"])
    install_redaction([handler], ["second-secret"])
    (only,) = [f for f in handler.filters if isinstance(f, RedactingFilter)]
    assert only.secrets == ["second-secret"]


# ---- configure_logging ----------------------------------------------------------------------------


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers (as in `python bot.py`), restored afterwards."""
    root = logging.getLogger()
    http = logging.getLogger("discord.http")
    saved = root.handlers[:], root.level, http.level
    root.handlers.clear()
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        http.setLevel(saved[2])


def test_configure_logging_sets_levels_and_redacts_on_the_root_handler():
    with bare_root() as root:
        configure_logging("DEBUG", secrets=["gemini-key-123456"])
        assert root.level == logging.DEBUG
        assert logging.getLogger("discord.http").getEffectiveLevel() == logging.WARNING
        (handler,) = root.handlers
        assert [f.secrets for f in handler.filters if isinstance(f, RedactingFilter)] == [
            ["gemini-key-123456"]
        ]


# ---- end to end: the real discord.py at DEBUG, one /video job to delivery --------------------------


class Capture(logging.Handler):
    """Every record that reaches it, as text: the formatted line (with exception and stack), msg and args."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts += [self.format(record), str(record.msg), repr(record.args), record.exc_text or ""]


class RawCapture(Capture):
    """The same, on the `discord` logger without any filter: what discord.py logs before redaction."""

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


class LogWatch:
    """A capturing handler on the root logger, a raw one on `discord`, and every logger's level restored."""

    def __init__(self) -> None:
        self.capture, self.raw = Capture(), RawCapture()
        self.levels: dict[logging.Logger, int] = {}
        self._remember()

    def _remember(self) -> list[logging.Logger]:
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        loggers = [lg for lg in loggers if isinstance(lg, logging.Logger)]
        for lg in loggers:
            self.levels.setdefault(lg, lg.level)
        return loggers

    def every_logger_at_debug(self) -> None:
        """discord.http included: every record of every logger existing now reaches the handlers."""
        for lg in self._remember():
            lg.setLevel(logging.DEBUG)

    def restore(self) -> None:
        for lg, level in self.levels.items():
            lg.setLevel(level)


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    root, discord_logger = logging.getLogger(), logging.getLogger("discord")
    watch = LogWatch()
    root.addHandler(watch.capture)
    discord_logger.addHandler(watch.raw)
    try:
        yield watch
    finally:
        root.removeHandler(watch.capture)
        discord_logger.removeHandler(watch.raw)
        for handler in root.handlers:  # pytest's own handlers got the filter from configure_logging
            for f in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(f)
        watch.restore()


async def test_no_token_reaches_any_log_at_debug_through_a_video_job(db, tmp_path, monkeypatch, log_watch):
    capture, raw = log_watch.capture, log_watch.raw
    # open_harness's steps, with logging configured between settings and start-up as `python bot.py` does
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        settings = make_settings(tmp_path, fake)
        configure_logging("DEBUG", secrets=settings.secret_values())
        log_watch.every_logger_at_debug()
        async with running_bot(fake, tmp_path) as h:
            handle = await h.video("a red fox", duration=2, resolution="360p")
            await h.finished(handle)

    assert settings.discord_token == fake.token
    # the leak is real: discord.py logged the interaction token (webhook URLs, the gateway event) ...
    assert any(handle.token in text for text in raw.texts)
    # ... and nothing that reached a handler kept it, nor the bot token
    logged = "\n".join(capture.texts)
    assert handle.token not in logged
    assert fake.token not in logged
    # what was logged is still there, minus the tokens
    assert any(f"/webhooks/{fake.application_id}/{REDACTED}/messages/" in t for t in capture.texts)
    assert any(t.startswith("DEBUG discord.http:") for t in capture.texts)
