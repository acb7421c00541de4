"""/v/{job} and /g/{user} on a real server on 127.0.0.1 over a real database: range requests, the one
403 for every bad link, nothing of deleted or forgotten jobs, and an escaped, paginated gallery."""

from __future__ import annotations

import datetime as dt
import re

import aiohttp

from core.links.gallery import PAGE_SIZE
from core.links.routes import DENIED_TEXT
from tests.core.links.conftest import NOW, Clock, make_signer, seed

DATA = bytes(range(256)) * 64  # 16 KiB with a recognisable pattern


async def fetch(url: str, **headers) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as reply:
        return reply.status, dict(reply.headers), await reply.read()


async def test_video_link_serves_the_file_with_range_requests(db, tmp_path, link_server):
    video = tmp_path / "v.mp4"
    video.write_bytes(DATA)
    job = await seed(1, video)
    srv = await link_server()
    url = srv.local(srv.signer.video_url(job.id))

    status, headers, body = await fetch(url)
    assert status == 200 and body == DATA
    assert headers["Content-Type"] == "video/mp4" and headers["Cache-Control"] == "private"
    assert headers["Accept-Ranges"] == "bytes"

    status, headers, body = await fetch(url, Range="bytes=1000-1999")
    assert status == 206 and body == DATA[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    status, _, body = await fetch(url, Range="bytes=-10")
    assert status == 206 and body == DATA[-10:]


async def test_forged_expired_or_tampered_links_get_the_same_403(db, tmp_path, link_server):
    video = tmp_path / "v.mp4"
    video.write_bytes(DATA)
    job = await seed(1, video)
    other = await seed(1, video, n=1)
    clock = Clock()
    srv = await link_server(make_signer(clock))
    good = srv.local(srv.signer.video_url(job.id))
    forged = type(srv.signer)(b"not-the-secret-0123456789", srv.signer.base_url, 3600.0, clock)
    bad = [
        srv.local(forged.video_url(job.id)),
        good.replace(f"/v/{job.id}?", f"/v/{other.id}?"),  # the signature of another job
        re.sub(r"exp=(\d+)", lambda m: f"exp={int(m[1]) + 60}", good),
        f"{srv.origin}/v/{job.id}",
        f"{srv.origin}/v/999999?exp=1&sig=x",  # a job that does not exist looks the same
        srv.local(srv.signer.gallery_url(1)).replace("/g/1?", "/g/2?"),  # someone else's gallery
    ]
    for url in bad:
        status, headers, body = await fetch(url)
        assert (status, body.decode()) == (403, DENIED_TEXT), url
        assert "video" not in headers.get("Content-Type", "")
    clock.t = NOW + 3601
    assert (await fetch(good))[0] == 403, "expired"


async def test_deleted_forgotten_or_missing_videos_are_never_served(db, tmp_path, link_server):
    video = tmp_path / "v.mp4"
    video.write_bytes(DATA)
    deleted = await seed(1, video, deleted=True)
    forgotten = await seed(1, video, n=1, forgotten_at=dt.datetime.now(dt.UTC))
    missing = await seed(1, tmp_path / "gone.mp4", n=2)
    failed = await seed(1, video, n=3, status="failed")
    srv = await link_server()
    for job in (deleted, forgotten, missing, failed):
        status, _, body = await fetch(srv.local(srv.signer.video_url(job.id)))
        assert (status, body.decode()) == (403, DENIED_TEXT), job.id
    status, _, page = await fetch(srv.local(srv.signer.gallery_url(1)))
    assert status == 200 and b"<video" in page and f"job-{missing.id}".encode() in page
    for job in (deleted, forgotten, failed):
        assert f"job-{job.id}".encode() not in page


async def test_gallery_escapes_prompts_and_paginates_newest_first(db, tmp_path, link_server):
    video = tmp_path / "v.mp4"
    video.write_bytes(DATA)
    jobs = [await seed(5, video, prompt=f"clip {i}", n=i) for i in range(PAGE_SIZE + 3)]
    evil = await seed(5, video, prompt='<script>alert("x")</script> & "q"', n=100)
    await seed(6, video, prompt="not alice's", n=200)
    srv = await link_server()

    status, headers, body = await fetch(srv.local(srv.signer.gallery_url(5)))
    page1 = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no scripts at all
    assert "<script" not in page1 and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in page1
    assert "not alice" not in page1
    ids = [int(i) for i in re.findall(r'id="job-(\d+)"', page1)]
    assert ids == [evil.id, *[j.id for j in reversed(jobs)][: PAGE_SIZE - 1]]
    assert page1.count('<video controls preload="metadata"') == PAGE_SIZE
    assert f"{PAGE_SIZE + 4} videos · page 1 of 2" in page1

    [older] = re.findall(r'<a rel="next" href="([^"]+)"', page1)
    status, _, body = await fetch(f"{srv.origin}/g/5{older.replace('&amp;', '&')}")
    page2 = body.decode()
    assert status == 200 and "page 2 of 2" in page2 and 'rel="prev"' in page2 and 'rel="next"' not in page2
    assert [int(i) for i in re.findall(r'id="job-(\d+)"', page2)] == [j.id for j in jobs[:4][::-1]]

    # the players' links are signed video links relative to /g/5, and they play
    [src] = re.findall(r'<video controls preload="metadata" src="([^"]+)"', page2)[:1]
    status, _, data = await fetch(f"{srv.origin}/g/{src.replace('&amp;', '&')}", Range="bytes=0-15")
    assert status == 206 and data == DATA[:16]
