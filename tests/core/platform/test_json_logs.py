"""LOG_FORMAT=json: one JSON object per line, with the job's ids as fields, redacted like the text lines."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from core.platform.logs import REDACTED, add_job_log_fields, configure_logging, job_log_fields
from core.platform.settings import SettingsError, load_settings

INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
KEY = "gemini-key-SECRET-123456"


@contextlib.contextmanager
def json_root(secrets: list[str] = ()) -> Iterator[io.StringIO]:
    """The root logger writing JSON lines (as `python bot.py` with LOG_FORMAT=json) into a buffer."""
    root = logging.getLogger()
    http = logging.getLogger("discord.http")
    saved = root.handlers[:], root.level, http.level
    out = io.StringIO()
    root.handlers[:] = [logging.StreamHandler(out)]
    try:
        configure_logging("DEBUG", secrets=secrets, log_format="json")
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        http.setLevel(saved[2])


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_time_level_logger_and_message():
    with json_root() as out:
        logging.getLogger("core.x").info("hello %s", "there")
    (line,) = lines(out)
    assert line.keys() == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "core.x", "hello there")
    assert line["time"].endswith("+00:00")


def test_an_exception_is_one_field_of_the_same_line():
    with json_root() as out:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("core.x").exception("it failed")
    (line,) = lines(out)
    assert line["message"] == "it failed"
    assert "Traceback" in line["exception"] and "ValueError: boom" in line["exception"]


def test_secrets_and_tokens_are_redacted_in_the_message_and_the_exception():
    with json_root([KEY]) as out:
        log = logging.getLogger("discord.webhook")
        log.debug("POST /webhooks/123/%s/messages key=%s", INTERACTION_TOKEN, KEY)
        try:
            raise RuntimeError(f"bad key {KEY}")
        except RuntimeError:
            log.exception("token: %r", INTERACTION_TOKEN)
    text = out.getvalue()
    assert KEY not in text and INTERACTION_TOKEN not in text
    first, second = lines(out)
    assert REDACTED in first["message"] and REDACTED in second["exception"]


def test_job_fields_name_every_line_of_the_block_and_of_tasks_started_in_it():
    async def run() -> None:
        log = logging.getLogger("core.jobs.x")
        with job_log_fields(job_id=41, user_id=7, guild_id=None):
            log.info("starting")
            add_job_log_fields(provider_job_id="op-9")
            await asyncio.create_task(asyncio.to_thread(log.info, "in a task's thread"))
        log.info("after")

    with json_root() as out:
        asyncio.run(run())
    starting, in_task, after = [line for line in lines(out) if line["logger"] == "core.jobs.x"]
    assert (starting["job_id"], starting["user_id"]) == (41, 7)
    assert "guild_id" not in starting and "provider_job_id" not in starting  # None values are left out
    assert (in_task["job_id"], in_task["provider_job_id"]) == (41, "op-9")
    assert "job_id" not in after


def test_a_message_that_names_its_job_carries_the_job_id():
    with json_root() as out:
        logging.getLogger("core.jobs.intake").info("job %s: queued for %s", 12, "alice")
        logging.getLogger("core.jobs.intake").info("jobs %s swept", 3)
    named, other = lines(out)
    assert named["job_id"] == 12 and "job_id" not in other


def test_extra_fields_are_used_for_job_fields_and_no_other_extra_is_written():
    with json_root([KEY]) as out:
        logging.getLogger("x").info("done", extra={"job_id": 5, "api_key": KEY})
    (line,) = lines(out)
    assert line["job_id"] == 5 and KEY not in json.dumps(line)


def test_an_unknown_job_field_is_refused():
    with pytest.raises(ValueError, match="not a job log field"), job_log_fields(token="x"):
        pass


def test_text_format_comes_back_when_configured_again():
    with json_root() as out:
        configure_logging("INFO", log_format="text")
        logging.getLogger("core.x").info("plain")
    assert out.getvalue().rstrip().endswith("INFO    core.x: plain")


def test_log_format_setting_is_text_by_default_and_checked():
    assert load_settings({}, env_file=None).log_format == "text"
    assert load_settings({"LOG_FORMAT": " JSON "}, env_file=None).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings({"LOG_FORMAT": "xml"}, env_file=None)


def test_settings_read_the_project_folders_env_and_default_to_its_data_folder():
    """Not core/: `.env` beside bot.py (as the README and the image say), data/ beside it too."""
    from core.platform.settings import PROJECT_DIR

    assert (PROJECT_DIR / "bot.py").is_file()
    settings = load_settings({}, env_file=None)
    assert settings.output_dir == PROJECT_DIR / "data" / "videos"
    assert settings.database_url == f"sqlite://{PROJECT_DIR / 'data' / 'videobot.sqlite3'}"
