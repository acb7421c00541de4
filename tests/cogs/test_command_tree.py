"""Walks the real bot's command tree: every command, group, subcommand and option is described, and every
/videoadmin subcommand the walk finds refuses a non-admin through the fake Discord, changing nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import discord
import pytest
from discord import app_commands

from core.platform.clock import utc_day
from models import (
    AllowedChannel,
    BlocklistEntry,
    ChannelSettings,
    DailyUsage,
    Generation,
    RoleSettings,
    ServerSettings,
    User,
)
from tests.cogs.conftest import ADMIN_ID, seed_job
from tests.fakes.discord import FLAG_EPHEMERAL

DEFAULT_DESCRIPTION = "…"  # what discord.py sends when a command has no docstring or an option no Args: entry
Node = app_commands.Command | app_commands.Group | app_commands.ContextMenu


def walk(tree: app_commands.CommandTree) -> Iterator[Node]:
    """Every top-level command, group, subgroup and subcommand of `tree`, parents first."""
    for command in tree.get_commands():
        yield command
        if isinstance(command, app_commands.Group):
            yield from command.walk_commands()


def missing_descriptions(tree: app_commands.CommandTree) -> list[str]:
    """'/path' or '/path option' for each node or option whose description is empty or discord.py's default."""

    def bad(text: str | None) -> bool:
        return not (text or "").strip() or text.strip() == DEFAULT_DESCRIPTION

    found = []
    for node in walk(tree):
        if isinstance(node, app_commands.ContextMenu):
            continue  # Discord gives context menus no description
        if bad(node.description):
            found.append(f"/{node.qualified_name}")
        if isinstance(node, app_commands.Command):
            found += [f"/{node.qualified_name} {p.name}" for p in node.parameters if bad(p.description)]
    return found


async def test_every_command_group_subcommand_and_option_has_a_description(discord_env):
    tree = discord_env.bot.tree
    assert len(list(walk(tree))) > len(tree.get_commands())  # the walk reached into the groups
    assert missing_descriptions(tree) == []


def test_the_description_check_catches_an_undocumented_command_and_option():
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    group = app_commands.Group(name="grp", description="A group")

    @group.command(name="sub")
    async def sub(interaction: discord.Interaction, thing: str) -> None:  # no docstring, no Args:
        pass

    tree.add_command(group)
    assert missing_descriptions(tree) == ["/grp sub", "/grp sub thing"]


# ---- /videoadmin: every subcommand the walk finds refuses a non-admin -------------------------------


def admin_subcommands(tree: app_commands.CommandTree) -> list[app_commands.Command]:
    group = tree.get_command("videoadmin")
    assert isinstance(group, app_commands.Group)
    return [c for c in group.walk_commands() if isinstance(c, app_commands.Command)]


def option_values(h, command: app_commands.Command, job: Generation, role: dict) -> dict[str, Any]:
    """A value for every option, chosen so that an admin's run would change something: users are bob
    (blocked, with usage and a running job), numbers are that job's id (clamped into the option's range:
    the job where a job is meant, a small limit elsewhere)."""
    values: dict[str, Any] = {}
    for p in command.parameters:
        kind = p.type
        if p.choices:
            values[p.name] = p.choices[0].value
        elif kind is discord.AppCommandOptionType.user:
            values[p.name] = h.fake.user("bob")
        elif kind in (discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number):
            low = p.min_value if p.min_value is not None else job.id
            high = p.max_value if p.max_value is not None else job.id
            value = min(max(job.id, low), high)
            values[p.name] = int(value) if kind is discord.AppCommandOptionType.integer else float(value)
        elif kind is discord.AppCommandOptionType.string:  # min_value: the shortest length allowed
            values[p.name] = "x" * max(int(p.min_value or 0), 8)
        elif kind is discord.AppCommandOptionType.boolean:
            values[p.name] = True
        elif kind is discord.AppCommandOptionType.channel:
            values[p.name] = h.fake.add_text_channel("elsewhere")
        elif kind is discord.AppCommandOptionType.attachment:
            values[p.name] = h.fake.add_cdn_file("a.png", b"\x89PNG\r\n\x1a\n", "image/png")
        elif kind is discord.AppCommandOptionType.role:
            values[p.name] = role
        else:
            pytest.fail(
                f"/{command.qualified_name} {p.name}: teach this test a value for {kind.name} options"
            )
    return values


async def snapshot(h) -> tuple:
    """Everything an admin subcommand could change."""
    policy = (
        await ServerSettings.all().values(),
        await ChannelSettings.all().values(),
        await RoleSettings.all().values(),
    )
    users = (
        await User.all()
        .order_by("id")
        .values("id", "daily_videos", "daily_seconds", "blocked", "blocked_reason")
    )
    usage = await DailyUsage.all().order_by("id").values("user_id", "day", "videos", "seconds")
    jobs = await Generation.all().order_by("id").values("id", "status", "refunded")
    blocklist = await BlocklistEntry.all().values_list("guild_id", "pattern")
    channels = await AllowedChannel.all().values_list("guild_id", "channel_id")
    return (
        policy,
        users,
        usage,
        jobs,
        blocklist,
        channels,
        await h.services.admin.is_paused(),
        len(h.fake.command_puts),
    )


@pytest.mark.parametrize("where", ["guild", "dm"])
async def test_every_videoadmin_subcommand_refuses_a_non_admin_and_changes_nothing(discord_env, where):
    h = discord_env
    bob = int(h.fake.user("bob")["id"])
    job = await seed_job(bob, prompt="bob's secret job", status="processing")
    await h.services.admin.block(ADMIN_ID, bob, "old reason")
    await DailyUsage.create(user_id=bob, day=utc_day(dt.datetime.now(dt.UTC)), videos=2, seconds=8)
    role = await h.fake.add_role("Creators")
    subcommands = admin_subcommands(h.bot.tree)
    assert any(" " in c.qualified_name.removeprefix("videoadmin ") for c in subcommands)  # subgroups too

    failures = []
    for command in subcommands:
        for paused in (False, True):  # so that both pause and resume would change something
            await h.services.admin.set_paused(ADMIN_ID, paused)
            before = await snapshot(h)
            # in a server: an ordinary member (no Manage Server); in a DM: anyone not in ADMIN_USER_IDS
            handle = await h.fake.send_slash_command(
                command.qualified_name,
                option_values(h, command, job, role),
                user=h.fake.user("alice"),
                dm=where == "dm",
            )
            await handle.wait_callback()
            cb = handle.callback
            data = (cb.data if cb else None) or {}
            answer = (
                cb and cb.type,
                bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL),
                [e.get("title") for e in data.get("embeds") or []],
            )
            if answer != (4, True, ["Admins only"]) or len(handle.attempts) != 1 or handle.followup_ids:
                failures.append(f"/{command.qualified_name} (paused={paused}) was answered {answer}")
            if await snapshot(h) != before:
                failures.append(f"/{command.qualified_name} (paused={paused}) changed the database")
    assert failures == []
    assert "secret" not in str([payload for _, payload in h.fake.message_payloads()])
