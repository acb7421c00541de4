"""The prompt blocklists in use: the global one (BLOCKLIST_FILE) and each server's (in the database).

`check` runs at admission, before anything is recorded or charged, on the prompt and the negative prompt
(so also on Remix and Extend prompts and on a preset's suffix, which admission sees joined). A refusal
is logged and kept (user, server, entry, when — never the prompt) for `/videoadmin refusals`. A server's
list is cached for CACHE_SECONDS: another process sees an edit within that time, this one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from core.errors import ErrorCategory, GenerationError
from core.moderation.blocklist import Blocklist, BlocklistError, Entry, Verdict, parse_entry
from core.platform.ttl_cache import TtlCache
from models import BlocklistEntry, PromptRefusal

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
MAX_ENTRIES = 500  # per server
GLOBAL = "(global list)"


@dataclass(frozen=True)
class RefusalView:
    """One refusal, as admins review it."""

    user_id: int
    entry: str
    field: str
    at: dt.datetime


class Moderation:
    """Checks prompts against the blocklists; edits a server's list."""

    def __init__(self, global_entries: list[str], *, monotonic: Callable[[], float]) -> None:
        self.global_list = Blocklist.of(global_entries)
        self._cache: TtlCache[int, Blocklist] = TtlCache(CACHE_SECONDS, monotonic=monotonic)

    async def check(
        self, guild_id: int | None, user_id: int, texts: dict[str, str | None]
    ) -> GenerationError | None:
        """The refusal for the first field (`prompt`, `negative_prompt`) a list blocks, else None."""
        lists = [(GLOBAL, self.global_list)]
        if guild_id is not None:
            lists.append(("server", await self._server_list(guild_id)))
        for field, text in texts.items():
            if not text:
                continue
            for source, blocklist in lists:
                verdict = await _check(blocklist, text)
                for entry in verdict.timed_out:
                    log.warning(
                        "blocklist entry %r took too long on a prompt of user %s", entry.display, user_id
                    )
                if verdict.match is not None:
                    entry = (
                        verdict.match.entry.display
                        if source == "server"
                        else f"{GLOBAL} {verdict.match.entry.display}"
                    )
                    await PromptRefusal.create(
                        guild_id=guild_id, user_id=user_id, entry=entry[:300], field=field
                    )
                    log.info("user %s: %s refused by blocklist entry %r", user_id, field, entry)
                    return GenerationError(
                        ErrorCategory.PROMPT_BLOCKED,
                        f"{field}: matches a blocked {'word' if verdict.match.kind == 'word' else 'pattern'}",
                    )
        return None

    async def _server_list(self, guild_id: int) -> Blocklist:
        async def load() -> Blocklist:
            patterns = (
                await BlocklistEntry.filter(guild_id=guild_id)
                .order_by("id")
                .values_list("pattern", flat=True)
            )
            usable = []
            for pattern in patterns:
                try:
                    usable.append(parse_entry(pattern))
                except BlocklistError as exc:  # stored before a stricter check: skipped, never fatal
                    log.warning("server %s: blocklist entry %r is skipped: %s", guild_id, pattern, exc)
            return Blocklist.of(usable)

        return await self._cache.get(guild_id, load)

    async def add(self, guild_id: int, pattern: str, admin_id: int) -> Entry:
        """Add an entry (checked first: BlocklistError says what is wrong); adding one twice is fine."""
        entry = parse_entry(pattern)
        if await BlocklistEntry.filter(guild_id=guild_id).count() >= MAX_ENTRIES:
            raise ValueError(f"This server's blocklist already has {MAX_ENTRIES} entries; remove some first.")
        with contextlib.suppress(IntegrityError):  # already there: adding it again changes nothing
            await BlocklistEntry.create(guild_id=guild_id, pattern=entry.display, added_by=admin_id)
        self._cache.forget(guild_id)
        log.info("admin %s added blocklist entry %r in server %s", admin_id, entry.display, guild_id)
        return entry

    async def remove(self, guild_id: int, pattern: str, admin_id: int) -> bool:
        """Remove an entry as it is listed; False when there is none such."""
        removed = await BlocklistEntry.filter(guild_id=guild_id, pattern=pattern.strip()).delete()
        self._cache.forget(guild_id)
        if removed:
            log.info("admin %s removed blocklist entry %r in server %s", admin_id, pattern, guild_id)
        return bool(removed)

    async def entries(self, guild_id: int) -> list[str]:
        """The server's entries, oldest first."""
        return list(
            await BlocklistEntry.filter(guild_id=guild_id).order_by("id").values_list("pattern", flat=True)
        )

    async def refusals(self, guild_id: int | None, limit: int = 20) -> list[RefusalView]:
        """The server's latest refusals, newest first."""
        rows = await PromptRefusal.filter(guild_id=guild_id).order_by("-id").limit(limit)
        return [RefusalView(r.user_id, r.entry, r.field, r.created_at) for r in rows]

    async def refusals_since(self, since: dt.datetime, guild_id: int | None = None) -> int:
        """How many requests the blocklists refused since `since` (one server's, or everywhere)."""
        query = PromptRefusal.filter(created_at__gte=since)
        if guild_id is not None:
            query = query.filter(guild_id=guild_id)
        return await query.count()


async def _check(blocklist: Blocklist, text: str) -> Verdict:
    """Words are matched on the loop (well under a millisecond); regexes, bounded in time, in a thread."""
    if not any(entry.kind == "regex" for entry in blocklist.entries):
        return blocklist.check(text)
    return await asyncio.to_thread(blocklist.check, text)
