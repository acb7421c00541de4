"""/history end to end: the real discord.py bot against the fake Discord, with a real database."""

from __future__ import annotations

import datetime as dt
import re

from tortoise.exceptions import OperationalError

import cogs.history
from models import Generation
from tests.cogs.conftest import ADMIN_ID, MANAGE_GUILD, embeds_text, member_permissions, seed_job
from tests.fakes.discord import FLAG_EPHEMERAL, FakeMessage

BASE = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def seed_history(user_id: int, count: int, label: str = "job") -> list[int]:
    """`count` jobs, one a minute apart, prompts "job 01", "job 02", ...; returns their ids, oldest first."""
    ids = []
    for i in range(1, count + 1):
        gen = await seed_job(user_id, prompt=f"{label} {i:02d}", created_at=BASE + dt.timedelta(minutes=i))
        ids.append(gen.id)
    return ids


def job_fields(msg: FakeMessage) -> list[dict]:
    return msg.embeds[0].get("fields") or []


def shown_ids(msg: FakeMessage) -> list[int]:
    """Job ids in the order the page lists them (field names are "<icon> #<id> · <status>")."""
    return [int(f["name"].split("#", 1)[1].split(" ", 1)[0]) for f in job_fields(msg)]


def pager_state(msg: FakeMessage) -> dict[str, tuple[str, bool]]:
    """{"prev"|"next": (custom_id, disabled)} of the page's buttons."""
    out = {}
    for row in msg.components:
        for button in row.get("components", []):
            cid = button["custom_id"]
            out[cid.rsplit(":", 1)[1]] = (cid, bool(button.get("disabled")))
    return out


async def history(h, *, as_user: str = "alice", **options):
    """Run /history as `as_user` and return the interaction once its callback arrived."""
    handle = await h.fake.send_slash_command("history", options, user=h.fake.user(as_user))
    await handle.wait_callback()
    return handle


async def click(h, msg: FakeMessage, direction: str, *, user: str = "alice"):
    custom_id = pager_state(msg)[direction][0]
    handle = await h.fake.send_component_click(msg.id, custom_id, user=h.fake.user(user))
    await handle.wait_callback()
    return handle


def assert_refused_ephemerally(handle) -> None:
    cb = handle.callback
    assert cb is not None and cb.type == 4, handle.attempts
    assert cb.data["flags"] & FLAG_EPHEMERAL
    assert cb.data["embeds"][0]["title"] == "Not allowed"


def user_id(h, name: str) -> int:
    return int(h.fake.user(name)["id"])


async def test_history_is_an_ephemeral_reply_listing_jobs_newest_first(discord_env):
    h = discord_env
    ids = await seed_history(user_id(h, "alice"), 3)
    handle = await history(h)
    assert handle.callback.type == 4 and handle.callback.data["flags"] & FLAG_EPHEMERAL
    msg = handle.original
    assert msg.ephemeral
    assert shown_ids(msg) == list(reversed(ids))
    assert [f["value"].split("\n")[0] for f in job_fields(msg)] == ["job 03", "job 02", "job 01"]


async def test_history_line_has_id_icon_truncated_prompt_model_length_time_and_link(discord_env):
    h = discord_env
    prompt = "a slow pan over a misty mountain lake at dawn with pine trees and a small red boat " * 2
    job = await h.video(prompt, duration=2, resolution="360p")
    video_msg = await h.finished(job)
    gen = await Generation.get(user_id=user_id(h, "alice"))

    msg = (await history(h)).original
    (field,) = job_fields(msg)
    assert field["name"] == f"✅ #{gen.id} · completed"
    first_line, second_line = field["value"].split("\n")
    assert first_line == prompt.strip()[:79] + "…"
    assert second_line.startswith("demo · 2 s · ")
    assert f"<t:{int(gen.created_at.timestamp())}:R>" in second_line
    link = f"https://discord.com/channels/{h.fake.guild_id}/{h.fake.channel_id}/{video_msg.id}"
    assert f"[message]({link})" in second_line


async def test_history_shows_ten_jobs_a_page_with_previous_disabled_on_page_one(discord_env):
    h = discord_env
    ids = await seed_history(user_id(h, "alice"), 23)
    msg = (await history(h)).original
    assert shown_ids(msg) == list(reversed(ids))[:10]
    assert msg.embeds[0]["footer"]["text"] == "Page 1 of 3"
    state = pager_state(msg)
    assert state["prev"][1] is True and state["next"][1] is False


async def test_next_and_previous_edit_the_same_ephemeral_message_in_place(discord_env):
    h = discord_env
    newest_first = list(reversed(await seed_history(user_id(h, "alice"), 23)))
    handle = await history(h)
    msg = handle.original
    messages_before = len(h.fake.messages)

    page2 = await click(h, msg, "next")
    assert page2.callback.type == 7 and page2.original_id == msg.id
    assert shown_ids(msg) == newest_first[10:20]
    assert msg.embeds[0]["footer"]["text"] == "Page 2 of 3"
    assert {d: s[1] for d, s in pager_state(msg).items()} == {"prev": False, "next": False}

    await click(h, msg, "next")
    assert shown_ids(msg) == newest_first[20:]
    assert msg.embeds[0]["footer"]["text"] == "Page 3 of 3"
    assert {d: s[1] for d, s in pager_state(msg).items()} == {"prev": False, "next": True}

    await click(h, msg, "prev")
    assert shown_ids(msg) == newest_first[10:20]
    assert msg.ephemeral and len(msg.edits) == 3
    assert len(h.fake.messages) == messages_before, "clicks never post new messages"


async def test_page_option_opens_that_page(discord_env):
    h = discord_env
    newest_first = list(reversed(await seed_history(user_id(h, "alice"), 23)))
    msg = (await history(h, page=2)).original
    assert shown_ids(msg) == newest_first[10:20]
    assert msg.embeds[0]["footer"]["text"] == "Page 2 of 3"


async def test_page_option_past_the_end_shows_the_last_page(discord_env):
    h = discord_env
    newest_first = list(reversed(await seed_history(user_id(h, "alice"), 12)))
    msg = (await history(h, page=9)).original
    assert shown_ids(msg) == newest_first[10:]
    assert msg.embeds[0]["footer"]["text"] == "Page 2 of 2"
    assert pager_state(msg)["next"][1] is True


async def test_empty_history_says_so_with_both_buttons_disabled(discord_env):
    h = discord_env
    msg = (await history(h)).original
    assert "Nothing yet" in embeds_text(msg.embeds)
    assert msg.embeds[0]["footer"]["text"] == "Page 1 of 1"
    assert all(disabled for _, disabled in pager_state(msg).values())


async def test_non_admin_sees_only_their_own_jobs(discord_env):
    h = discord_env
    await seed_history(user_id(h, "bob"), 3, label="bob-secret")
    mine = await seed_history(user_id(h, "alice"), 2)
    msg = (await history(h)).original
    assert shown_ids(msg) == list(reversed(mine))
    assert "bob-secret" not in embeds_text(msg.embeds)


async def test_non_admin_asking_for_someone_elses_history_is_refused(discord_env):
    h = discord_env
    await seed_history(user_id(h, "bob"), 3, label="bob-secret")
    handle = await history(h, user=h.fake.user("bob"))
    assert_refused_ephemerally(handle)
    assert not any("bob-secret" in str(payload) for _, payload in h.fake.message_payloads())


async def test_non_admin_clicking_a_pager_button_naming_another_user_is_refused(discord_env):
    h = discord_env
    bob = user_id(h, "bob")
    await seed_history(bob, 15, label="bob-secret")
    # A message carrying Bob's pager (as if copied from somewhere); Alice clicks its Next button.
    forged = h.fake.add_message(
        embeds=[{"title": "Video history"}],
        components=[
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Next ▶", "custom_id": f"history:{bob}:2:next"}
                ],
            }
        ],
    )
    handle = await h.fake.send_component_click(forged.id, f"history:{bob}:2:next", user=h.fake.user("alice"))
    await handle.wait_callback()
    assert_refused_ephemerally(handle)
    assert forged.edits == []
    assert not any("bob-secret" in str(payload) for _, payload in h.fake.message_payloads())


async def test_admin_in_admin_user_ids_sees_and_pages_someone_elses_history(discord_env):
    h = discord_env
    h.fake.user("root", id=ADMIN_ID)
    bob_jobs = list(reversed(await seed_history(user_id(h, "bob"), 12, label="bob job")))
    handle = await history(h, as_user="root", user=h.fake.user("bob"))
    msg = handle.original
    assert handle.callback.data["flags"] & FLAG_EPHEMERAL
    assert shown_ids(msg) == bob_jobs[:10]
    assert f"<@{user_id(h, 'bob')}>" in msg.embeds[0]["description"]

    await click(h, msg, "next", user="root")
    assert shown_ids(msg) == bob_jobs[10:]


async def test_member_with_manage_server_sees_someone_elses_history(discord_env):
    h = discord_env
    bob_jobs = list(reversed(await seed_history(user_id(h, "bob"), 2, label="bob job")))
    handle = await h.fake.send_slash_command(
        "history",
        {"user": h.fake.user("bob")},
        user=h.fake.user("mod"),
        permissions=member_permissions(MANAGE_GUILD),
    )
    await handle.wait_callback()
    assert handle.callback.type == 4 and handle.callback.data["flags"] & FLAG_EPHEMERAL
    assert shown_ids(handle.original) == bob_jobs


async def test_an_unexpected_error_while_turning_the_page_gets_an_ephemeral_reply_with_an_error_id(
    discord_env, monkeypatch
):
    h = discord_env
    await seed_history(user_id(h, "alice"), 12)
    msg = (await history(h)).original

    async def database_down(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(cogs.history, "history_page", database_down)
    custom_id = pager_state(msg)["next"][0]
    handle = await h.fake.send_component_click(msg.id, custom_id, user=h.fake.user("alice"))
    # Discord shows "This interaction failed" when nothing answers within 3 s
    cb = await handle.wait_callback(timeout=3.5)
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
    assert re.search(r"Error id: `[0-9a-f]{8}`", embeds_text(cb.data["embeds"]))


async def test_a_job_made_from_another_shows_its_chain(discord_env):
    h = discord_env
    alice = user_id(h, "alice")
    [parent] = await seed_history(alice, 1)
    await seed_job(
        alice,
        prompt="again",
        created_at=BASE + dt.timedelta(minutes=5),
        parent_id=parent,
        relation="regenerate",
    )
    child = (await Generation.get(prompt="again")).id
    fields = job_fields((await history(h)).original)
    assert fields[0]["value"].endswith(f"#{parent} → #{child} (regenerate)")
    assert "→" not in fields[1]["value"]
