"""FakeDiscord for the benchmark: it signals callbacks and final edits (instead of being polled) and, unless
the bench runs with --full-records, keeps only slim copies of what it records: its full records of 25 000
message edits would otherwise be most of the child process's RSS."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.discord import FakeDiscord, UploadedFile, Write
from tests.fakes.discord.records import iter_components

FINAL_BUTTON = "video:delete:"  # only the final state of a job's message has a Delete button


def custom_ids(payload: Any) -> list[str]:
    """The custom ids of a write's buttons (full or slim payload)."""
    if not isinstance(payload, dict):
        return []
    if "custom_ids" in payload:
        return payload["custom_ids"]
    return [c["custom_id"] for c in iter_components(payload.get("components")) if "custom_id" in c]


def status_line(payload: Any) -> str:
    """The Status field of a write's embed (full or slim payload)."""
    if not isinstance(payload, dict):
        return ""
    if "status" in payload:
        return payload["status"]
    fields = (payload.get("embeds") or [{}])[0].get("fields") or []
    return next((f.get("value") or "" for f in fields if f.get("name") == "Status"), "")


def is_final(write: Write) -> bool:
    """True for the write that put a job's message in its final state."""
    return any(c.startswith(FINAL_BUTTON) for c in custom_ids(write.payload))


def _slim_payload(payload: Any) -> dict[str, Any] | None:
    """What the benchmark reads back from a message write: its buttons and the embed's Status line."""
    if not isinstance(payload, dict):
        return None
    return {"custom_ids": custom_ids(payload), "status": status_line(payload)}


class SlimWrites(list):
    """A message's edits, each kept as time, slim payload and files without their bytes."""

    def append(self, write: Write) -> None:
        files = [UploadedFile(f.field, f.filename, f.content_type, b"") for f in write.files]
        super().append(Write(write.at, _slim_payload(write.payload), files))


class BenchDiscord(FakeDiscord):
    """FakeDiscord with an event per interaction callback, one for "every job's final edit arrived",
    and (with `slim`) slim records."""

    def __init__(self, *, slim: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slim = slim
        self.callback_events: dict[int, asyncio.Event] = {}
        self.final_messages: set[int] = set()
        self.expected_finals: int | None = None
        self.all_final = asyncio.Event()

    def callback_event(self, iid: int) -> asyncio.Event:
        """Set once interaction `iid` got a callback (accepted or not)."""
        return self.callback_events.setdefault(iid, asyncio.Event())

    def expect_finals(self, count: int) -> None:
        """`all_final` is set once `count` messages reached their final state (perhaps already)."""
        self.expected_finals = count
        self._check_done()

    async def _callback(self, rec, iid, token):
        try:
            return await super()._callback(rec, iid, token)
        finally:
            self.callback_event(int(iid)).set()

    def _new_message(self, **kwargs: Any):
        msg = super()._new_message(**kwargs)
        if self.slim:
            msg.edits = SlimWrites()
        return msg

    def _finish(self, rec, response):
        response = super()._finish(rec, response)
        if self.slim:
            # the benchmark reads only at, method, template and status of a request
            rec.payload, rec.files, rec.headers, rec.response, rec.query = None, [], {}, None, {}
            rec.path = rec.template or rec.path
        return response

    def _apply(self, msg, payload, files, *, creating=False) -> None:
        super()._apply(msg, payload, files, creating=creating)
        if msg.id not in self.final_messages and any(c.startswith(FINAL_BUTTON) for c in msg.custom_ids()):
            self.final_messages.add(msg.id)
            self._check_done()

    def _check_done(self) -> None:
        if self.expected_finals is not None and len(self.final_messages) >= self.expected_finals:
            self.all_final.set()
