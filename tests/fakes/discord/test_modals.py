"""Modals against the real discord.py: the type-9 callback recorded with its inputs, its 3 s deadline and where
Discord refuses it; submits that reach `Modal.on_submit`, and a submit from a button that updates its message."""

from __future__ import annotations

import datetime as dt

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.pingbot import Record, running_bot, wait_done

VALID = {
    "custom_id": "m1",
    "title": "T",
    "components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "style": 1, "label": "A"}]}],
}


async def test_slash_command_modal_is_recorded_with_its_inputs(fake: FakeDiscord, bot: commands.Bot) -> None:
    handle = await fake.send_slash_command("remix")
    modal = await handle.wait_modal()
    callback = handle.callback
    assert callback.type == 9 and callback.latency < fake.ack_deadline
    assert modal.custom_id == callback.data["custom_id"] and len(modal.custom_id) == 32
    assert modal.title == "Remix" and modal.input_ids() == ["prompt", "seed"]
    prompt, seed = modal.inputs
    assert (prompt.label, prompt.description, prompt.in_label) == ("Prompt", "what to change", True)
    assert (prompt.style, prompt.value, prompt.required, prompt.max_length) == (2, "a cat", True, 200)
    assert (seed.label, seed.in_label, seed.style, seed.required) == ("Seed", False, 1, False)
    assert (seed.placeholder, seed.value, seed.max_length) == ("random", None, 10)
    assert [c["type"] for c in modal.components] == [18, 1]  # a Label, then the older action row
    [post] = fake.requests_to("POST /interactions/*/callback")
    assert post.response["resource"] == {"type": 9} and handle.original is None


async def test_submit_reaches_on_submit_with_the_values(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    bob = fake.user("bob")
    opened = await fake.send_slash_command("remix", user=bob)
    await opened.wait_modal()
    submit = await fake.submit_modal(opened, values={"prompt": "a dog"})
    answer = await submit.wait_callback()
    assert answer.accepted and answer.type == 4 and answer.data["content"] == "remix 'a dog' seed=''"
    assert rec.submitted == [{"prompt": "a dog", "seed": ""}]
    data = submit.payload["data"]
    label, row = data["components"]
    assert data["custom_id"] == opened.modal.custom_id
    assert label["type"] == 18 and label["component"] == {
        "type": 4,
        "id": label["component"]["id"],
        "custom_id": "prompt",
        "value": "a dog",
    }
    assert row["type"] == 1 and row["components"][0]["custom_id"] == "seed"
    assert submit.type == 5 and "message" not in submit.payload  # opened by a command, not a component
    assert submit.user == bob and submit.channel_id == opened.channel_id and submit.id != opened.id
    with pytest.raises(LookupError):
        await fake.submit_modal(opened)  # Discord closed the modal


async def test_submit_keeps_prefilled_values_and_refuses_what_the_client_would(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    opened = await fake.send_slash_command("remix")
    modal = await opened.wait_modal()
    with pytest.raises(ValueError, match="at most 200"):
        await fake.submit_modal(opened, values={"prompt": "x" * 201})
    with pytest.raises(KeyError):
        await fake.submit_modal(opened, values={"negative": "blur"})
    with pytest.raises(ValueError, match="required"):
        await fake.submit_modal(opened, values={"prompt": ""})
    assert len(fake.interactions) == 1 and not modal.submitted  # nothing went out
    submit = await fake.submit_modal(opened, values={"seed": "42"})
    await submit.wait_callback()
    assert rec.submitted == [{"prompt": "a cat", "seed": "42"}]


async def test_modal_from_a_button_and_its_submit_updates_the_message(
    fake: FakeDiscord, bot: commands.Bot
) -> None:
    button = {"type": 2, "style": 2, "label": "Edit", "custom_id": "edit:prompt:7"}
    msg = fake.add_message(content="prompt: a cat", components=[{"type": 1, "components": [button]}])
    click = await fake.send_component_click(msg.id, "edit:prompt:7")
    modal = await click.wait_modal()
    assert modal.prefilled == {"prompt": "a cat"} and click.original_id is None
    submit = await fake.submit_modal(click, values={"prompt": "a fox"})
    answer = await submit.wait_callback()
    assert answer.accepted and answer.type == 7  # allowed: the modal came from a component on msg
    assert submit.payload["message"]["id"] == str(msg.id) and submit.message_id == msg.id
    assert msg.content == "prompt: a fox" and fake.edits(msg.id)[-1].payload["content"] == "prompt: a fox"


async def test_modal_after_three_seconds_is_refused(monkeypatch) -> None:
    clock = FakeClock(start=dt.datetime.now(dt.UTC))
    rec = Record()
    async with FakeDiscord(clock=clock) as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, rec):
            handle = await fake.send_slash_command("lateform")
            clock.advance(fake.ack_deadline + 0.01)
            rec.gate.set()
            await wait_done(fake, rec, "lateform")
    [attempt] = handle.attempts
    assert attempt.type == 9 and (attempt.status, attempt.code) == (404, 10062) and attempt.latency > 3
    assert handle.modal is None and handle.callback is None
    [err] = rec.errors
    assert isinstance(err, discord.NotFound) and err.code == 10062


async def test_modal_is_refused_where_discord_refuses_it(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    # interactions the bot leaves unanswered: an unknown command, its autocomplete, an unknown modal's submit
    command = await fake.send_slash_command("nosuch")
    typing = await fake.send_autocomplete("nosuch", {"q": "x"}, focused="q")
    submit = await fake.send_modal_submit("not-a-modal-of-the-bot", {"a": "b"})
    deferred = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")

    async def post(handle, body) -> tuple[int, dict]:
        url = f"{fake.api_base}/interactions/{handle.id}/{handle.token}/callback?with_response=1"
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
            return resp.status, await resp.json()

    modal = {"type": 9, "data": VALID}
    assert (await post(typing, modal))[1]["code"] == 50035  # autocomplete answers with choices only
    assert (await post(submit, modal))[1]["code"] == 50035  # not available for MODAL_SUBMIT
    assert (await post(deferred, modal))[1]["code"] == 40060  # already acknowledged
    status, body = await post(command, {"type": 9, "data": {**VALID, "title": "x" * 46}})
    assert (status, body["code"]) == (400, 50035) and "title" in body["message"]
    assert command.modal is None and [a.status for a in command.attempts] == [400]
    assert (await post(command, modal))[0] == 200  # a refused callback did not use up the ack
    assert command.modal.input_ids() == ["a"] and command.modal.inputs[0].id == 2
