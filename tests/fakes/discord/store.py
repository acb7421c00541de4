"""The message store: creating messages, applying create/edit payloads (content, embeds, components, flags,
attachments) and serving uploaded files under /cdn."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import FLAG_EPHEMERAL, FLAG_LOADING
from tests.fakes.discord.images import image_size
from tests.fakes.discord.records import FakeAttachment, FakeMessage, UploadedFile


class MessageStore:
    """FakeDiscord's messages (`messages`, by id) and CDN files (`cdn`, by path)."""

    def _new_message(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author: dict[str, Any],
        mtype: int,
        kind: str,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        now = self.clock.now()
        msg = FakeMessage(
            id=self.new_id(now),
            channel_id=channel_id,
            guild_id=guild_id,
            author=author,
            type=mtype,
            timestamp=now,
            flags=flags,
            webhook_id=webhook_id,
            interaction_id=interaction_id,
            kind=kind,
        )
        self.messages[msg.id] = msg
        return msg

    def _apply(
        self, msg: FakeMessage, payload: dict[str, Any], files: list[UploadedFile], *, creating=False
    ) -> None:
        """Apply a create/edit payload: only present keys change; `attachments` replaces the set (existing ids
        are kept, new entries point at files[n] by id n); without it, new files are appended."""
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = [{"type": "rich", **e} for e in payload["embeds"] or []]
        if "components" in payload:
            msg.components = payload["components"] or []
        if "flags" in payload and payload["flags"] is not None:
            keep = msg.flags & FLAG_EPHEMERAL  # ephemeral state is fixed at creation
            msg.flags = keep | (int(payload["flags"]) & ~(FLAG_EPHEMERAL | FLAG_LOADING))
        by_index = {f.index: f for f in files if f.index is not None}
        if "attachments" in payload and payload["attachments"] is not None:
            existing = {a.id: a for a in msg.attachments}
            new_set: list[FakeAttachment] = []
            used: set[int] = set()
            for entry in payload["attachments"]:
                entry_id = int(entry.get("id"))
                if entry_id in existing:
                    new_set.append(existing[entry_id])
                elif entry_id in by_index:
                    new_set.append(self._store_attachment(msg, by_index[entry_id], entry))
                    used.add(entry_id)
            new_set.extend(self._store_attachment(msg, f, {}) for i, f in by_index.items() if i not in used)
            msg.attachments = new_set
        elif files:
            msg.attachments = msg.attachments + [self._store_attachment(msg, f, {}) for f in files]
        if not creating:
            msg.flags &= ~FLAG_LOADING
            msg.edited_timestamp = self.clock.now()

    def _store_attachment(
        self, msg: FakeMessage, upload: UploadedFile, entry: dict[str, Any]
    ) -> FakeAttachment:
        att_id = self.new_id()
        filename = entry.get("filename") or upload.filename or f"file{upload.index}"
        path = f"attachments/{msg.channel_id}/{att_id}/{filename}"
        ctype = (
            upload.content_type if upload.content_type != "application/octet-stream" else guess_type(filename)
        )
        self.cdn[path] = (upload.data, ctype)
        width, height = image_size(upload.data) or (None, None)
        return FakeAttachment(
            id=att_id,
            filename=filename,
            data=upload.data,
            content_type=ctype,
            url=f"{self.base_url}/cdn/{path}",
            description=entry.get("description"),
            width=width,
            height=height,
        )

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self.cdn.get(request.match_info["path"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        data, ctype = item
        return web.Response(body=data, content_type=ctype)


def guess_type(filename: str) -> str:
    """The content type of an upload sent as application/octet-stream, from its file name."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "mp4": "video/mp4",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "txt": "text/plain; charset=utf-8",
    }.get(ext, "application/octet-stream")
