"""A local fake of fal.ai's queue API (queue.fal.run) and its media host, for tests and CLI runs.

Routes (providers.md section 4.2):
    POST /{owner}/{app}[/{path...}]          submit  -> 200 {request_id, response_url, status_url, cancel_url}
    GET  /{owner}/{app}/requests/{id}/status status  -> 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED
    GET  /{owner}/{app}/requests/{id}/status/stream
                                             stream  -> 200 text/event-stream: one `data: {status}` event per
                                                        step, `: keep-alive` comments, closed after COMPLETED
    GET  /{owner}/{app}/requests/{id}        result  -> 200 {"video": {...}} or an error with a `detail` body
    PUT  /{owner}/{app}/requests/{id}/cancel cancel  -> 202 CANCELLATION_REQUESTED / 400 ALREADY_COMPLETED
    GET  /files/{name}                       the mp4 (plain unauthenticated GET, like v3b.fal.media)

Every returned URL is absolute (http://127.0.0.1:{port}/...). The scenario of a job is chosen at submit:
a `[fake:NAME]` directive in the prompt picks SCENARIOS[NAME], otherwise `fake.scenario` applies.

A job moves one step (IN_QUEUE positions, IN_PROGRESS, COMPLETED) per status poll, and on the status stream
one step per event: the first event is what a poll would see now, then one every `fake.stream_interval`
seconds, with a keep-alive comment every `fake.keepalive_interval` seconds of waiting (fal: 15 s). With logs,
a stream event carries only the log lines it has not sent yet. Stream faults: `after=N` sends N events first,
then `drop` aborts the connection or `delay` goes silent (no keep-alives either); a `status` replaces the
stream.

Submit checks the argument shapes fal's endpoints check (422 with a pydantic `detail` list): durations and
aspect ratios per family, `generate_audio` a boolean, every `*image_url` field an http(s) URL or a base64
`data:` URI, and the first frame present on an image-to-video endpoint (`start_image_url` on Kling v3 but
Turbo, `image_url` elsewhere). Each job keeps its arguments (`job.arguments`).

Run standalone with `python -m tests.fakes.fal_queue --port N [--stream-interval S] [--keepalive S]`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.http_fake import (
    FakeHttpServer,
    UnknownScenario,
    drop_connection,
    scenario_for,
    send_truncated,
    serve_forever_main,
)
from tests.fakes.sample_video import sample_mp4

DEFAULT_KEY = "test-fal-key"
ROUTES = ("submit", "status", "stream", "result", "cancel", "file")
KEEPALIVE_COMMENT = b": keep-alive\n\n"

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
CONTENT_POLICY_MSG = (
    "The content could not be processed because it contained material flagged by a content checker."
)


@dataclass(frozen=True)
class Fault:
    """One abnormal reply on a route; the first matching fault with hits left answers the call."""

    route: str  # submit | status | stream | result | cancel | file
    status: int | None = None  # None: the normal reply (after `delay`)
    body: Any = None  # dict/list -> JSON; str -> sent verbatim with `content_type`
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    times: int | None = None  # how many calls it answers; None = every call
    delay: float = 0.0  # seconds to stall before replying
    drop: bool = False  # do the work (submit: create the job), then close the connection with no reply
    truncate: bool = False  # file only: promise the full Content-Length, send half, close
    after: int = 0  # stream only: events sent before `drop` or `delay` (0: before the headers)

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; use one of {ROUTES}")


@dataclass(frozen=True)
class Scenario:
    """How one job behaves: polls before completion, its outcome, and faults per route."""

    queued_polls: int = 0  # IN_QUEUE replies, queue_position counting down to 0
    running_polls: int = 0  # IN_PROGRESS replies after that
    progress_logs: bool = False  # IN_PROGRESS logs carry "Generating video: NN%"
    progress_every: int = 1  # ... on every N-th running step only (the others log "Rendering step K")
    error: str | None = None  # COMPLETED carries this error (the model failed)
    error_type: str | None = None
    chunked_file: bool = False  # serve the mp4 without Content-Length
    video: bytes | None = None  # file bytes; None = a real tiny mp4
    faults: tuple[Fault, ...] = ()


def _content_policy_detail(prompt: str) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["body", "prompt"],
            "msg": CONTENT_POLICY_MSG,
            "type": "content_policy_violation",
            "url": "https://docs.fal.ai/errors#content_policy_violation",
            "input": prompt,
        }
    ]


_RUNNER_503 = {
    "status": 503,
    "body": {"detail": "Runner scheduling failure", "error_type": "runner_scheduling_failure"},
    "headers": {"X-Fal-Error-Type": "runner_scheduling_failure"},
}
_NGINX = {"status": 502, "body": NGINX_502, "content_type": "text/html"}
_RATE = {"status": 429, "body": {"detail": "Rate limit exceeded"}, "headers": {"Retry-After": "7"}}
# Fault body placeholder: a 422 content_policy_violation detail that echoes the job's prompt.
CONTENT_POLICY_BODY = object()
_CONTENT_POLICY = {"status": 422, "body": CONTENT_POLICY_BODY}

SCENARIOS: dict[str, Scenario] = {
    "success": Scenario(),
    "queued": Scenario(queued_polls=3, running_polls=2),
    "progress": Scenario(running_polls=3, progress_logs=True),
    "long_queue": Scenario(queued_polls=10_000),
    "failed": Scenario(error="Runner disconnected during generation", error_type="runner_disconnected"),
    "result_500": Scenario(
        faults=(Fault("result", 500, {"detail": "Video generation failed: upstream error"}),)
    ),
    "safety": Scenario(faults=(Fault("result", **_CONTENT_POLICY),)),
    "safety_submit": Scenario(faults=(Fault("submit", **_CONTENT_POLICY),)),
    "invalid_submit": Scenario(
        faults=(
            Fault(
                "submit",
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "duration"],
                            "msg": "Input should be '4s', '6s' or '8s'",
                            "type": "literal_error",
                        }
                    ]
                },
            ),
        )
    ),
    "rate_limit_submit": Scenario(faults=(Fault("submit", times=1, **_RATE),)),
    "rate_limit_status": Scenario(faults=(Fault("status", times=2, **_RATE),)),
    "submit_503": Scenario(faults=(Fault("submit", times=1, **_RUNNER_503),)),
    "status_503": Scenario(faults=(Fault("status", times=1, **_RUNNER_503),)),
    "submit_500": Scenario(faults=(Fault("submit", 500, {"detail": "Internal Server Error"}),)),
    "submit_502": Scenario(faults=(Fault("submit", **_NGINX),)),
    "status_502": Scenario(faults=(Fault("status", times=1, **_NGINX),)),
    "malformed_submit": Scenario(faults=(Fault("submit", 200, "{not json"),)),
    "malformed_status": Scenario(faults=(Fault("status", 200, "{not json", times=1),)),
    "missing_logs": Scenario(
        running_polls=1, faults=(Fault("status", 202, {"status": "IN_PROGRESS"}, times=1),)
    ),
    "missing_queue_position": Scenario(
        queued_polls=1, faults=(Fault("status", 202, {"status": "IN_QUEUE"}, times=1),)
    ),
    "unknown_id": Scenario(faults=(Fault("status", 404, {"detail": "Request not found"}),)),
    "model_retired": Scenario(faults=(Fault("submit", 404, {"detail": "Application not found"}),)),
    "bad_key": Scenario(faults=(Fault("submit", 401, {"detail": "Unauthorized"}),)),
    "file_404": Scenario(faults=(Fault("file", 404, {"detail": "Not Found"}, times=2),)),
    "file_truncated": Scenario(faults=(Fault("file", truncate=True, times=1),)),
    "slow_submit": Scenario(faults=(Fault("submit", delay=5.0),)),
    "slow_status": Scenario(faults=(Fault("status", delay=5.0, times=1),)),
    "slow_file": Scenario(faults=(Fault("file", delay=5.0, times=1),)),
    "lost_submit": Scenario(faults=(Fault("submit", drop=True),)),
}


@dataclass
class FakeJob:
    """One queued request and its progress through the scenario."""

    request_id: str
    endpoint: str
    app: str  # owner/app
    arguments: dict[str, Any]
    scenario: Scenario
    polls: int = 0
    completed: bool = False
    cancelled: bool = False

    @property
    def file_name(self) -> str:
        """The name under /files/ of this job's video."""
        return f"{self.request_id}.mp4"


class FakeFalQueue(FakeHttpServer):
    """aiohttp server imitating queue.fal.run plus the fal media host."""

    def __init__(self, key: str = DEFAULT_KEY, scenario: Scenario | None = None, port: int = 0) -> None:
        super().__init__(port=port)
        self.key = key
        self.scenario = scenario or Scenario()
        self.jobs: dict[str, FakeJob] = {}
        self.retired_endpoints: set[str] = set()
        self.stream_interval = 0.0  # seconds between two status-stream events
        self.keepalive_interval = 15.0  # seconds of waiting between keep-alive comments
        self.keepalives_sent = 0
        self.open_streams = 0
        self.stream_closed = asyncio.Event()  # set whenever a status stream ends, whatever ended it
        self._hits: dict[tuple[str, int], int] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/{owner}/{app}/requests/{id}/status/stream", self._stream)
        app.router.add_get("/{owner}/{app}/requests/{id}/status", self._status)
        app.router.add_get("/{owner}/{app}/requests/{id}", self._result)
        app.router.add_put("/{owner}/{app}/requests/{id}/cancel", self._cancel)
        app.router.add_post("/{tail:.+}", self._submit)

    # -- test helpers -------------------------------------------------------------------------------

    def seed_request(
        self, endpoint: str, scenario: Scenario | None = None, request_id: str | None = None
    ) -> str:
        """Create a job as if submitted earlier (for resume tests); return its request id."""
        job = self._create_job(endpoint, {"prompt": "seeded"}, scenario or self.scenario, request_id)
        return job.request_id

    def urls(self, job: FakeJob) -> dict[str, str]:
        """The absolute queue URLs of a job."""
        base = f"{self.base_url}/{job.app}/requests/{job.request_id}"
        return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}

    # -- internals ------------------------------------------------------------------------------------

    def _create_job(
        self, endpoint: str, arguments: dict[str, Any], scenario: Scenario, request_id: str | None = None
    ) -> FakeJob:
        rid = request_id or str(uuid.uuid4())
        app = "/".join(endpoint.split("/")[:2])
        job = FakeJob(rid, endpoint, app, arguments, scenario)
        self.jobs[rid] = job
        return job

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Key {self.key}"

    def _pick_fault(self, scope: str, scenario: Scenario, route: str) -> Fault | None:
        for index, fault in enumerate(scenario.faults):
            if fault.route != route:
                continue
            used = self._hits.get((scope, index), 0)
            if fault.times is None or used < fault.times:
                self._hits[(scope, index)] = used + 1
                return fault
        return None

    def _job(self, request: web.Request) -> FakeJob | None:
        job = self.jobs.get(request.match_info["id"])
        app = f"{request.match_info['owner']}/{request.match_info['app']}"
        return job if job is not None and job.app == app else None

    @staticmethod
    def _fault_response(fault: Fault, prompt: str = "") -> web.Response:
        body = fault.body
        if body is CONTENT_POLICY_BODY:
            body = {"detail": _content_policy_detail(prompt)}
        if isinstance(body, dict | list):
            return web.json_response(body, status=fault.status or 200, headers=dict(fault.headers))
        return web.Response(
            status=fault.status or 200,
            text=body or "",
            content_type=fault.content_type,
            headers=dict(fault.headers),
        )

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        drop_connection(request)
        return web.Response(status=200)

    # -- handlers -------------------------------------------------------------------------------------

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        arguments = await self.record(request, "submit")
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        endpoint = request.match_info["tail"].strip("/")
        if endpoint.count("/") < 1 or endpoint in self.retired_endpoints:
            return web.json_response({"detail": "Application not found"}, status=404)
        if not isinstance(arguments, dict):
            detail = [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
            return web.json_response({"detail": detail}, status=422)
        prompt = str(arguments.get("prompt", ""))
        try:
            scenario = scenario_for(prompt, SCENARIOS, self.scenario)
        except UnknownScenario as exc:
            return web.json_response({"detail": f"unknown fake scenario {exc.name!r}"}, status=400)
        fault = self._pick_fault(f"submit:{id(scenario)}", scenario, "submit")
        if fault is not None and fault.status is not None and fault.status >= 300:
            await self.stall(fault.delay)
            return self._fault_response(fault, prompt)
        problem = _validate(endpoint, arguments)
        if problem:
            return web.json_response({"detail": [problem]}, status=422)
        job = self._create_job(endpoint, arguments, scenario)
        if fault is not None:
            await self.stall(fault.delay)
            if fault.drop:
                return self._drop(request)
            if fault.status is not None:
                return self._fault_response(fault, prompt)
        reply = {
            "status": "IN_QUEUE",
            "request_id": job.request_id,
            **self.urls(job),
            "queue_position": max(scenario.queued_polls - 1, 0),
            "logs": None,
            "metrics": {},
        }
        return web.json_response(reply)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "status")
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        job = self._job(request)
        if job is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        fault = self._pick_fault(job.request_id, job.scenario, "status")
        if fault is not None:
            await self.stall(fault.delay)
            if fault.drop:
                return self._drop(request)
            if fault.status is not None:
                return self._fault_response(fault)
        with_logs = request.query.get("logs", "0").lower() in ("1", "true")
        code, body = self._advance(job, with_logs)
        return web.json_response(body, status=code)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "stream")
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        job = self._job(request)
        if job is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        fault = self._pick_fault(job.request_id, job.scenario, "stream")
        if fault is not None and (fault.status is not None or fault.after == 0):
            await self.stall(fault.delay)
            if fault.drop:
                return self._drop(request)
            if fault.status is not None:
                return self._fault_response(fault)
            fault = None
        self.open_streams += 1
        try:
            return await self._serve_stream(request, job, fault)
        finally:
            self.open_streams -= 1
            self.stream_closed.set()

    async def _serve_stream(
        self, request: web.Request, job: FakeJob, fault: Fault | None
    ) -> web.StreamResponse:
        with_logs = request.query.get("logs", "0").lower() in ("1", "true")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        sent_logs: list[dict[str, Any]] = []
        sent = 0
        while True:
            _, body = self._advance(job, with_logs)
            if isinstance(body.get("logs"), list):
                body["logs"] = [line for line in body["logs"] if line not in sent_logs]
                sent_logs += body["logs"]
            await resp.write(b"data: " + json.dumps(body).encode() + b"\n\n")
            sent += 1
            if body["status"] == "COMPLETED":
                break
            if fault is not None and sent == fault.after:
                if fault.drop:
                    drop_connection(request)
                    return resp
                await self.stall(fault.delay)  # silent: not even a keep-alive
            await self._pace(resp)
            if self.closing.is_set():
                return resp
        await resp.write_eof()
        return resp

    async def _pace(self, resp: web.StreamResponse) -> None:
        """Wait `stream_interval` before the next event, a keep-alive comment every `keepalive_interval`."""
        remaining = self.stream_interval
        if remaining <= 0:
            await asyncio.sleep(0)  # let the client (often on this very loop) read
            return
        while remaining > 0 and not self.closing.is_set():
            step = min(remaining, self.keepalive_interval)
            await self.stall(step)
            remaining -= step
            if remaining > 0:
                await resp.write(KEEPALIVE_COMMENT)
                self.keepalives_sent += 1

    def _advance(self, job: FakeJob, with_logs: bool) -> tuple[int, dict[str, Any]]:
        sc = job.scenario
        step = job.polls
        job.polls += 1
        base: dict[str, Any] = {"request_id": job.request_id, **self.urls(job)}
        if job.cancelled:
            job.completed = True
            logs = [_log("Request cancelled")] if with_logs else None
            return 200, {
                **base,
                "status": "COMPLETED",
                "logs": logs,
                "metrics": {},
                "error": "Request cancelled by user",
                "error_type": "request_cancelled",
            }
        if not job.completed and step < sc.queued_polls:
            return 202, {**base, "status": "IN_QUEUE", "queue_position": sc.queued_polls - 1 - step}
        running_step = step - sc.queued_polls
        if not job.completed and running_step < sc.running_polls:
            logs = None
            if with_logs:
                logs = [_log("Starting generation")]
                if sc.progress_logs and running_step % sc.progress_every == 0:
                    pct = round(100 * (running_step + 1) / (sc.running_polls + 1))
                    logs.append(_log(f"Generating video: {pct}%"))
                elif sc.progress_logs:
                    logs.append(_log(f"Rendering step {running_step + 1}"))
            return 202, {**base, "status": "IN_PROGRESS", "logs": logs}
        job.completed = True
        body = {
            **base,
            "status": "COMPLETED",
            "logs": [_log("Starting generation"), _log("Done")] if with_logs else None,
            "metrics": {"inference_time": 42.1},
        }
        if sc.error is not None:
            body["error"] = sc.error
            body["error_type"] = sc.error_type
        return 200, body

    async def _result(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "result")
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        job = self._job(request)
        if job is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        if not job.completed:
            return web.json_response({"detail": "Request is still in progress"}, status=400)
        fault = self._pick_fault(job.request_id, job.scenario, "result")
        if fault is not None:
            await self.stall(fault.delay)
            if fault.drop:
                return self._drop(request)
            if fault.status is not None:
                return self._fault_response(fault, str(job.arguments.get("prompt", "")))
        if job.cancelled:
            return web.json_response({"detail": "Request was cancelled"}, status=400)
        if job.scenario.error is not None:
            return web.json_response(
                {"detail": job.scenario.error, "error_type": job.scenario.error_type}, status=500
            )
        video = self._video(job)
        return web.json_response(
            {
                "video": {
                    "url": f"{self.base_url}/files/{job.file_name}",
                    "content_type": "video/mp4",
                    "file_name": "output.mp4",
                    "file_size": len(video),
                },
                "seed": 123456,
            }
        )

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "cancel")
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        job = self._job(request)
        if job is None:
            return web.json_response({"status": "NOT_FOUND"}, status=404)
        fault = self._pick_fault(job.request_id, job.scenario, "cancel")
        if fault is not None:
            await self.stall(fault.delay)
            if fault.status is not None:
                return self._fault_response(fault)
        if job.completed:
            return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)
        job.cancelled = True
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "file")
        name = request.match_info["name"]
        job = self.jobs.get(name.removesuffix(".mp4"))
        if job is None or not job.completed or job.cancelled or name != job.file_name:
            return web.json_response({"detail": "Not Found"}, status=404)
        video = self._video(job)
        fault = self._pick_fault(job.request_id, job.scenario, "file")
        if fault is not None:
            await self.stall(fault.delay)
            if fault.status is not None:
                return self._fault_response(fault)
            if fault.truncate:
                return await send_truncated(request, video)
        if job.scenario.chunked_file:
            resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for start in range(0, len(video), 4096):
                await resp.write(video[start : start + 4096])
            await resp.write_eof()
            return resp
        return web.Response(body=video, content_type="video/mp4")

    @staticmethod
    def _video(job: FakeJob) -> bytes:
        return job.scenario.video if job.scenario.video is not None else sample_mp4()


def _log(message: str) -> dict[str, str]:
    return {"message": message, "level": "INFO", "source": "user", "timestamp": "2026-11-24T00:00:00.000000"}


# Input checks of the endpoint families we use (enough to catch a wrong argument shape).
_VEO_DURATIONS = ("4s", "6s", "8s")
_KLING_DURATIONS = tuple(str(n) for n in range(3, 16))


def _validate(endpoint: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """A pydantic-style error item when `args` do not fit the endpoint, else None."""

    def bad(loc: str, msg: str, kind: str) -> dict[str, Any]:
        return {"loc": ["body", loc], "msg": msg, "type": kind, "input": args.get(loc)}

    if not isinstance(args.get("prompt"), str) or not args["prompt"]:
        return bad("prompt", "Field required", "missing")
    if "generate_audio" in args and not isinstance(args["generate_audio"], bool):
        return bad("generate_audio", "Input should be a valid boolean", "bool_type")
    for name, value in args.items():
        if name.endswith("image_url") and not _is_file_url(value):
            return bad(name, "Input should be a valid URL or a base64 data URI", "url_parsing")
    if endpoint.endswith("image-to-video"):
        kling_v3 = endpoint.startswith("fal-ai/kling-video/v3/") and "/turbo/" not in endpoint
        first = "start_image_url" if kling_v3 else "image_url"  # Turbo: image_url (catalog notes)
        if first not in args:
            return bad(first, "Field required", "missing")
    if endpoint.startswith("fal-ai/veo3.1"):
        if "duration" in args and args["duration"] not in _VEO_DURATIONS:
            return bad("duration", "Input should be '4s', '6s' or '8s'", "literal_error")
        if "resolution" in args and args["resolution"] not in ("720p", "1080p", "4k"):
            return bad("resolution", "Input should be '720p', '1080p' or '4k'", "literal_error")
        if "safety_tolerance" in args and args["safety_tolerance"] not in ("1", "2", "3", "4", "5", "6"):
            return bad("safety_tolerance", "Input should be '1', '2', '3', '4', '5' or '6'", "literal_error")
    if endpoint.startswith("fal-ai/kling-video"):
        if "duration" in args and args["duration"] not in _KLING_DURATIONS:
            return bad("duration", "Input should be '3', '4', ... or '15'", "literal_error")
        if args.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1"):
            return bad("aspect_ratio", "Input should be '16:9', '9:16' or '1:1'", "literal_error")
    return None


def _is_file_url(value: Any) -> bool:
    """An http(s) URL, or a `data:<type>;base64,<data>` URI whose data is strict, non-empty base64."""
    if not isinstance(value, str):
        return False
    if value.startswith(("http://", "https://")):
        return True
    head, sep, data = value.partition(",")
    if not (sep and head.startswith("data:") and head.endswith(";base64") and "/" in head):
        return False
    try:
        return bool(base64.b64decode(data, validate=True))
    except ValueError:
        return False


def main() -> None:
    """Serve the fake until killed; prints the base URL on one line."""
    serve_forever_main(_standalone, __doc__.splitlines()[0], _OPTIONS)


_OPTIONS = {
    "--key": {"default": DEFAULT_KEY, "help": "the accepted fal key (Authorization: Key <key>)"},
    "--stream-interval": {"type": float, "default": 0.0, "help": "seconds between status-stream events"},
    "--keepalive": {"type": float, "default": 15.0, "help": "seconds between keep-alive comments"},
}


def _standalone(args: Any) -> FakeFalQueue:
    fake = FakeFalQueue(key=args.key, port=args.port)
    fake.stream_interval = args.stream_interval
    fake.keepalive_interval = args.keepalive
    return fake


if __name__ == "__main__":
    main()
