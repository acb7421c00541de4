"""Editing a job's one message for its whole life, whatever Discord throws at us.

While the interaction token is valid (15 minutes, minus a margin) we edit through it; later through
the channel with the bot token; if the message is gone or unreachable, we post a new message that
mentions the requester. Only the requester can ever be pinged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from core.platform.clock import utcnow
from core.platform.metrics import UNCOUNTED, Metrics

log = logging.getLogger(__name__)

TOKEN_LIFETIME = dt.timedelta(minutes=15)
TOKEN_MARGIN = dt.timedelta(minutes=1)  # from 14 minutes on, use the bot token
NO_MENTIONS = discord.AllowedMentions.none()


class MessageGone(Exception):
    """Neither the token nor the bot can edit the message any more."""


class JobMessage:
    """The public message of one job, addressed by stored ids (so it also works after a restart)."""

    def __init__(
        self,
        client: discord.Client,
        *,
        requester_id: int,
        channel_id: int,
        message_id: int,
        interaction_id: int | None = None,
        token: str | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        on_token_dead: Callable[[], Awaitable[None]] | None = None,
        metrics: Metrics = UNCOUNTED,
    ) -> None:
        self.metrics = metrics
        self.client = client
        self.requester_id = requester_id
        self.channel_id = channel_id
        self.message_id = message_id
        self.interaction_id = interaction_id
        self._token = token
        self._now = now
        self._token_dead = token is None or interaction_id is None
        self._on_token_dead = on_token_dead

    def token_usable(self) -> bool:
        """True while the interaction token may still edit (decided by the clock, never by probing)."""
        if self._token_dead or self.interaction_id is None:
            return False
        created = discord.utils.snowflake_time(self.interaction_id)
        return self._now() < created + TOKEN_LIFETIME - TOKEN_MARGIN

    @property
    def jump_url(self) -> str:
        """Link to the message (guild or DM)."""
        channel = self.client.get_channel(self.channel_id)
        guild_id = getattr(getattr(channel, "guild", None), "id", None)
        return f"https://discord.com/channels/{guild_id or '@me'}/{self.channel_id}/{self.message_id}"

    async def edit(self, files: Callable[[], list[discord.File]] | None = None, **fields: Any) -> None:
        """`_edit`, counted by outcome (ok, or the error's class name)."""
        try:
            await self._edit(files, **fields)
        except Exception as exc:
            self.metrics.discord_edit(type(exc).__name__)
            raise
        self.metrics.discord_edit("ok")

    async def _edit(self, files: Callable[[], list[discord.File]] | None = None, **fields: Any) -> None:
        """Edit the message in place; raise MessageGone when no route can edit it.

        `files` builds the attachments; it is called once per route tried, because a discord.File is
        consumed by the request that sends it.
        """
        fields.setdefault("allowed_mentions", NO_MENTIONS)

        def payload() -> dict[str, Any]:
            return {**fields, "attachments": files()} if files is not None else dict(fields)

        if self.token_usable():
            webhook = discord.Webhook.partial(self.client.application_id, self._token, client=self.client)
            try:
                await webhook.edit_message(self.message_id, **payload())
                return
            except discord.NotFound as exc:
                if exc.code != 10015:  # not "unknown webhook": the message itself is gone
                    raise MessageGone(str(exc)) from exc
                self._token_dead = True
            except discord.HTTPException as exc:
                if exc.status != 401:
                    raise
                self._token_dead = True  # expired early: never retry it in a loop
            log.info("interaction token for message %s no longer works; using the bot token", self.message_id)
            if self._on_token_dead is not None:
                await self._on_token_dead()  # so nobody else tries it again either
        channel = self.client.get_partial_messageable(self.channel_id)
        try:
            await channel.get_partial_message(self.message_id).edit(**payload())
        except (discord.NotFound, discord.Forbidden) as exc:
            raise MessageGone(str(exc)) from exc

    async def post_new(self, content: str, **fields: Any) -> discord.Message:
        """A new channel message that mentions (and may ping) only the requester."""
        channel = self.client.get_partial_messageable(self.channel_id)
        mention = f"<@{self.requester_id}> {content}".strip()
        allowed = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(self.requester_id)]
        )
        message = await channel.send(mention, allowed_mentions=allowed, **fields)
        self.message_id = message.id
        self._token_dead = True
        return message

    async def notify(self, content: str) -> None:
        """A short reply that pings the requester (and nobody else); the job's message stays as it is."""
        channel = self.client.get_partial_messageable(self.channel_id)
        allowed = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(self.requester_id)]
        )
        await channel.send(f"<@{self.requester_id}> {content}", allowed_mentions=allowed)
