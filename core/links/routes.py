"""The link routes on the process's HTTP server: `/v/{job_id}` (one video, with HTTP range requests so a
browser can seek) and `/g/{user_id}` (the gallery). A bad, expired or forged link, and a video that is
gone (deleted message, /forget, retention), all get the same 403 that says nothing more."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from core.jobs import store
from core.jobs.views import JobView
from core.links.gallery import PAGE_SIZE, pages_for, render_gallery
from core.links.signing import GALLERY, VIDEO, LinkSigner
from core.storage import Storage

log = logging.getLogger(__name__)

DENIED_TEXT = "link expired or invalid\n"
MAX_PAGE = 10_000
# The gallery runs no scripts and loads nothing from elsewhere; signed URLs never leave in a Referer.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}

FindVideo = Callable[[int], Awaitable[tuple[str | None, str | None] | None]]
PRESIGNED_AT_MOST = (
    3600.0  # seconds a storage URL a link redirects to stays valid (less if the link ends first)
)
FindPage = Callable[[int, int, int], Awaitable[tuple[list[JobView], int]]]


def denied() -> web.Response:
    """The one answer to every link that can't be served."""
    return web.Response(status=403, text=DENIED_TEXT, headers={"Cache-Control": "no-store"})


def _is_file(path: Path) -> bool:
    return path.is_file()


class LinkRoutes:
    """The handlers, over a signer, the two store reads (tests may pass others) and the video storage (a
    file only in object storage is redirected to a short presigned URL, or fetched into this host's cache)."""

    def __init__(
        self,
        signer: LinkSigner,
        *,
        find_video: FindVideo = store.linkable_video,
        find_page: FindPage = store.linkable_page,
        storage: Storage | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.signer = signer
        self.find_video = find_video
        self.find_page = find_page
        self.storage = storage
        self._now = now

    async def video(self, request: web.Request) -> web.StreamResponse:
        """The job's original mp4 (Range supported by FileResponse), or 403."""
        job_id = int(request.match_info["job_id"])
        exp = self.signer.valid(VIDEO, job_id, request.query)
        if exp is None:
            return denied()
        found = await self.find_video(job_id)
        if found is None:
            return denied()
        local, key = found
        path = Path(local) if local else None
        if path is None or not await asyncio.to_thread(_is_file, path):
            path = await self._from_storage(key, exp)
            if isinstance(path, web.StreamResponse):
                return path
        if path is None:
            return denied()
        headers = {
            "Content-Type": "video/mp4",
            "Cache-Control": "private",
            "Content-Disposition": f'inline; filename="video_{job_id}.mp4"',
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return web.FileResponse(path, headers=headers)

    async def _from_storage(self, key: str | None, exp: int) -> Path | web.StreamResponse | None:
        """A video this host doesn't have: a redirect to the store's short-lived URL (S3), else the file
        fetched into this host's cache; None when the store has none either."""
        if key is None or self.storage is None:
            return None
        now = self._now() if self._now is not None else time.time()
        ttl = max(1.0, min(PRESIGNED_AT_MOST, exp - now))
        try:
            url = await self.storage.url_for(key, ttl)
            if url is not None:
                headers = {"Location": url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
                return web.Response(status=302, headers=headers)
            return await self.storage.fetch(key)
        except (FileNotFoundError, OSError) as exc:
            log.info("link to %s: not served (%s)", key, type(exc).__name__)
            return None

    async def gallery(self, request: web.Request) -> web.Response:
        """One page of the user's gallery, or 403."""
        user_id = int(request.match_info["user_id"])
        exp = self.signer.valid(GALLERY, user_id, request.query)
        if exp is None:
            return denied()
        text = request.query.get("page", "1")
        page = min(int(text), MAX_PAGE) if text.isascii() and text.isdigit() and 0 < len(text) < 6 else 1
        page = max(page, 1)
        jobs, total = await self.find_page(user_id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        if page > pages_for(total):
            page = pages_for(total)
            jobs, total = await self.find_page(user_id, (page - 1) * PAGE_SIZE, PAGE_SIZE)

        # Links relative to /g/{user}: they work under a PUBLIC_BASE_URL with a path too; they expire
        # with the gallery link itself.
        def video_href(job_id: int) -> str:
            return f"../v/{job_id}?{urlencode(self.signer.query(VIDEO, job_id, exp))}"

        def page_href(number: int) -> str:
            return f"?{urlencode({**self.signer.query(GALLERY, user_id, exp), 'page': number})}"

        html = render_gallery(jobs, page=page, total=total, video_href=video_href, page_href=page_href)
        return web.Response(text=html, content_type="text/html", headers=PAGE_HEADERS)


def add_link_routes(app: web.Application, routes: LinkRoutes) -> None:
    """Register `/v/{job_id}` and `/g/{user_id}` on `app` (before it starts)."""
    app.router.add_get(r"/v/{job_id:\d{1,19}}", routes.video)
    app.router.add_get(r"/g/{user_id:\d{1,20}}", routes.gallery)
