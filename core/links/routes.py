"""The link routes on the process's HTTP server: `/v/{job_id}` (one video, with HTTP range requests so a
browser can seek) and `/g/{user_id}` (the gallery). A bad, expired or forged link, and a video that is
gone (deleted message, /forget, retention), all get the same 403 that says nothing more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from core.jobs import store
from core.jobs.views import JobView
from core.links.gallery import PAGE_SIZE, pages_for, render_gallery
from core.links.signing import GALLERY, VIDEO, LinkSigner

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

FindVideo = Callable[[int], Awaitable[str | None]]
FindPage = Callable[[int, int, int], Awaitable[tuple[list[JobView], int]]]


def denied() -> web.Response:
    """The one answer to every link that can't be served."""
    return web.Response(status=403, text=DENIED_TEXT, headers={"Cache-Control": "no-store"})


def _is_file(path: Path) -> bool:
    return path.is_file()


class LinkRoutes:
    """The handlers, over a signer and the two store reads (tests may pass others)."""

    def __init__(
        self,
        signer: LinkSigner,
        *,
        find_video: FindVideo = store.linkable_video,
        find_page: FindPage = store.linkable_page,
    ) -> None:
        self.signer = signer
        self.find_video = find_video
        self.find_page = find_page

    async def video(self, request: web.Request) -> web.StreamResponse:
        """The job's original mp4 (Range supported by FileResponse), or 403."""
        job_id = int(request.match_info["job_id"])
        if self.signer.valid(VIDEO, job_id, request.query) is None:
            return denied()
        stored = await self.find_video(job_id)
        path = Path(stored) if stored else None
        if path is None or not await asyncio.to_thread(_is_file, path):
            return denied()
        headers = {
            "Content-Type": "video/mp4",
            "Cache-Control": "private",
            "Content-Disposition": f'inline; filename="video_{job_id}.mp4"',
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return web.FileResponse(path, headers=headers)

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
