"""Safety end to end: mentions never ping, prompts are escaped, refusals are private and free, errors get an id."""

from __future__ import annotations

import logging
import re

import pytest
from tortoise.exceptions import OperationalError

import cogs.history
from models import DailyUsage, Generation
from tests.cogs.conftest import ADMIN_ID, embeds_text
from tests.fakes.discord import FLAG_EPHEMERAL, Fault

PROMPT = "@everyone <@&123> <@456> **bold**"
ZWSP = "\u200b"


def user_id(h, name: str) -> int:
    return int(h.fake.user(name)["id"])


async def run_video_and_history(h, prompt: str) -> None:
    """A whole /video job, then /history: every kind of message that can show the prompt."""
    await h.finished(await h.video(prompt, duration=2, resolution="360p"))
    history = await h.fake.send_slash_command("history", user=h.fake.user("alice"))
    await history.wait_callback()


async def test_every_message_the_bot_sends_has_mentions_switched_off(discord_env):
    h = discord_env
    await run_video_and_history(h, PROMPT)
    payloads = h.fake.message_payloads()
    assert len(payloads) >= 3  # progress edit(s), the final upload edit, the /history reply
    requester = str(user_id(h, "alice"))
    for request, payload in payloads:
        allowed = payload.get("allowed_mentions")
        assert allowed is not None, f"{request.method} {request.template} has no allowed_mentions"
        assert allowed.get("parse") == [], (request.template, allowed)
        assert [str(u) for u in allowed.get("users", [])] in ([], [requester]), (request.template, allowed)
        assert not allowed.get("roles"), (request.template, allowed)


async def test_a_new_message_posted_when_the_original_is_gone_pings_only_the_requester(discord_env):
    h = discord_env
    h.fake.inject("PATCH /webhooks/*/messages/*", Fault.unknown_message(), times=None)
    await h.video(PROMPT, duration=2, resolution="360p")
    requester = str(user_id(h, "alice"))
    posted = await h.fake.wait_for(
        lambda: h.fake.requests_to("POST /channels/*/messages"), 10.0, "a new message"
    )
    payload = posted[0].payload
    assert payload["content"].startswith(f"<@{requester}> ")
    allowed = payload["allowed_mentions"]
    assert allowed["parse"] == [] and [str(u) for u in allowed["users"]] == [requester]
    assert "everyone" not in payload["content"]
    assert f"@{ZWSP}everyone" in embeds_text(payload["embeds"])


async def test_the_prompt_appears_only_inside_embeds_with_mentions_and_markdown_escaped(discord_env):
    h = discord_env
    await run_video_and_history(h, PROMPT)
    shown = 0
    for request, payload in h.fake.message_payloads():
        assert "everyone" not in (payload.get("content") or ""), request.template
        assert "bold" not in (payload.get("content") or ""), request.template
        text = embeds_text(payload.get("embeds"))
        if "bold" not in text:
            continue
        shown += 1
        assert "@everyone" not in text, (request.template, text)
        assert f"@{ZWSP}everyone" in text
        assert "**bold**" not in text and r"\*\*bold\*\*" in text
    assert shown >= 2, "the job's message and the /history page show the prompt"


async def test_role_and_user_mentions_with_real_ids_in_a_prompt_are_escaped(discord_env):
    h = discord_env
    role, member = 1_234_567_890_123_456_789, 987_654_321_098_765_432
    msg = await h.finished(await h.video(f"<@&{role}> and <@{member}> dance", duration=2, resolution="360p"))
    text = embeds_text(msg.embeds)
    assert f"<@&{role}>" not in text and f"<@{member}>" not in text
    assert f"<@{ZWSP}&{role}>" in text and f"<@{ZWSP}{member}>" in text


REFUSALS = [
    pytest.param({"prompt": "   "}, "prompt: must not be empty", id="whitespace-prompt"),
    pytest.param(
        {"prompt": "a fox", "duration": 7},
        "duration: 7 s is not offered by demo; allowed: 2, 4, 6, 8, 10 s",
        id="duration-not-offered",
    ),
    pytest.param({"prompt": "a fox", "model": "nope"}, "model: unknown model 'nope'", id="unknown-model"),
]


@pytest.mark.parametrize(("options", "problem"), REFUSALS)
async def test_a_refusal_is_ephemeral_names_the_problem_and_costs_nothing(discord_env, options, problem):
    h = discord_env
    handle = await h.fake.send_slash_command("video", options, user=h.fake.user("alice"))
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, handle.attempts
    assert problem in embeds_text(cb.data["embeds"])
    assert handle.original.ephemeral and handle.followup_ids == []
    assert await Generation.all().count() == 0
    alice = user_id(h, "alice")
    assert not await DailyUsage.filter(user_id=alice, videos__gt=0).exists()
    assert not await DailyUsage.filter(user_id=alice, seconds__gt=0).exists()


async def database_down(*args, **kwargs):
    raise OperationalError("database is locked")


ERRORS = [
    pytest.param("video", {"prompt": "a fox", "duration": 2}, "alice", id="video"),
    pytest.param("history", None, "alice", id="history"),
    pytest.param("quota", None, "alice", id="quota"),
    pytest.param("videoadmin stats", None, "root", id="videoadmin-stats"),
]


@pytest.mark.parametrize(("command", "options", "user"), ERRORS)
async def test_an_unexpected_error_gets_an_ephemeral_reply_with_an_error_id(
    discord_env, monkeypatch, caplog, command, options, user
):
    h = discord_env
    h.fake.user("root", id=ADMIN_ID)
    # the database fails inside the core function each command calls
    monkeypatch.setattr(h.services.intake.recorder, "record", database_down)
    monkeypatch.setattr(cogs.history, "history_page", database_down)
    monkeypatch.setattr(h.services.quotas, "status", database_down)
    monkeypatch.setattr(h.services.admin, "stats", database_down)
    caplog.set_level(logging.ERROR, logger="cogs.ui.errors")

    handle = await h.fake.send_slash_command(command, options, user=h.fake.user(user))
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, handle.attempts
    text = embeds_text(cb.data["embeds"])
    match = re.search(r"Error id: `([0-9a-f]{8})`", text)
    assert match, text
    assert "database is locked" not in text
    assert any(match.group(1) in r.getMessage() and r.exc_info for r in caplog.records)
    assert await Generation.all().count() == 0


async def test_a_command_answered_too_late_is_one_log_line_and_no_doomed_reply(discord_env, caplog):
    h = discord_env
    h.fake.ack_deadline = 0.0  # every answer reaches Discord after it dropped the interaction
    caplog.set_level(logging.WARNING, logger="cogs.ui.errors")
    handle = await h.fake.send_slash_command("quota", {}, user=h.fake.user("alice"))
    attempt = await handle.wait_callback()
    assert (attempt.status, attempt.code) == (404, 10062)
    await h.fake.wait_for(lambda: caplog.records, 5.0, "the error handler to log")
    [record] = [r for r in caplog.records if r.name == "cogs.ui.errors"]
    assert record.levelno == logging.WARNING and not record.exc_info  # no traceback formatted
    assert "answered too late" in record.getMessage()
    assert len(handle.attempts) == 1 and not handle.followup_ids  # no second, doomed request
