"""ComfyUIProvider: a self-hosted ComfyUI (one or more servers) over plain aiohttp: pick a server, upload the
first frame, queue the bound workflow, follow it (history and queue, or the WebSocket), download, cancel.

Protocol: providers.md section 9. ComfyUI has no auth of its own; `headers` (COMFYUI_HEADERS) carry a reverse
proxy's and go on every request and on the WebSocket upgrade. A submit is never retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from core.errors import ErrorCategory, GenerationError
from core.providers._common import CANCEL_TIMEOUT, bounded, exc_text, transport_error
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.comfyui import download, replies, watch
from core.providers.comfyui.ids import client_id_for, make_job_id, parse_job_id
from core.providers.comfyui.replies import Reply
from core.providers.comfyui.servers import ServerPool, ServerReport

log = logging.getLogger(__name__)

_BASE_HEADERS = {"Accept": "application/json", "User-Agent": "videobot/0.1 (aiohttp)"}
RECONNECT_DELAYS = (1.0, 5.0)  # seconds before each WebSocket reconnect; then the runner polls


class Workflow(Protocol):
    """A bound-able API-format workflow (core/providers/comfyui/workflow.py)."""

    node_classes: frozenset[str]
    needs_image: bool

    def graph(self, request: VideoRequest, image_name: str | None) -> dict[str, Any]:
        """The API-format graph with the request's fields bound."""
        ...


class ComfyUIProvider:
    """Local open-weight models on the operator's own ComfyUI server(s)."""

    name = "comfyui"
    supports_cancel = True

    def __init__(
        self,
        servers: Sequence[str],
        headers: Mapping[str, str],
        workflow_for: Callable[[VideoRequest], Workflow],
        *,
        poll_interval: float = 2.0,
        request_timeout: float = 30.0,
        cancel_timeout: float = CANCEL_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        nodes_ttl: float = 600.0,
        skip_for: float = 30.0,
        ws_heartbeat: float = 30.0,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._headers = dict(headers)
        self._workflow_for = workflow_for
        self.poll_interval = poll_interval
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        # Downloads may be large: bound connecting and every read (a stall), not the whole transfer.
        self._fetch_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=request_timeout, sock_read=request_timeout
        )
        self._cancel_timeout = cancel_timeout
        self._ws_heartbeat = ws_heartbeat
        self._reconnect_delays = tuple(reconnect_delays)
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.pool = ServerPool(servers, self._get, clock, nodes_ttl=nodes_ttl, skip_for=skip_for)

    def __repr__(self) -> str:
        return f"ComfyUIProvider(servers={self.pool.servers!r})"  # never the headers

    # -- plumbing ----------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=_BASE_HEADERS)
        return self._session

    async def _raw(
        self, method: str, url: str, *, time_limit: aiohttp.ClientTimeout | None = None, **kwargs: Any
    ) -> Reply:
        """One request with our headers; transport errors propagate for the caller to classify."""
        async with self._http().request(
            method,
            url,
            headers=self._headers,
            timeout=time_limit or self._timeout,
            allow_redirects=False,
            **kwargs,
        ) as resp:
            return Reply(resp.status, (await resp.read()).decode("utf-8", errors="replace"))

    async def _call(self, server: str, what: str, method: str, path: str, **kwargs: Any) -> Reply:
        """A call that cannot create a job: transport trouble is retryable, a 401/403 is AuthRefused."""
        try:
            reply = await self._raw(method, f"{server}{path}", **kwargs)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(f"ComfyUI {what} at {server}", exc) from exc
        if reply.status in (401, 403):
            raise replies.auth_refused(server, reply.status)
        return reply

    async def _get(self, server: str, what: str, path: str) -> Reply:
        return await self._call(server, what, "GET", path)

    async def _json(self, server: str, what: str, path: str) -> Any:
        """GET a JSON reply that must be a 200."""
        reply = await self._get(server, what, path)
        body = reply.json()
        if reply.status != 200 or body is None:
            raise replies.http_error(server, what, reply if reply.status != 200 else Reply(502, reply.text))
        return body

    # -- submit ------------------------------------------------------------------------------------

    def new_job_id(self, request: VideoRequest) -> str:
        """A fresh prompt id (uuid4) for `submit`; the runner stores it before submitting (NamesJobs)."""
        return str(uuid.uuid4())

    async def submit_as(self, request: VideoRequest, job_id: str) -> str:
        """`submit` under the prompt id `job_id` (NamesJobs: the runner stored it first)."""
        return await self.submit(request, job_id)

    async def find_job(self, job_id: str) -> str | None:
        """Where a prompt submitted under `job_id` (a prompt id) is: its full job id, or None when every
        server answered and none knows it. A server that doesn't answer makes it a retryable error: the
        prompt may be there, so it must not be submitted again."""
        unsure: list[str] = []
        for server in self.pool.servers:
            try:
                found = await self._locate(server, job_id)
            except GenerationError as exc:
                unsure.append(f"{server}: {exc.detail}")
                continue
            if found is not None:
                return make_job_id(server, job_id)
        if unsure:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"can't tell whether ComfyUI has prompt {job_id}: " + "; ".join(unsure),
                retryable=True,
            )
        return None

    async def submit(self, request: VideoRequest, prompt_id: str | None = None) -> str:
        """Queue the model's workflow on the best server; return `<prompt_id>@<server>`. Never retried.

        `prompt_id` (default: a new uuid4) is the id ComfyUI files the prompt under, so a caller that stored
        it first can find the prompt again even if this call's reply is lost.
        """
        workflow = self._workflow_for(request)
        if workflow.needs_image and request.image is None:
            raise GenerationError(
                ErrorCategory.INVALID_REQUEST, f"{request.model.name} needs a first-frame image"
            )
        server = await self.pool.choose(workflow.node_classes)
        image_name = await self._upload(server, request) if request.image is not None else None
        graph = workflow.graph(request, image_name)
        prompt_id = prompt_id or str(uuid.uuid4())
        body = {"prompt": graph, "client_id": client_id_for(prompt_id), "prompt_id": prompt_id}
        try:
            reply = await self._raw("POST", f"{server}/prompt", json=body)
        except aiohttp.ClientConnectorError as exc:
            self.pool.mark_down(server)
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"ComfyUI at {server} unreachable ({exc.__class__.__name__}); nothing was submitted",
                retryable=True,
                may_have_billed=False,
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            return await self._resolve_lost_submit(server, prompt_id, exc_text(exc))
        return self._accepted(server, prompt_id, reply)

    def _accepted(self, server: str, prompt_id: str, reply: Reply) -> str:
        """The job id of a `POST /prompt` reply, or the error it carries."""
        if reply.status in (401, 403):
            raise replies.auth_refused(server, reply.status)
        if reply.status == 400:
            self.pool.forget_nodes(server)
            raise replies.rejected(server, reply)
        body = reply.json()
        accepted = body.get("prompt_id") if isinstance(body, dict) else None
        if reply.status != 200 or not isinstance(accepted, str) or not accepted:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"ComfyUI at {server} answered the prompt with HTTP {reply.status} and no prompt_id; "
                f"prompt {prompt_id} may be queued, NOT resubmitted",
            )
        if accepted != prompt_id:
            log.warning("ComfyUI at %s ignored our prompt_id %s (older than v0.25?)", server, prompt_id)
        if isinstance(body, dict) and body.get("node_errors"):
            log.warning("ComfyUI queued %s with node errors: %s", accepted, body["node_errors"])
        log.info("ComfyUI at %s queued prompt %s", server, accepted)
        return make_job_id(server, accepted)

    async def _resolve_lost_submit(self, server: str, prompt_id: str, why: str) -> str:
        """The reply to `POST /prompt` was lost: our prompt id tells whether the server queued it."""
        try:
            found = await self._locate(server, prompt_id)
        except GenerationError:
            found = None
        if found is not None:
            log.info("ComfyUI prompt %s was queued although the reply was lost (%s)", prompt_id, why)
            return make_job_id(server, prompt_id)
        raise GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"submit to ComfyUI at {server} failed ({why}); prompt {prompt_id} may still appear, NOT resubmitted",
        )

    async def _upload(self, server: str, request: VideoRequest) -> str:
        """`POST /upload/image` the first frame; its `name` goes into LoadImage."""
        mime = request.image_mime_type or "image/png"
        suffix = {"image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "png")
        form = aiohttp.FormData()
        form.add_field(
            "image", request.image or b"", filename=f"videobot-{uuid.uuid4().hex}.{suffix}", content_type=mime
        )
        form.add_field("type", "input")
        form.add_field("overwrite", "true")
        reply = await self._call(server, "upload", "POST", "/upload/image", data=form)
        body = reply.json()
        if reply.status != 200 or not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise replies.http_error(server, "upload", reply)
        subfolder = body.get("subfolder") or ""
        return f"{subfolder}/{body['name']}" if subfolder else body["name"]

    # -- poll / watch ------------------------------------------------------------------------------

    async def poll(self, ref: JobRef) -> PollResult:
        """History first (finished?), then the queue (waiting or running?); in neither: lost."""
        server, prompt_id = parse_job_id(ref.job_id)
        found = await self._locate(server, prompt_id)
        return found if found is not None else replies.lost(prompt_id, server)

    async def _locate(self, server: str, prompt_id: str) -> PollResult | None:
        """The prompt's state from history or queue; None when the server knows nothing of it."""
        entry = await self._history(server, prompt_id)
        if entry is None:
            place = await self._place(server, prompt_id)
            if place is not None:
                return place
            # Not queued: it may have finished between the two calls, so read the history once more.
            entry = await self._history(server, prompt_id)
        return None if entry is None else replies.history_outcome(server, prompt_id, entry)

    async def _history(self, server: str, prompt_id: str) -> dict[str, Any] | None:
        body = await self._json(server, "history", f"/history/{quote(prompt_id, safe='')}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        """Follow the prompt on the WebSocket: the state now, each step's progress, then the outcome.
        A drop is reconnected after each of `reconnect_delays`; past them it raises a retryable
        GenerationError (the runner polls instead)."""
        server, prompt_id = parse_job_id(ref.job_id)
        return watch.follow(
            prompt_id,
            lambda: self._socket(server, prompt_id),
            lambda: self.poll(ref),
            lambda: self._place(server, prompt_id),
            reconnect_delays=self._reconnect_delays,
            sleep=self._sleep,
        )

    async def _place(self, server: str, prompt_id: str) -> PollResult | None:
        """QUEUED (with its position) or RUNNING from `GET /queue`; None when it is not there."""
        return replies.queue_place(await self._json(server, "queue", "/queue"), prompt_id)

    def _socket(
        self, server: str, prompt_id: str
    ) -> AbstractAsyncContextManager[aiohttp.ClientWebSocketResponse]:
        url = f"{server}/ws?clientId={quote(client_id_for(prompt_id), safe='')}"
        return self._http().ws_connect(
            url,
            headers=self._headers,
            heartbeat=self._ws_heartbeat,
            timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
        )

    # -- fetch / cancel / doctor ---------------------------------------------------------------------

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """Stream `/view?...` to `dest` (with our headers: it is the same proxied server)."""
        server, _ = parse_job_id(ref.job_id)
        headers = self._headers if (video.url or "").startswith(server) else {}
        return await download.fetch(
            self._http(), ref.job_id, video, dest, max_bytes, headers, self._fetch_timeout
        )

    async def cancel(self, ref: JobRef) -> bool:
        """Stop the prompt: `/api/jobs/{id}/cancel` where the server has it, else `/interrupt` (running) or a
        queue delete (waiting). False when it had already finished or is unknown. Bounded by cancel_timeout."""
        what = f"ComfyUI cancel of {ref.job_id}"
        return await bounded(self._cancel(*parse_job_id(ref.job_id)), self._cancel_timeout, what)

    async def _cancel(self, server: str, prompt_id: str) -> bool:
        state = self.pool.state(server)
        if state.jobs_cancel is not False:
            reply = await self._call(
                server, "cancel", "POST", f"/api/jobs/{quote(prompt_id, safe='')}/cancel"
            )
            body = reply.json()
            if reply.status == 200 and isinstance(body, dict) and "cancelled" in body:
                state.jobs_cancel = True
                log.info("ComfyUI cancel of %s: %s", prompt_id, body["cancelled"])
                return bool(body["cancelled"])
            if reply.status == 404 and isinstance(body, dict):
                return False  # the route exists; the job does not
            if reply.status not in (404, 405):
                raise replies.http_error(server, "cancel", reply)
            state.jobs_cancel = False  # an older server: no jobs API
        place = await self._place(server, prompt_id)
        if place is None:
            return False
        if place.state == JobState.RUNNING:
            reply = await self._call(server, "interrupt", "POST", "/interrupt", json={"prompt_id": prompt_id})
        else:
            reply = await self._call(server, "queue delete", "POST", "/queue", json={"delete": [prompt_id]})
        if reply.status != 200:
            raise replies.http_error(server, "cancel", reply)
        log.info(
            "ComfyUI %s prompt %s", "interrupted" if place.state == JobState.RUNNING else "deleted", prompt_id
        )
        return True

    async def check_servers(self, workflows: Iterable[Workflow] = ()) -> list[ServerReport]:
        """For `doctor`: per server, reachable?, its version, and the node classes `workflows` need that it lacks."""
        needed: frozenset[str] = frozenset().union(*(w.node_classes for w in workflows))
        return list(await asyncio.gather(*(self._check(s, needed) for s in self.pool.servers)))

    async def _check(self, server: str, needed: frozenset[str]) -> ServerReport:
        try:
            stats = await self._json(server, "system_stats", "/system_stats")
            system = stats.get("system") if isinstance(stats, dict) else None
            version = system.get("comfyui_version") if isinstance(system, dict) else None
            nodes = await self.pool.node_classes(server, fresh=True)
        except GenerationError as exc:
            return ServerReport(server, reachable=False, error=exc.detail)
        return ServerReport(
            server,
            reachable=True,
            version=str(version) if version else None,
            missing_nodes=tuple(sorted(needed - nodes)),
        )

    async def model_files(self, server: str, folder: str) -> list[str] | None:
        """For `doctor`: the file names in ComfyUI's `models/<folder>` (`GET /models/{folder}`); None when
        the server has no such folder."""
        reply = await self._get(server, "models", f"/models/{quote(folder, safe='')}")
        if reply.status == 404:
            return None
        body = reply.json()
        if reply.status != 200 or not isinstance(body, list):
            raise replies.http_error(server, "models", reply)
        return [str(name) for name in body]

    async def list_models(self) -> list[str] | None:
        """Models are workflows in the catalog, not something ComfyUI lists: None."""
        return None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
