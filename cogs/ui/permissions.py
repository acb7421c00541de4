"""Who counts as an admin (ADMIN_USER_IDS everywhere, or Manage Server in that server), and who asks where."""

from __future__ import annotations

from collections.abc import Collection

import discord

from core.jobs.actions import Actor
from core.jobs.views import Requester


def requester_of(interaction: discord.Interaction) -> Requester:
    """Who asks and where (in a thread, its channel too: a channel's policy covers its threads), with
    the member's roles and whether Discord marks the channel age-restricted."""
    channel = interaction.channel
    parent = getattr(channel, "parent_id", None)
    roles = tuple(r.id for r in getattr(interaction.user, "roles", ()))
    is_nsfw = getattr(channel, "is_nsfw", None)
    return Requester(
        interaction.user.id,
        interaction.guild_id,
        interaction.channel_id,
        parent,
        role_ids=roles,
        nsfw=bool(is_nsfw()) if callable(is_nsfw) else False,
    )


def is_admin(interaction: discord.Interaction, admin_ids: Collection[int]) -> bool:
    """ADMIN_USER_IDS always; in a server also anyone with Manage Server there; in DMs only the list."""
    if interaction.user.id in admin_ids:
        return True
    if interaction.guild_id is None:
        return False
    return bool(interaction.permissions.manage_guild)


def actor_of(interaction: discord.Interaction, admin_ids: Collection[int]) -> Actor:
    """Who is acting, with what Discord lets them do here."""
    perms = interaction.permissions
    return Actor(
        interaction.user.id,
        is_admin=is_admin(interaction, admin_ids),
        manages_messages=bool(perms and perms.manage_messages),
    )
