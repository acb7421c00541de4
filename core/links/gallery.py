"""The gallery page: one user's videos, newest first, as plain server-rendered HTML (no scripts, no
external assets). Every text that came from a user is escaped."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from core.jobs.views import JobView

PAGE_SIZE = 12

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#222;background:#fafafa}
h1{font-size:1.4rem}ul{list-style:none;padding:0;display:grid;gap:1.2rem;
grid-template-columns:repeat(auto-fill,minmax(20rem,1fr))}li{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:.6rem}video{width:100%;background:#000}p{margin:.4rem 0;overflow-wrap:anywhere}
.meta{color:#666;font-size:.85rem}nav{margin:1.5rem 0;display:flex;gap:1rem}
"""


def pages_for(total: int) -> int:
    """How many gallery pages `total` videos fill (at least one)."""
    return max(1, math.ceil(total / PAGE_SIZE))


def render_gallery(
    jobs: list[JobView],
    *,
    page: int,
    total: int,
    video_href: Callable[[int], str],
    page_href: Callable[[int], str],
) -> str:
    """The HTML of one gallery page; `video_href(job_id)` and `page_href(page)` give the signed links."""
    pages = pages_for(total)
    items = []
    for job in jobs:
        href = escape(video_href(job.id))
        when = job.created_at.strftime("%Y-%m-%d %H:%M UTC")
        items.append(
            f'<li id="job-{job.id}"><video controls preload="metadata" src="{href}"></video>'
            f"<p>{escape(job.prompt) or '<em>no prompt</em>'}</p>"
            f'<p class="meta">#{job.id} · {escape(job.model)} · {job.video_seconds} s · {when} · '
            f'<a href="{href}" download="video_{job.id}.mp4">Download</a></p></li>'
        )
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="{escape(page_href(page - 1))}">← Newer</a>')
    if page < pages:
        nav.append(f'<a rel="next" href="{escape(page_href(page + 1))}">Older →</a>')
    body = "\n".join(items) if items else "<p>No videos here (yet).</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>Your videos</title><style>{STYLE}</style>'
        f'</head><body><h1>Your videos</h1><p class="meta">{total} video{"s" if total != 1 else ""}'
        f" · page {page} of {pages}</p><ul>\n{body}\n</ul><nav>{''.join(nav)}</nav></body></html>"
    )
