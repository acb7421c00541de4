"""The link routes on a real HttpServer on 127.0.0.1, over a real database; jobs written straight in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.links.routes import LinkRoutes, add_link_routes
from core.links.signing import LinkSigner
from core.platform.http_server import HttpServer
from core.platform.metrics import Metrics

SECRET = b"test-link-secret-0123456789"
NOW = 1_800_000_000.0


class Clock:
    """Unix seconds the signer reads; tests move it."""

    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def make_signer(clock=None, base: str = "https://videos.example.org") -> LinkSigner:
    return LinkSigner(SECRET, base, 3600.0, clock or Clock())


async def seed(user_id: int, video: Path | None, *, prompt: str = "a fox", n: int = 0, **fields):
    """A completed job (created `n` minutes after a fixed start) with `video` as its file."""
    from models import Generation, GenerationStatus, User

    await User.bulk_create([User(id=user_id)], ignore_conflicts=True)
    created = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    return await Generation.create(
        user_id=user_id,
        prompt=prompt,
        model="demo",
        provider="demo",
        provider_model_id="demo-renderer",
        config={"duration": 2},
        video_seconds=2,
        status=fields.pop("status", GenerationStatus.COMPLETED),
        quota_day=created.date(),
        created_at=created,
        video_path=str(video) if video else None,
        **fields,
    )


class LinkServer:
    """A started HttpServer with the link routes; records every request's Range header and status."""

    def __init__(self, signer: LinkSigner) -> None:
        self.signer = signer
        self.server = HttpServer(Metrics(), alive=dict, checks={})
        add_link_routes(self.server.app, LinkRoutes(signer))
        self.seen: list[tuple[str, str | None, int]] = []  # (path, Range header, status)

        async def record(request, response) -> None:
            self.seen.append((request.path, request.headers.get("Range"), response.status))

        self.server.app.on_response_prepare.append(record)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def local(self, url: str) -> str:
        """A signed public URL, pointed at this server."""
        return url.replace(self.signer.base_url, self.origin, 1)


@pytest.fixture
async def link_server():
    servers: list[LinkServer] = []

    async def start(signer: LinkSigner | None = None) -> LinkServer:
        made = LinkServer(signer or make_signer())
        await made.server.start("127.0.0.1", 0)
        servers.append(made)
        return made

    yield start
    for made in servers:
        await made.server.stop()
