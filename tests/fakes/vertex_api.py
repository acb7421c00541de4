"""A local fake of Veo on Vertex AI (predictLongRunning, fetchPredictOperation) for the google-genai SDK.

Paths, bodies and error shapes follow docs/providers.md section 3.2:

- project mode: ``POST /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning``
  and ``...:fetchPredictOperation`` with ``Authorization: Bearer <token>``;
- express mode: the same without ``projects/{p}/locations/{l}/``, with ``x-goog-api-key``.

Create refuses (400 INVALID_ARGUMENT) what the SDK does not check: durations, resolutions and aspect ratios
per model, a malformed `image` / `lastFrame` / `video` (exactly one of `bytesBase64Encoded` or `gcsUri`), a
`lastFrame` without an `image`, and a video extension (`instances[0].video`) whose `durationSeconds` is not 8
(doc). Each operation keeps the create body it was made from (`operation.request`).

A job's behaviour is a `Scenario` (data). Tests set ``fake.scenario`` (the default for new jobs) or put a
directive such as ``[fake:safety]`` in the prompt (names in `SCENARIOS`).
Standalone: ``python -m tests.fakes.vertex_api --port N`` prints the base URL and serves until killed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes.http_fake import (
    CannedReply,
    FakeHttpServer,
    RecordedRequest,
    UnknownScenario,
    drop_connection,
    google_error_body,
    scenario_for,
    serve_forever_main,
)
from tests.fakes.sample_video import sample_mp4

API_VERSION = "v1beta1"
DEFAULT_API_KEY = "test-vertex-key"
DEFAULT_TOKEN = "test-vertex-token"
RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
SAFETY_REASON = (
    "Unable to show generated videos. All videos were filtered out because they violated Vertex AI's "
    "usage guidelines. You will not be charged for blocked videos. Try rephrasing the prompt. "
    "Support codes: 58061214"
)
_MODEL_PATH = re.compile(
    rf"^/{API_VERSION}/(?P<scope>projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"publishers/google/models/(?P<model>[^/:]+)$"
)


@dataclass(frozen=True)
class Reply(CannedReply):
    """A canned HTTP answer that replaces the normal one (an error, garbage, or a dropped connection)."""

    drop: bool = False  # close the connection without answering
    job_created: bool = False  # on create: the job exists although the client never learns its name


def google_error(status: int, grpc_status: str, message: str, **kwargs: Any) -> Reply:
    """A classic Google JSON error: {"error": {"code", "message", "status"}}."""
    return Reply(status=status, body=google_error_body(status, grpc_status, message), **kwargs)


def html_error(status: int = 502) -> Reply:
    """A front-end error page in text/html, as Google's load balancers send."""
    body = (
        "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1</title>"
        "<p><b>502.</b> <ins>That's an error.</ins><p>The server encountered a temporary error.</html>"
    )
    return Reply(status=status, body=body, content_type="text/html")


def malformed(job_created: bool = False) -> Reply:
    """A 200 whose JSON body is cut off."""
    return Reply(body='{"name": "projects/', job_created=job_created)


def dropped(job_created: bool = False) -> Reply:
    """Close the connection without an answer."""
    return Reply(drop=True, job_created=job_created)


RATE_LIMITED = google_error(
    429,
    "RESOURCE_EXHAUSTED",
    "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: "
    "veo-3.1-generate. Please submit a quota increase request.",
)
UNAVAILABLE = google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
BAD_DURATION = google_error(400, "INVALID_ARGUMENT", "durationSeconds isn't supported by this model.")
UNAUTHENTICATED = google_error(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential.",
)
PERMISSION_DENIED = google_error(
    403, "PERMISSION_DENIED", "Permission denied: Consumer has been suspended or the API key is invalid."
)

Outcome = Literal["video", "gcs", "safety", "failed", "corrupt_video", "empty"]


@dataclass(frozen=True)
class Scenario:
    """How one job behaves: faults on create/fetch, pending polls, then an outcome."""

    pending_polls: int = 0
    outcome: Outcome = "video"
    error_code: int = 13  # google.rpc code of a failed operation
    error_message: str = "Video generation failed"
    rai_reasons: tuple[str, ...] = (SAFETY_REASON,)
    create_reply: Reply | None = None  # replaces the create answer
    fetch_replies: tuple[Reply, ...] = ()  # replace the first len() fetch answers
    forget_operation: bool = False  # fetch answers 404 NOT_FOUND
    create_delay: float = 0.0
    fetch_delay: float = 0.0


SCENARIOS: dict[str, Scenario] = {
    "success": Scenario(),
    "pending": Scenario(pending_polls=3),
    "failure": Scenario(outcome="failed"),
    "quota_failure": Scenario(outcome="failed", error_code=8, error_message="Resource exhausted."),
    "safety": Scenario(outcome="safety"),
    "gcs": Scenario(outcome="gcs"),
    "empty": Scenario(outcome="empty"),
    "corrupt_base64": Scenario(outcome="corrupt_video"),
    "rate_limit_create": Scenario(create_reply=RATE_LIMITED),
    "rate_limit_fetch": Scenario(fetch_replies=(RATE_LIMITED,)),
    "unavailable_create": Scenario(create_reply=UNAVAILABLE),
    "unavailable_fetch": Scenario(fetch_replies=(UNAVAILABLE,)),
    "bad_gateway_create": Scenario(create_reply=html_error(502)),
    "bad_gateway_fetch": Scenario(fetch_replies=(html_error(502),)),
    "malformed_create": Scenario(create_reply=malformed(job_created=True)),
    "malformed_fetch": Scenario(fetch_replies=(malformed(),)),
    "dropped_fetch": Scenario(fetch_replies=(dropped(),)),
    "unknown_operation": Scenario(forget_operation=True),
    "model_retired": Scenario(
        create_reply=google_error(
            404,
            "NOT_FOUND",
            "Publisher Model `publishers/google/models/{model}` was not found or your project does not have "
            "access to it. Please ensure you are using a valid model version.",
        )
    ),
    "bad_key": Scenario(create_reply=PERMISSION_DENIED),
    "invalid_argument": Scenario(create_reply=BAD_DURATION),
    "slow_create": Scenario(create_delay=30.0),
    "slow_fetch": Scenario(fetch_delay=30.0),
    "lost_create_reply": Scenario(create_reply=dropped(job_created=True)),
}


@dataclass
class Operation:
    """A long-running operation the fake knows about."""

    name: str
    model: str
    scenario: Scenario
    request: Any = None
    fetches: int = 0


@dataclass
class _Route:
    model: str
    verb: str
    project: str | None
    location: str | None

    @property
    def express(self) -> bool:
        return self.project is None

    @property
    def resource(self) -> str:
        scope = "" if self.express else f"projects/{self.project}/locations/{self.location}/"
        return f"{scope}publishers/google/models/{self.model}"


class FakeVertexApi(FakeHttpServer):
    """The fake server; use ``async with FakeVertexApi() as fake`` and point the SDK at ``fake.base_url``."""

    shutdown_timeout = 60.0  # aiohttp's default, which this fake always used

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        token: str = DEFAULT_TOKEN,
        scenario: Scenario | None = None,
        retired_models: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.token = token
        self.scenario = scenario or Scenario()
        self.retired_models = retired_models if retired_models is not None else set()
        self.operations: dict[str, Operation] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    # ---- test helpers -------------------------------------------------------------------------------------

    def seed_operation(
        self,
        model: str,
        scenario: Scenario | None = None,
        *,
        project: str | None = "test-project",
        location: str = "us-central1",
    ) -> str:
        """Create an operation as if an earlier process had submitted it; return its name.

        ``project=None`` makes an express-mode name (no ``projects/.../locations/...`` prefix).
        """
        route = _Route(model, "predictLongRunning", project, location if project else None)
        return self._new_operation(route, scenario or self.scenario, request=None).name

    def calls(self, verb: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends in ``:verb``."""
        return [r for r in self.requests if r.path.endswith(f":{verb}")]

    # ---- HTTP ---------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        route = self._route(request)
        if route is None:
            return _not_found_page()
        auth_error = self._check_auth(request, route)
        if auth_error is not None:
            return auth_error.response()
        if route.verb == "predictLongRunning":
            return await self._create(request, route, body)
        return await self._fetch(request, route, body)

    def _route(self, request: web.Request) -> _Route | None:
        path, _, verb = request.path.partition(":")
        match = _MODEL_PATH.match(path)
        if (
            request.method != "POST"
            or not match
            or verb not in ("predictLongRunning", "fetchPredictOperation")
        ):
            return None
        return _Route(match["model"], verb, match["project"], match["location"])

    def _check_auth(self, request: web.Request, route: _Route) -> Reply | None:
        if route.express:
            key = request.headers.get("x-goog-api-key")
            if key is None:
                return UNAUTHENTICATED
            return None if key == self.api_key else PERMISSION_DENIED
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return None if scheme == "Bearer" and token == self.token else UNAUTHENTICATED

    async def _create(self, request: web.Request, route: _Route, body: Any) -> web.StreamResponse:
        problem = _validate(route.model, body)
        if problem:
            return google_error(400, "INVALID_ARGUMENT", problem).response()
        try:
            scenario = scenario_for(_prompt_of(body), SCENARIOS, self.scenario)
        except UnknownScenario as exc:
            return google_error(400, "INVALID_ARGUMENT", f"unknown fake scenario {exc.name!r}").response()
        if route.model in self.retired_models and scenario.create_reply is None:
            scenario = SCENARIOS["model_retired"]
        await self.stall(scenario.create_delay)
        reply = scenario.create_reply
        if reply is not None:
            if reply.job_created:
                self._new_operation(route, scenario, body)
            if reply.status == 404:
                message = json.loads(reply.body)["error"]["message"].format(model=route.model)
                reply = google_error(404, "NOT_FOUND", message)
            return await _answer(request, reply)
        op = self._new_operation(route, scenario, body)
        return web.json_response({"name": op.name})

    async def _fetch(self, request: web.Request, route: _Route, body: Any) -> web.StreamResponse:
        name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return google_error(400, "INVALID_ARGUMENT", "operationName is required.").response()
        op = self.operations.get(name)
        if op is None or op.scenario.forget_operation or name.rpartition("/operations/")[0] != route.resource:
            return google_error(404, "NOT_FOUND", f"Operation {name} not found.").response()
        op.fetches += 1
        await self.stall(op.scenario.fetch_delay)
        faults = op.scenario.fetch_replies
        if op.fetches <= len(faults):
            return await _answer(request, faults[op.fetches - 1])
        if op.fetches - len(faults) <= op.scenario.pending_polls:
            return web.json_response({"name": op.name})
        return web.json_response(_final(op))

    # ---- internals ----------------------------------------------------------------------------------------

    def _new_operation(self, route: _Route, scenario: Scenario, request: Any) -> Operation:
        name = f"{route.resource}/operations/{uuid.uuid4()}"
        op = Operation(name=name, model=route.model, scenario=scenario, request=request)
        self.operations[name] = op
        return op


def _final(op: Operation) -> dict[str, Any]:
    """The done operation for the job's outcome, shaped like the live API."""
    s = op.scenario
    if s.outcome == "failed":
        return {"name": op.name, "done": True, "error": {"code": s.error_code, "message": s.error_message}}
    response: dict[str, Any] = {"@type": RESPONSE_TYPE, "raiMediaFilteredCount": 0}
    if s.outcome == "video":
        encoded = base64.b64encode(sample_mp4()).decode("ascii")
        response["videos"] = [{"bytesBase64Encoded": encoded, "mimeType": "video/mp4"}]
    elif s.outcome == "corrupt_video":
        response["videos"] = [{"bytesBase64Encoded": "AAAA!!!not*base64", "mimeType": "video/mp4"}]
    elif s.outcome == "gcs":
        response["videos"] = [{"gcsUri": "gs://fake-bucket/veo/sample_0.mp4", "mimeType": "video/mp4"}]
    elif s.outcome == "safety":
        response["raiMediaFilteredCount"] = 1
        response["raiMediaFilteredReasons"] = list(s.rai_reasons)
    return {"name": op.name, "done": True, "response": response}


def _validate(model: str, body: Any) -> str | None:
    """The server-side checks the SDK does not do; a 400 INVALID_ARGUMENT message or None."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list) or not body["instances"]:
        return "instances must be a non-empty list."
    instance = body["instances"][0]
    if not instance.get("prompt") and not instance.get("image") and not instance.get("video"):
        return "A text prompt, an image or a video is required."
    for field_name, kind in (("image", "image"), ("lastFrame", "image"), ("video", "video")):
        if field_name in instance and (problem := _media_problem(field_name, kind, instance[field_name])):
            return problem
    if "lastFrame" in instance and "image" not in instance:
        return "lastFrame requires image (the first frame)."
    params = body.get("parameters") or {}
    resolution = params.get("resolution", "720p")
    duration = params.get("durationSeconds", 8)
    if resolution not in ("720p", "1080p", "4k") or (resolution == "4k" and "lite" in model):
        return "resolution isn't supported by this model."
    if duration not in (4, 6, 8) or (resolution != "720p" and duration != 8):
        return "durationSeconds isn't supported by this model."
    if "video" in instance and duration != 8:
        return "durationSeconds must be 8 for video extension."
    if params.get("aspectRatio", "16:9") not in ("16:9", "9:16"):
        return "aspectRatio isn't supported by this model."
    if not 1 <= params.get("sampleCount", 1) <= 4:
        return "sampleCount must be between 1 and 4."
    return None


def _media_problem(field_name: str, kind: str, media: Any) -> str | None:
    """Why an image/lastFrame/video entry is malformed: it needs exactly one of bytesBase64Encoded (strict,
    non-empty base64, with a `kind`/* mimeType) or gcsUri."""
    if not isinstance(media, dict) or ("bytesBase64Encoded" in media) == ("gcsUri" in media):
        return f"{field_name} needs exactly one of bytesBase64Encoded or gcsUri."
    if "gcsUri" in media:
        return None
    try:
        data = base64.b64decode(media["bytesBase64Encoded"], validate=True)
    except (TypeError, ValueError):
        data = b""
    if not data:
        return f"{field_name}.bytesBase64Encoded is not valid base64."
    if not str(media.get("mimeType", "")).startswith(f"{kind}/"):
        return f"{field_name}.mimeType must be a {kind}/* type."
    return None


def _prompt_of(body: Any) -> str:
    """The prompt of a predictLongRunning body ("" when there is none)."""
    instances = body.get("instances") or [{}]
    return instances[0].get("prompt") or ""


async def _answer(request: web.Request, reply: Reply) -> web.StreamResponse:
    if reply.drop:
        drop_connection(request)
        raise asyncio.CancelledError  # nothing can be sent on an aborted connection
    return reply.response()


def _not_found_page() -> web.Response:
    return web.Response(
        status=404,
        text="<!DOCTYPE html><html><p><b>404.</b> The requested URL was not found on this server.</html>",
        content_type="text/html",
    )


def main() -> None:
    """Serve the fake until killed and print its base URL on one line."""
    serve_forever_main(
        lambda args: FakeVertexApi(
            api_key=args.api_key,
            token=args.token,
            port=args.port,
            scenario=Scenario(pending_polls=args.pending),
        ),
        __doc__.splitlines()[0],
        {
            "--api-key": {"default": DEFAULT_API_KEY},
            "--token": {"default": DEFAULT_TOKEN},
            "--pending": {"type": int, "default": 2, "help": "pending polls before a job finishes"},
        },
    )


if __name__ == "__main__":
    main()
