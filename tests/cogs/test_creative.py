"""Extend, Remix and Animate through the real discord.py against the fake Discord, on the demo model:
the modals (prefilled, submitted), the new jobs they start, what they are charged, and what they deliver."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import tomllib
from pathlib import Path

import av
from PIL import Image

from core.catalog import DEFAULT_CATALOG_PATH
from core.platform.clock import utc_day
from models import Generation
from tests.cogs.conftest import open_harness, running_bot
from tests.cogs.ui.test_buttons import click, info_fields, job_id_of, title
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, FakeInteraction

VIDEO = {"duration": 2, "resolution": "360p"}


def seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        return container.duration / 1e6


async def read(path: str) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (320, 180)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


async def submit(h, opened: FakeInteraction, values: dict[str, str] | None = None, user: str = "alice"):
    """Submit the modal the bot opened; the submit's handle once its callback arrived."""
    handle = await h.fake.submit_modal(opened, values or {}, user=h.fake.user(user))
    await handle.wait_callback()
    return handle


async def test_extend_twice_gives_one_clip_whose_length_is_the_three_clips_sum(discord_env):
    h = discord_env
    first = await h.finished(await h.video("a red fox in snow", **VIDEO))
    assert "video:extend:" in str(first.custom_ids()) and "video:remix:" in str(first.custom_ids())

    opened = await click(h, first.id, "extend")
    modal = await opened.wait_modal()
    assert modal.input("prompt").label == "Prompt" and modal.prefilled["prompt"] == "a red fox in snow"
    extended = await h.finished(await submit(h, opened, {"prompt": "the fox runs into the forest"}))
    assert abs(seconds(extended.attachments[0].data) - 4.0) < 1 / 24 + 0.01

    opened = await click(h, extended.id, "extend")
    assert (await opened.wait_modal()).prefilled["prompt"] == "the fox runs into the forest"
    twice = await h.finished(await submit(h, opened))
    assert abs(seconds(twice.attachments[0].data) - 6.0) < 1 / 24 + 0.01, "2 s + 2 s + 2 s, within one frame"

    first_id, second_id, third_id = job_id_of(first), job_id_of(extended), job_id_of(twice)
    child = await Generation.get(id=second_id)
    assert (child.parent_id, child.relation, child.prompt) == (
        first_id,
        "extend",
        "the fox runs into the forest",
    )
    assert child.video_seconds == 2 and child.config["total_seconds"] == 4  # charged for the new seconds
    info = info_fields(await click(h, twice.id, "info"))
    assert info["Length"] == f"2 s added to #{second_id}'s clip: 6 s in all"
    assert info["Seed"] == str((await Generation.get(id=third_id)).config["seed"])
    alice = int(h.fake.user("alice")["id"])
    usage = await h.services.quotas.status(alice, utc_day(dt.datetime.now(dt.UTC)))
    assert (usage.videos_used, usage.seconds_used) == (3, 6)

    history = await h.fake.send_slash_command("history", {}, user=h.fake.user("alice"))
    await history.wait_callback()
    assert f"#{first_id} → #{second_id} (extend) → #{third_id} (extend)" in str(history.callback.data)


async def test_extend_refused_by_quota_is_private_and_changes_nothing(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, quota_daily_videos=1) as h:
        first = await h.finished(await h.video("a red fox in snow", **VIDEO))
        opened = await click(h, first.id, "extend")
        await opened.wait_modal()
        refused = await submit(h, opened)
        assert refused.callback.type == 4 and refused.callback.data["flags"] & FLAG_EPHEMERAL
        assert "quota" in str(refused.callback.data).lower()
        assert await Generation.all().count() == 1


async def test_extend_is_not_offered_where_the_model_cannot_extend(db, tmp_path, monkeypatch):
    catalog = tomllib.loads(DEFAULT_CATALOG_PATH.read_text())
    lines = DEFAULT_CATALOG_PATH.read_text().splitlines()
    demo = catalog["models"]["demo"]
    assert demo["extension"] == "last_frame"
    path = tmp_path / "catalog.toml"
    path.write_text("\n".join(line for line in lines if not line.startswith(("extension", "end_frame"))))
    async with open_harness(tmp_path, monkeypatch, model_catalog=str(path)) as h:
        msg = await h.finished(await h.video("a red fox in snow", **VIDEO))
        ids = msg.custom_ids()
        assert not any(c.startswith("video:extend:") for c in ids) and any(
            c.startswith("video:remix:") for c in ids
        )


async def test_remix_changes_the_prompt_and_keeps_the_image(discord_env):
    h = discord_env
    image = h.fake.add_cdn_file("first.png", png((20, 40, 230)), "image/png")
    first = await h.finished(
        await h.video("a blue square", **VIDEO, aspect_ratio="16:9", seed=7, image=image)
    )

    opened = await click(h, first.id, "remix")
    modal = await opened.wait_modal()
    assert modal.prefilled == {
        "prompt": "a blue square",
        "duration": "2",
        "seed": "7",
    }  # demo: no negative prompt
    remixed = await h.finished(
        await submit(h, opened, {"prompt": "a blue square spins", "duration": "4", "seed": ""})
    )
    assert abs(seconds(remixed.attachments[0].data) - 4.0) < 0.1
    source, child = await Generation.get(id=job_id_of(first)), await Generation.get(id=job_id_of(remixed))
    assert (child.parent_id, child.relation, child.prompt) == (source.id, "remix", "a blue square spins")
    assert child.config["aspect_ratio"] == "16:9" and child.config["seed"] != 7  # empty seed: a new one
    assert await read(source.config["image_path"]) == await read(child.config["image_path"])


async def test_remix_with_a_duration_that_is_not_a_number_is_refused_privately(discord_env):
    h = discord_env
    first = await h.finished(await h.video("a red fox in snow", **VIDEO))
    opened = await click(h, first.id, "remix")
    await opened.wait_modal()
    refused = await submit(h, opened, {"duration": "six"})
    assert refused.callback.type == 4 and refused.callback.data["flags"] & FLAG_EPHEMERAL
    assert "duration: 'six' is not a whole number" in str(refused.callback.data)
    assert await Generation.all().count() == 1


async def test_animate_on_a_members_image_starts_a_job_with_that_image_in_that_channel(discord_env):
    h = discord_env
    image = png((230, 30, 30))
    post = h.fake.add_member_message("bob", "my cat", attachments=[("cat.png", image)])
    opened = await h.fake.send_message_command("Animate", post, user=h.fake.user("alice"))
    modal = await opened.wait_modal()
    assert modal.input_ids() == ["prompt", "model"]
    done = await h.finished(await submit(h, opened, {"prompt": "the cat waves"}))
    assert title(done) == "✅ Video ready" and done.channel_id == post.channel_id
    job = await Generation.get(id=job_id_of(done))
    assert job.prompt == "the cat waves" and job.user_id == int(h.fake.user("alice")["id"])
    assert await read(job.config["image_path"]) == image


async def test_animate_on_a_message_without_an_image_says_so_privately(discord_env):
    h = discord_env
    post = h.fake.add_member_message("bob", "no picture here")
    handle = await h.fake.send_message_command("Animate", post, user=h.fake.user("alice"))
    callback = await handle.wait_callback()
    assert callback.type == 4 and callback.data["flags"] & FLAG_EPHEMERAL
    assert "no PNG, JPEG or WebP image" in str(callback.data)


# ---- variants -----------------------------------------------------------------------------------------


def labels(msg) -> list[str]:
    return [c["label"] for row in msg.components for c in row["components"]]


async def test_three_variants_share_one_message_that_receives_three_mp4s(discord_env):
    h = discord_env
    handle = await h.video("a red fox in snow", **VIDEO, variants=3)
    assert handle.callback.type == 5
    msg = await handle.wait_original(lambda m: len(m.attachments) == 3, timeout=60)
    jobs = await Generation.all().order_by("id")
    assert len(jobs) == 3 and {j.group_id for j in jobs} == {jobs[0].id}
    assert [j.config["variant"] for j in jobs] == [1, 2, 3]
    assert len({j.config["seed"] for j in jobs}) == 3, "each variant its own seed"
    assert sorted(a.filename for a in msg.attachments) == [f"video_{j.id}.mp4" for j in jobs]
    assert all(abs(seconds(a.data) - 2.0) < 0.1 for a in msg.attachments)
    await h.fake.wait_for(lambda: "Delete" in labels(msg), 10, "the last drawing with every variant over")
    assert labels(msg) == [
        *[f"{action} {n}" for n in (1, 2, 3) for action in ("Extend", "Remix", "Info")],
        "Delete",
    ]
    assert msg.embeds[0]["title"] == "🎞️ 3 variants · 3 of 3 finished" and len(msg.embeds) == 4
    alice = int(h.fake.user("alice")["id"])
    usage = await h.services.quotas.status(alice, utc_day(dt.datetime.now(dt.UTC)))
    assert (usage.videos_used, usage.seconds_used) == (3, 6)

    info = await h.fake.send_component_click(msg.id, f"video:info:{jobs[2].id}", user=h.fake.user("alice"))
    await info.wait_callback()
    assert info_fields(info)["Variant"] == f"3 of 3 (from job #{jobs[0].id})"

    # A variant's own buttons act on that variant.
    opened = await h.fake.send_component_click(
        msg.id, f"video:extend:{jobs[1].id}", user=h.fake.user("alice")
    )
    await opened.wait_modal()
    extended = await h.finished(await submit(h, opened))
    child = await Generation.get(id=job_id_of(extended))
    assert (child.parent_id, child.relation, child.group_id) == (jobs[1].id, "extend", None)


async def test_variants_the_quota_cannot_all_cover_are_refused_and_nothing_is_charged(
    db, tmp_path, monkeypatch
):
    async with open_harness(tmp_path, monkeypatch, quota_daily_videos=2) as h:
        handle = await h.video("a red fox in snow", **VIDEO, variants=3)
        assert handle.callback.type == 4 and handle.callback.data["flags"] & FLAG_EPHEMERAL
        assert "quota" in str(handle.callback.data).lower()
        assert await Generation.all().count() == 0


async def test_a_modal_opened_before_a_restart_still_starts_its_job_after_it(db, tmp_path, monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, tmp_path) as h:
            first = await h.finished(await h.video("a red fox in snow", **VIDEO))
            opened = await click(h, first.id, "extend")
            await opened.wait_modal()
        async with running_bot(fake, tmp_path) as h:  # the new process never saw that modal
            extended = await h.finished(await submit(h, opened, {"prompt": "the fox jumps"}))
            assert abs(seconds(extended.attachments[0].data) - 4.0) < 1 / 24 + 0.01
            assert (await Generation.get(id=job_id_of(extended))).prompt == "the fox jumps"
