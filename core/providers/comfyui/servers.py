"""Which ComfyUI server takes a job: the one with the shortest queue among those that have every node class the
workflow uses (`GET /object_info`, cached); a server that fails to answer is skipped for a while."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.errors import ErrorCategory, GenerationError
from core.providers.comfyui.replies import AuthRefused, Reply, queue_length

log = logging.getLogger(__name__)

# (server, what, path) -> the reply; raises GenerationError for transport trouble and 401/403.
Get = Callable[[str, str, str], Awaitable[Reply]]


@dataclass(frozen=True)
class ServerReport:
    """What `doctor` shows for one server."""

    url: str
    reachable: bool
    version: str | None = None
    missing_nodes: tuple[str, ...] = ()  # node classes the given workflows use that the server lacks
    error: str | None = None


@dataclass
class ServerState:
    """What we remember about one server."""

    nodes: frozenset[str] | None = None
    nodes_at: float = 0.0
    down_until: float = 0.0
    jobs_cancel: bool | None = None  # POST /api/jobs/{id}/cancel exists? None: not tried yet


class ServerPool:
    """The configured servers and their remembered state; `choose` picks one for a job."""

    def __init__(
        self,
        servers: Sequence[str],
        get: Get,
        clock: Callable[[], float],
        *,
        nodes_ttl: float = 600.0,
        skip_for: float = 30.0,
    ) -> None:
        if not servers:
            raise ValueError("ComfyUI needs at least one server URL")
        self.servers = [s.rstrip("/") for s in servers]
        self._get = get
        self._clock = clock
        self._nodes_ttl = nodes_ttl
        self._skip_for = skip_for
        self._states = {s: ServerState() for s in self.servers}

    def state(self, server: str) -> ServerState:
        """The remembered state of `server` (also one not configured any more, e.g. an old job's)."""
        return self._states.setdefault(server.rstrip("/"), ServerState())

    def mark_down(self, server: str) -> None:
        """Skip `server` for `skip_for` seconds."""
        self.state(server).down_until = self._clock() + self._skip_for

    def forget_nodes(self, server: str) -> None:
        """Read `/object_info` again next time (the server rejected a node class we thought it had)."""
        self.state(server).nodes = None

    async def node_classes(self, server: str, *, fresh: bool = False) -> frozenset[str]:
        """The server's node classes from `GET /object_info`, cached for `nodes_ttl` seconds."""
        state = self.state(server)
        now = self._clock()
        if fresh or state.nodes is None or now - state.nodes_at >= self._nodes_ttl:
            reply = await self._get(server, "object_info", "/object_info")
            body = reply.json()
            if reply.status != 200 or not isinstance(body, dict):
                raise GenerationError(
                    ErrorCategory.PROVIDER_UNAVAILABLE,
                    f"ComfyUI object_info at {server}: HTTP {reply.status}",
                    retryable=True,
                )
            state.nodes, state.nodes_at = frozenset(body), now
        return state.nodes

    async def choose(self, needed: frozenset[str]) -> str:
        """The usable server with the shortest queue (ties: the first configured).

        None usable: PROVIDER_UNAVAILABLE, retryable, when a server is down; MODEL_UNAVAILABLE when every
        server answered but lacks node classes; a 401/403 as its own configuration error.
        """
        now = self._clock()
        live = [s for s in self.servers if self.state(s).down_until <= now]
        results = await asyncio.gather(*(self._probe(s, needed) for s in live), return_exceptions=True)
        lengths: list[tuple[int, int, str]] = []
        problems: list[str] = [f"{s}: skipped (not answering)" for s in self.servers if s not in live]
        lacking: list[str] = []
        for index, (server, result) in enumerate(zip(live, results, strict=True)):
            if isinstance(result, int):
                lengths.append((result, index, server))
            elif isinstance(result, frozenset):
                lacking.append(f"{server}: lacks {', '.join(sorted(result))}")
            elif isinstance(result, AuthRefused):
                raise result  # a refused header is a configuration error, not an outage
            elif isinstance(result, Exception):
                self.mark_down(server)
                detail = result.detail if isinstance(result, GenerationError) else repr(result)
                problems.append(f"{server}: {detail}")
                log.warning("ComfyUI server %s skipped for now: %s", server, detail)
            else:
                raise result  # cancellation
        if lengths:
            return min(lengths)[2]
        if problems:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                "no ComfyUI server can take the job: " + "; ".join(problems + lacking),
                retryable=True,
                may_have_billed=False,
            )
        raise GenerationError(
            ErrorCategory.MODEL_UNAVAILABLE,
            "no ComfyUI server has this workflow's nodes: " + "; ".join(lacking),
            may_have_billed=False,
        )

    async def _probe(self, server: str, needed: frozenset[str]) -> int | frozenset[str]:
        """The server's queue length, or the node classes it lacks."""
        missing = needed - await self.node_classes(server)
        if missing:
            return frozenset(missing)
        reply = await self._get(server, "queue", "/queue")
        try:
            if reply.status != 200:
                raise ValueError(f"HTTP {reply.status}")
            return queue_length(reply.json())
        except ValueError as exc:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE, f"ComfyUI queue at {server}: {exc}", retryable=True
            ) from exc
