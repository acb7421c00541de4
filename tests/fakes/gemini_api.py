"""A local fake of the Gemini API Interactions routes (Omni Flash video) and the files download route.

Faithful to /work/shared/docs/providers.md sections 2.2-2.4: v1beta paths, `x-goog-api-key` auth, the
create/get/cancel/delete interaction shapes (video in `steps[].content[]`), `{"error": {"code", "message"}}`
error bodies, and real-form `https://generativelanguage.googleapis.com/v1beta/files/<id>:download?alt=media`
URIs (the SDK keeps only the id and calls its own base URL).

`GET …/interactions/{id}?stream=true[&last_event_id=…]` serves the interaction's events as server-sent
events, framed as the Interactions docs show them: `event: <event_type>` and `data: <compact JSON>` lines and
a blank line per event, the `event_id` inside the JSON, `: keep-alive` comment lines while nothing happens,
and the end of the response after `interaction.completed`. The log of a job is fixed (ids stay valid across
connections): `interaction.created`, a `status_update` per change, the output steps (`step.start` /
`step.delta` / `step.stop`, the video as a `video` delta), the final `status_update` and
`interaction.completed`, whose interaction leaves the outputs out, as the real one does. A resumed request
gets only the events after its `last_event_id`.

Create checks the media the API checks: an `image`/`video` content block needs exactly one of `data` (strict,
non-empty base64) or `uri` and a mime type from the SDK's list; `generation_config.video_config.task` must be
a known task, `extend` needs exactly one video block, and a text/image/reference task takes none. A refusal is
a 400 `invalid_request`. The job records the task and the decoded video (`job.task`, `job.input_video`).

Each job runs a `Scenario` (data, not flags). A job gets the fake's default scenario, unless its prompt
carries a directive such as `[fake:safety]` (one of SCENARIOS; an unknown name is refused with a 400).
Standalone use for subprocess runs:

    python -m tests.fakes.gemini_api --port 8089 [--api-key KEY] [--scenario NAME]
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.http_fake import (
    CannedReply,
    FakeHttpServer,
    RecordedRequest,
    UnknownScenario,
    drop_connection,
    google_error_body,
    scenario_for,
    send_truncated,
    serve_forever_main,
)
from tests.fakes.sample_video import sample_mp4

log = logging.getLogger(__name__)

API_VERSION = "v1beta"
DEFAULT_API_KEY = "test-gemini-key"
FILE_URI = "https://generativelanguage.googleapis.com/v1beta/files/{file_id}:download?alt=media"
VIDEO_TOKENS_PER_SECOND = 5792
KEEPALIVE = b": keep-alive\n\n"
TICK = 0.02  # seconds between checks of an open stream's client while the job works
HttpFault = CannedReply  # one canned HTTP error reply


LISTED_MODELS = ("gemini-omni-1.2-flash", "gemini-omni-1.1-flash", "gemini-3-flash")


def error_body(code: str, message: str) -> str:
    """The Interactions error body: {"error": {"code": "<string>", "message": "..."}}."""
    return json.dumps({"error": {"code": code, "message": message}})


RATE_LIMIT_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. Please retry in 23.397s."
)
FAULT_429 = HttpFault(429, error_body("too_many_requests", RATE_LIMIT_MESSAGE))
FAULT_500 = HttpFault(500, error_body("internal", "An internal error has occurred. Please retry."))
FAULT_502 = HttpFault(
    502,
    "<!DOCTYPE html><html><head><title>Error 502 (Server Error)!!1</title></head>"
    "<body><p><b>502.</b> That's an error.</p><p>The server encountered a temporary error.</p></body></html>",
    content_type="text/html",
)
FAULT_503 = HttpFault(503, error_body("unavailable", "The model is overloaded. Please try again later."))
FAULT_MALFORMED = HttpFault(200, "{not json")
FAULT_MODEL_RETIRED = HttpFault(
    404,
    error_body(
        "not_found",
        "models/{model} is no longer available to new users. Please update your code to use a newer model.",
    ),
)
FAULT_BAD_KEY = HttpFault(
    400,
    json.dumps(
        {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            }
        }
    ),
)
FILE_NOT_FOUND = HttpFault(404, google_error_body(404, "NOT_FOUND", "File not found."))


@dataclass(frozen=True)
class Scenario:
    """How one job behaves, from create to download."""

    queued_polls: int = 0  # polls answered `queued` first
    pending_polls: int = 0  # then polls answered `in_progress`
    # success | idle (idle with a video) | failed | safety | rate_limited | never_finishes | no_status (the
    # status key is left out) | <any other status string, sent verbatim with no outputs>
    outcome: str = "success"
    delivery: str | None = None  # force "inline" / "uri"; None follows the request's response_format
    create_fault: HttpFault | None = None  # create answers this and stores no job
    poll_faults: tuple[HttpFault, ...] = ()  # the first polls answer these, then the job proceeds
    lost_create_reply: bool = False  # create stores the job, then drops the connection
    download_404s: int = 0  # the file 404s this many times before it is served
    truncated_download: bool = False  # Content-Length larger than the body, then the connection closes
    delays: dict[str, float] = field(default_factory=dict)  # seconds per route: create/poll/cancel/download
    payload: str = "mp4"  # mp4 | garbage (bytes without the ftyp signature)
    # the stream (GET ?stream=true)
    stream_faults: tuple[HttpFault, ...] = ()  # the first stream requests answer these
    stream_drop_after: int | None = None  # the first stream connection closes after this many events
    stream_hold: float = 0.0  # seconds the job still works, once a stream shows it running (keep-alives)
    stream_silent: bool = False  # the stream says nothing after the running events, not even keep-alives
    completion_event: str = "interaction.completed"  # or the deprecated "interaction.complete"
    stream_linger: bool = False  # the connection stays open after the completion event (keep-alives)


SCENARIOS: dict[str, Scenario] = {
    "success": Scenario(),
    "pending": Scenario(queued_polls=1, pending_polls=2),
    "inline": Scenario(delivery="inline"),
    "uri": Scenario(delivery="uri"),
    "failed": Scenario(outcome="failed"),
    "safety": Scenario(outcome="safety"),
    "rate_limited_on_poll": Scenario(outcome="rate_limited"),
    "rate_limited_on_create": Scenario(create_fault=FAULT_429),
    "http_429_on_poll": Scenario(poll_faults=(FAULT_429,)),
    "server_error_on_create": Scenario(create_fault=FAULT_500),
    "bad_gateway_on_create": Scenario(create_fault=FAULT_502),
    "unavailable_on_create": Scenario(create_fault=FAULT_503),
    "server_error_on_poll": Scenario(poll_faults=(FAULT_500,)),
    "bad_gateway_on_poll": Scenario(poll_faults=(FAULT_502,)),
    "unavailable_on_poll": Scenario(poll_faults=(FAULT_503,)),
    "malformed_create": Scenario(create_fault=FAULT_MALFORMED),
    "malformed_poll": Scenario(poll_faults=(FAULT_MALFORMED,)),
    "model_retired": Scenario(create_fault=FAULT_MODEL_RETIRED),
    "bad_key": Scenario(create_fault=FAULT_BAD_KEY),
    "download_404": Scenario(delivery="uri", download_404s=2),
    "truncated_download": Scenario(delivery="uri", truncated_download=True),
    "garbage_video": Scenario(payload="garbage"),
    "slow_create": Scenario(delays={"create": 3.0}),
    "slow_poll": Scenario(delays={"poll": 3.0}),
    "slow_download": Scenario(delivery="uri", delays={"download": 3.0}),
    "lost_create_reply": Scenario(lost_create_reply=True),
    "never_finishes": Scenario(outcome="never_finishes"),
    "incomplete": Scenario(outcome="incomplete"),
    "budget_exceeded": Scenario(outcome="budget_exceeded"),
    "requires_action": Scenario(outcome="requires_action"),
    "idle": Scenario(outcome="idle"),
    "idle_without_video": Scenario(outcome="idle_without_video"),
    "stream_drop": Scenario(pending_polls=1, stream_drop_after=2),
    "stream_silent": Scenario(stream_silent=True),
    "stream_unavailable": Scenario(stream_faults=(FAULT_503,)),
    "stream_old_completion": Scenario(completion_event="interaction.complete", stream_linger=True),
    "unknown_status": Scenario(outcome="paused_for_maintenance"),
    "no_status": Scenario(outcome="no_status"),
}


@dataclass
class Job:
    """One stored interaction."""

    id: str
    model: str
    scenario: Scenario
    prompt: str
    duration_s: int
    delivery: str
    polls: int = 0
    faults_served: int = 0
    cancelled: bool = False
    file_id: str | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # the stream's log, built lazily
    streams: int = 0  # stream requests answered with a stream
    stream_faults_served: int = 0
    task: str | None = None  # generation_config.video_config.task, as sent
    input_video: bytes | None = None  # the decoded video block of the input (the clip to extend)


@dataclass
class StoredFile:
    """A generated video behind the files download route."""

    data: bytes
    scenario: Scenario
    downloads: int = 0


class FakeGeminiApi(FakeHttpServer):
    """aiohttp server on 127.0.0.1 speaking the Interactions API; `async with FakeGeminiApi() as fake`."""

    shutdown_timeout = 0.2
    handler_cancellation = False

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        scenario: Scenario | str = "success",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.scenario = scenario
        self.models = list(LISTED_MODELS)
        self.jobs: dict[str, Job] = {}
        self.files: dict[str, StoredFile] = {}
        self.keepalive_interval = 15.0  # seconds between keep-alive comments on an open stream
        self.keepalives_sent = 0
        self.open_streams = 0  # stream responses being served right now
        self.stream_ended = asyncio.Event()  # set whenever one ends (clear it to wait for the next)

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{API_VERSION}/interactions", self._create)
        app.router.add_get(f"/{API_VERSION}/interactions/{{id}}", self._get)
        app.router.add_post(f"/{API_VERSION}/interactions/{{id}}/cancel", self._cancel)
        app.router.add_delete(f"/{API_VERSION}/interactions/{{id}}", self._delete)
        app.router.add_get(f"/{API_VERSION}/models", self._list_models)
        # aiohttp cannot match "<id>:download" inside a {var} route, so take the whole tail and split it.
        app.router.add_get(f"/{API_VERSION}/files/{{tail:.+}}", self._download)

    # -- test helpers ------------------------------------------------------------------------------

    def seed_job(
        self,
        job_id: str | None = None,
        scenario: Scenario | str = "success",
        *,
        model: str = "gemini-omni-1.2-flash",
        duration_s: int = 6,
        delivery: str = "uri",
    ) -> str:
        """Store a job as if an earlier process had created it (for resume tests); return its id."""
        job_id = job_id or _new_interaction_id()
        scen = self._resolve(scenario)
        self.jobs[job_id] = Job(job_id, model, scen, "seeded", duration_s, scen.delivery or delivery)
        return job_id

    @property
    def creates(self) -> list[RecordedRequest]:
        """Every create POST received."""
        return [r for r in self.requests if r.method == "POST" and r.path == f"/{API_VERSION}/interactions"]

    @property
    def polls(self) -> list[RecordedRequest]:
        """Every GET of an interaction that asked for JSON."""
        return [r for r in self._gets() if r.query.get("stream") != "true"]

    @property
    def stream_requests(self) -> list[RecordedRequest]:
        """Every GET of an interaction that asked for its event stream."""
        return [r for r in self._gets() if r.query.get("stream") == "true"]

    def _gets(self) -> list[RecordedRequest]:
        prefix = f"/{API_VERSION}/interactions/"
        return [r for r in self.requests if r.method == "GET" and r.path.startswith(prefix)]

    # -- routes ------------------------------------------------------------------------------------

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        if (denied := self._check_key(request)) is not None:
            return denied
        models = [
            {"name": f"models/{m}", "displayName": m, "supportedActions": ["createInteraction"]}
            for m in self.models
        ]
        return web.Response(body=json.dumps({"models": models}).encode(), content_type="application/json")

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        if (denied := self._check_key(request)) is not None:
            return denied
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return _invalid("model is required")
        problem = _check_media(body)
        if problem:
            return _invalid(problem)
        prompt = _prompt_of(body.get("input"))
        try:
            scenario = scenario_for(prompt, SCENARIOS, self._resolve(self.scenario))
        except UnknownScenario as exc:
            return _invalid(f"unknown fake scenario {exc.name!r}")
        await self._delay(scenario, "create")
        if scenario.create_fault is not None:
            fault = scenario.create_fault
            return dataclasses.replace(fault, body=fault.body.replace("{model}", body["model"])).response()
        fmt = body.get("response_format") or {}
        if isinstance(fmt, list):
            fmt = next((f for f in fmt if isinstance(f, dict) and f.get("type") == "video"), {})
        job = Job(
            id=_new_interaction_id(),
            model=body["model"],
            scenario=scenario,
            prompt=prompt,
            duration_s=_seconds(fmt.get("duration")),
            delivery=scenario.delivery or fmt.get("delivery") or "inline",
            task=_task_of(body),
            input_video=_input_video(body),
        )
        self.jobs[job.id] = job
        if scenario.lost_create_reply:
            drop_connection(request)
            return web.Response(status=200)
        status = "queued" if scenario.queued_polls else "in_progress"
        return web.json_response(self._interaction(job, status))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        job = await self._job_for(request, "poll")
        if not isinstance(job, Job):
            return job
        if request.query.get("stream") == "true":  # polls send stream=false
            return await self._stream(request, job)
        if job.faults_served < len(job.scenario.poll_faults):
            job.faults_served += 1
            return job.scenario.poll_faults[job.faults_served - 1].response()
        job.polls += 1
        return web.json_response(self._observe(job))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        job = await self._job_for(request, "cancel")
        if not isinstance(job, Job):
            return job
        job.cancelled = True
        return web.json_response(self._interaction(job, "cancelled"))

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        if (denied := self._check_key(request)) is not None:
            return denied
        if self.jobs.pop(request.match_info["id"], None) is None:
            return _unknown_interaction(request.match_info["id"])
        return web.json_response({})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        if (denied := self._check_key(request)) is not None:
            return denied
        file_id, _, verb = request.match_info["tail"].partition(":")
        stored = self.files.get(file_id)
        if verb != "download" or request.query.get("alt") != "media" or stored is None:
            return FILE_NOT_FOUND.response()
        await self._delay(stored.scenario, "download")
        stored.downloads += 1
        if stored.downloads <= stored.scenario.download_404s:
            return FILE_NOT_FOUND.response()
        if stored.scenario.truncated_download:
            return await send_truncated(request, stored.data)
        return web.Response(body=stored.data, content_type="video/mp4")

    # -- shapes ------------------------------------------------------------------------------------

    def _interaction(self, job: Job, status: str | None, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": job.id,
            "object": "interaction",
            "model": job.model,
            "created": "2026-11-24T00:00:00Z",
            "updated": "2026-11-24T00:00:00Z",
        }
        if status is not None:
            out["status"] = status
        out.update(extra)
        return out

    def _observe(self, job: Job) -> dict[str, Any]:
        """The interaction as one poll sees it (the poll has already advanced the scenario)."""
        scen = job.scenario
        if job.cancelled:
            return self._interaction(job, "cancelled")
        if job.polls <= scen.queued_polls:
            return self._interaction(job, "queued")
        if job.polls <= scen.queued_polls + scen.pending_polls or scen.outcome == "never_finishes":
            return self._interaction(job, "in_progress")
        status, outputs, extra = self._final(job)
        user_step = {"type": "user_input", "content": [{"type": "text", "text": job.prompt}]}
        if outputs:
            signature = base64.b64encode(b"sig" * 16).decode()
            extra["steps"] = [user_step, {"type": "thought", "signature": signature}, *outputs]
        return self._interaction(job, status, **extra)

    def _final(self, job: Job) -> tuple[str | None, list[dict[str, Any]], dict[str, Any]]:
        """(status, model_output steps, other fields) of the job once it has settled."""
        outcome = job.scenario.outcome
        if job.cancelled:
            return "cancelled", [], {}
        if outcome in ("success", "idle"):
            output = {"type": "model_output", "content": [self._video_block(job)]}
            usage = _usage(job.duration_s * VIDEO_TOKENS_PER_SECOND)
            return ("completed" if outcome == "success" else "idle"), [output], {"usage": usage}
        if outcome == "safety":
            refusal = "I can't create that video because it may violate the content policy."
            output = {"type": "model_output", "content": [{"type": "text", "text": refusal}]}
            return "completed", [output], {"usage": _usage(0)}
        if outcome == "failed":
            error = {"code": "internal", "message": "Video generation failed due to an internal error."}
            return "failed", [], {"error": error}
        if outcome == "rate_limited":
            return "failed", [], {"error": {"code": "too_many_requests", "message": RATE_LIMIT_MESSAGE}}
        if outcome == "idle_without_video":
            return "idle", [], {"usage": _usage(0)}
        if outcome == "no_status":
            return None, [], {}
        return outcome, [], {}

    # -- the event stream ----------------------------------------------------------------------------

    async def _stream(self, request: web.Request, job: Job) -> web.StreamResponse:
        """GET ?stream=true: the job's events after `last_event_id` (all of them without one)."""
        scen = job.scenario
        if job.stream_faults_served < len(scen.stream_faults):
            job.stream_faults_served += 1
            return scen.stream_faults[job.stream_faults_served - 1].response()
        if not job.events:
            job.events = self._running_events(job)
        start = 0
        if "last_event_id" in request.query:
            ids = [payload["event_id"] for _, payload in job.events]
            if request.query["last_event_id"] not in ids:
                return _invalid(f"Invalid last_event_id: {request.query['last_event_id']}")
            start = ids.index(request.query["last_event_id"]) + 1
        job.streams += 1
        self.open_streams += 1
        try:
            return await self._serve_events(request, job, start)
        except ConnectionResetError:  # the client left mid-stream
            return web.Response(status=200)
        finally:
            self.open_streams -= 1
            self.stream_ended.set()

    async def _serve_events(self, request: web.Request, job: Job, start: int) -> web.StreamResponse:
        scen = job.scenario
        drop_after = scen.stream_drop_after if job.streams == 1 else None
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        sent = 0
        index = start
        while True:
            if index == len(job.events):
                if job.events[-1][0] == scen.completion_event:
                    if scen.stream_linger:  # only the client can end it now
                        await self._keep_open(request, response, job, None, until_cancelled=False)
                        return response
                    break
                if not await self._work(request, response, job):
                    return response  # the server stops or the client left: no end of stream
                job.events += self._settling_events(job)
                continue
            kind, payload = job.events[index]
            await response.write(f"event: {kind}\ndata: {_compact(payload)}\n\n".encode())
            index += 1
            sent += 1
            if sent == drop_after:
                if request.transport is not None:
                    request.transport.close()  # the events written so far still arrive; no end of stream
                return response
        await response.write_eof()
        return response

    async def _work(self, request: web.Request, response: web.StreamResponse, job: Job) -> bool:
        """The job works on while the stream is open: `stream_hold` seconds, or until it is cancelled when
        it never finishes or the stream is silent. False when the server stops or the client has gone."""
        scen = job.scenario
        forever = scen.stream_silent or scen.outcome == "never_finishes"
        return await self._keep_open(request, response, job, None if forever else scen.stream_hold)

    async def _keep_open(
        self,
        request: web.Request,
        response: web.StreamResponse,
        job: Job,
        seconds: float | None,
        *,
        until_cancelled: bool = True,
    ) -> bool:
        """Hold the stream open for `seconds` (None: with no end of its own) with a keep-alive comment every
        `keepalive_interval` (none when the scenario is silent); True when the time is up or the job was
        cancelled, False when the server stops or the client has gone."""
        waited = since_beat = 0.0
        while seconds is None or waited < seconds:
            step = TICK if seconds is None else min(TICK, seconds - waited)
            await self.stall(step)
            waited += step
            since_beat += step
            if self.closing.is_set() or request.transport is None or request.transport.is_closing():
                return False
            if until_cancelled and job.cancelled:
                return True  # settles now, as cancelled
            if not job.scenario.stream_silent and since_beat >= self.keepalive_interval:
                await response.write(KEEPALIVE)
                self.keepalives_sent += 1
                since_beat = 0.0
        return True

    def _running_events(self, job: Job) -> list[tuple[str, dict[str, Any]]]:
        """The events up to the job's running state: created, then each status change."""
        scen = job.scenario
        first = "queued" if scen.queued_polls else "in_progress"
        events = [("interaction.created", {"interaction": self._interaction(job, first)})]
        if scen.queued_polls:
            events.append(("interaction.status_update", {"interaction_id": job.id, "status": "in_progress"}))
        return [self._with_id(job, n, kind, payload) for n, (kind, payload) in enumerate(events)]

    def _settling_events(self, job: Job) -> list[tuple[str, dict[str, Any]]]:
        """The events from the job's outputs to its end; polls see it settled from now on, too."""
        scen = job.scenario
        job.polls = max(job.polls, scen.queued_polls + scen.pending_polls)
        status, outputs, extra = self._final(job)
        signature = base64.b64encode(b"sig" * 16).decode()
        events: list[tuple[str, dict[str, Any]]] = [
            ("step.start", {"index": 0, "step": {"type": "thought"}}),
            ("step.delta", {"index": 0, "delta": {"type": "thought_signature", "signature": signature}}),
            ("step.stop", {"index": 0}),
        ]
        for index, output in enumerate(outputs, start=1):
            events.append(("step.start", {"index": index, "step": {"type": "model_output"}}))
            events += [("step.delta", {"index": index, "delta": block}) for block in output["content"]]
            events.append(("step.stop", {"index": index}))
        update = {"interaction_id": job.id, "status": status}
        if "usage" in extra:
            update["usage"] = extra["usage"]
        events.append(("interaction.status_update", update))
        # The completion event leaves the outputs (and the error) out "to reduce the payload size".
        lean = self._interaction(job, status)
        if "usage" in extra:
            lean["usage"] = extra["usage"]
        events.append((scen.completion_event, {"interaction": lean}))
        base = len(job.events)
        return [self._with_id(job, base + n, kind, payload) for n, (kind, payload) in enumerate(events)]

    def _with_id(self, job: Job, n: int, kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return kind, {**payload, "event_type": kind, "event_id": f"{job.id[-8:]}{n:04d}"}

    def _video_block(self, job: Job) -> dict[str, Any]:
        data = sample_mp4() if job.scenario.payload == "mp4" else b"\x00\x00\x00\x10notavideo" * 8
        block: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
        if job.delivery == "uri":
            if job.file_id is None:
                job.file_id = secrets.token_hex(8)
                self.files[job.file_id] = StoredFile(data, job.scenario)
            block["uri"] = FILE_URI.format(file_id=job.file_id)
        else:
            block["data"] = base64.b64encode(data).decode()
        return block

    # -- plumbing ----------------------------------------------------------------------------------

    def _resolve(self, scenario: Scenario | str) -> Scenario:
        return SCENARIOS[scenario] if isinstance(scenario, str) else scenario

    async def _job_for(self, request: web.Request, route: str) -> Job | web.Response:
        """Record the call, check the key, find the job and play the route's delay; else the error reply."""
        await self.record(request)
        if (denied := self._check_key(request)) is not None:
            return denied
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return _unknown_interaction(request.match_info["id"])
        await self._delay(job.scenario, route)
        return job

    def _check_key(self, request: web.Request) -> web.Response | None:
        if request.headers.get("x-goog-api-key", "").strip() == self.api_key:
            return None
        return FAULT_BAD_KEY.response()

    async def _delay(self, scenario: Scenario, route: str) -> None:
        await self.stall(scenario.delays.get(route, 0.0))


def _new_interaction_id() -> str:
    return "v1_" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


def _prompt_of(value: Any) -> str:
    """The text of a create `input`: a string, content blocks, or user_input steps."""
    if isinstance(value, str):
        return value
    texts: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                if item.get("type") == "text" and isinstance(item.get("text"), str):
                    texts.append(item["text"])
                elif isinstance(item.get("content"), list):
                    texts.append(_prompt_of(item["content"]))
    return " ".join(t for t in texts if t)


# -- media input: the checks the API makes on content blocks and the video task ------------------------

# google-genai 3.6.1 _gaos/types/interactions/{imagecontent,videocontent,videoconfig}.py
IMAGE_MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/bmp",
    "image/tiff",
)
VIDEO_MIME_TYPES = (
    "video/mp4",
    "video/mpeg",
    "video/mpg",
    "video/mov",
    "video/avi",
    "video/x-flv",
    "video/webm",
    "video/wmv",
    "video/3gpp",
)
VIDEO_TASKS = ("text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale")
_MIME_TYPES = {"image": IMAGE_MIME_TYPES, "video": VIDEO_MIME_TYPES}
_TASKS_WITHOUT_VIDEO = ("text_to_video", "image_to_video", "reference_to_video")


def _blocks_of(value: Any) -> list[dict[str, Any]]:
    """The content blocks of a create `input` (user_input steps flattened); none for a plain string."""
    blocks: list[dict[str, Any]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and isinstance(item.get("content"), list):
            blocks += _blocks_of(item["content"])
        elif isinstance(item, dict):
            blocks.append(item)
    return blocks


def _task_of(body: dict[str, Any]) -> Any:
    config = body.get("generation_config")
    video_config = config.get("video_config") if isinstance(config, dict) else None
    return video_config.get("task") if isinstance(video_config, dict) else None


def _decoded(data: Any) -> bytes | None:
    """Strict base64 to bytes; None when `data` is not base64 or decodes to nothing."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True) or None
    except ValueError:
        return None


def _input_video(body: dict[str, Any]) -> bytes | None:
    videos = [b for b in _blocks_of(body.get("input")) if b.get("type") == "video"]
    return _decoded(videos[0].get("data")) if videos else None


def _check_media(body: dict[str, Any]) -> str | None:
    """Why the API would refuse the input's image/video blocks or the video task (400), else None."""
    videos = 0
    for block in _blocks_of(body.get("input")):
        kind = block.get("type")
        if kind not in _MIME_TYPES:
            continue
        videos += kind == "video"
        if ("data" in block) == ("uri" in block):
            return f"{kind} content needs exactly one of data or uri"
        mime = block.get("mime_type")
        if mime not in _MIME_TYPES[kind]:
            return f"{kind} content: unsupported mime_type {mime!r}"
        if "data" in block and _decoded(block["data"]) is None:
            return f"{kind} content: data must be non-empty base64"
    task = _task_of(body)
    if task is not None and task not in VIDEO_TASKS:
        return f"video_config.task: unknown task {task!r}"
    if task == "extend" and videos != 1:
        return f"video_config.task extend needs exactly one video to extend, got {videos}"
    if task in _TASKS_WITHOUT_VIDEO and videos:
        return f"video_config.task {task} takes no video input"
    return None


def _seconds(duration: Any) -> int:
    match = re.fullmatch(r"(\d+)s", duration) if isinstance(duration, str) else None
    return int(match.group(1)) if match else 8


def _compact(payload: dict[str, Any]) -> str:
    """JSON without spaces, as the API writes it on `data:` lines."""
    return json.dumps(payload, separators=(",", ":"))


def _usage(video_tokens: int) -> dict[str, Any]:
    by_modality = [{"modality": "video", "tokens": video_tokens}] if video_tokens else []
    out = {"total_input_tokens": 9, "total_output_tokens": video_tokens, "total_tokens": 9 + video_tokens}
    if by_modality:
        out["output_tokens_by_modality"] = by_modality
    return out


def _invalid(message: str) -> web.Response:
    return HttpFault(400, error_body("invalid_request", message)).response()


def _unknown_interaction(job_id: str) -> web.Response:
    return _invalid(f"Invalid interaction name: interactions/{job_id}")


def main() -> None:
    """Serve the fake until killed."""
    serve_forever_main(
        lambda args: FakeGeminiApi(api_key=args.api_key, scenario=args.scenario, port=args.port),
        __doc__.splitlines()[0],
        {
            "--api-key": {"default": DEFAULT_API_KEY},
            "--scenario": {"default": "success", "choices": sorted(SCENARIOS)},
        },
    )


if __name__ == "__main__":
    main()
