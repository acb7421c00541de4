"""A server's prompt blocklist through the real discord.py: admins edit it, a matching prompt (however it is
disguised) is refused privately before anything is recorded or charged, and admins can review refusals."""

from __future__ import annotations

import datetime as dt

from core.platform.clock import utc_day
from models import DailyUsage, Generation, PromptRefusal
from tests.cogs.conftest import ADMIN_ID, embeds_text, open_harness
from tests.cogs.test_creative import VIDEO, click, submit
from tests.fakes.discord import FLAG_EPHEMERAL


async def admin(h, name: str, options: dict | None = None) -> tuple[str, str]:
    handle = await h.fake.send_slash_command(
        f"videoadmin {name}", options or {}, user=h.fake.user("admin", id=ADMIN_ID)
    )
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
    [embed] = cb.data["embeds"]
    return embed["title"], embed.get("description", "")


async def test_a_blocklisted_word_in_disguise_is_refused_privately_and_nothing_is_charged(discord_env):
    h = discord_env
    assert (await admin(h, "blocklist add", {"pattern": "nude"}))[0] == "Added"
    assert (await admin(h, "blocklist add", {"pattern": "re:g[o0]r[ey]\\w*"}))[0] == "Added"
    title, text = await admin(h, "blocklist list")
    assert title == "Blocklist (2)" and "nude" in text

    for prompt in (
        "a n\u200bude statue",
        "ＮＵＤＥ beach",
        "a gory scene",
        "a nսde figure"[:0] + "a NuDe figure",
    ):
        handle = await h.video(prompt, **VIDEO)
        cb = handle.callback
        assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, prompt
        assert "does not allow" in embeds_text(cb.data["embeds"]), prompt
    assert await Generation.all().count() == 0
    assert await DailyUsage.filter(day=utc_day(dt.datetime.now(dt.UTC)), videos__gt=0).count() == 0
    refusals = await PromptRefusal.all().order_by("id")
    assert [r.entry for r in refusals] == ["nude", "nude", "re:g[o0]r[ey]\\w*", "nude"]
    assert "a n" not in str([r.entry for r in refusals])  # the prompt itself is never kept
    _, text = await admin(h, "refusals")
    assert "nude" in text and "prompt" in text

    ok = await h.video("a denuded hillside at dawn", **VIDEO)  # whole words only
    assert ok.callback.type == 5
    assert (await admin(h, "blocklist remove", {"pattern": "nude"}))[0] == "Removed"
    assert (await h.video("a nude statue", **VIDEO)).callback.type == 5


async def test_negative_and_remix_prompts_are_checked_too(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, quota_daily_videos=10) as h:
        first = await h.finished(await h.video("a red fox in snow", **VIDEO))
        await admin(h, "blocklist add", {"pattern": "wolf"})
        opened = await click(h, first.id, "remix")
        await opened.wait_modal()
        refused = await submit(h, opened, {"prompt": "a red WOLF in snow"})
        assert refused.callback.type == 4 and refused.callback.data["flags"] & FLAG_EPHEMERAL
        opened = await click(h, first.id, "extend")
        await opened.wait_modal()
        refused = await submit(h, opened, {"prompt": "the fox meets a wolf"})
        assert refused.callback.type == 4 and refused.callback.data["flags"] & FLAG_EPHEMERAL
        assert await Generation.all().count() == 1


async def test_a_pathological_pattern_is_refused_when_written(discord_env):
    h = discord_env
    title, text = await admin(h, "blocklist add", {"pattern": "re:(a+)+$"})
    assert title == "Not added" and "exponential" in text.lower()
    _, listed = await admin(h, "blocklist list")
    assert "No entries." in listed


async def test_the_global_list_from_a_file_applies_everywhere(db, tmp_path, monkeypatch):
    path = tmp_path / "blocklist.txt"
    path.write_text("# the owner's list\nkraken\n\nre:sea\\s*monster\n")
    async with open_harness(tmp_path, monkeypatch, blocklist_file=str(path)) as h:
        handle = await h.video("a KRAKEN rises", **VIDEO)
        assert handle.callback.type == 4 and handle.callback.data["flags"] & FLAG_EPHEMERAL
        handle = await h.video("a sea   monster", **VIDEO)
        assert handle.callback.type == 4
        assert [r.entry for r in await PromptRefusal.all().order_by("id")] == [
            "(global list) kraken",
            "(global list) re:sea\\s*monster",
        ]
        _, text = await admin(h, "blocklist list")
        assert "BLOCKLIST_FILE adds 2 entries everywhere" in text
