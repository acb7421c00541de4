"""A local fake ComfyUI server (HTTP + WebSocket), written from ComfyUI's `server.py`, `execution.py` and
`comfy_execution/jobs.py` (providers.md section 9). Every route also answers under `/api`.

Routes:
    POST /prompt            {prompt, client_id, prompt_id?} -> 200 {prompt_id, number, node_errors: {}};
                            400 {"error": {type, message, details, extra_info}, "node_errors": {...}}
    GET  /prompt            {"exec_info": {"queue_remaining": N}}
    GET  /queue             {"queue_running": [[number, id, prompt, extra_data, outputs]], "queue_pending": [...]}
    POST /queue             {"delete": [ids]} / {"clear": true} -> 200, empty body
    POST /interrupt         optional {"prompt_id"}: interrupts the running prompt (only if it is that one)
    GET  /history[/{id}]    {} while queued, running or unknown; else {id: {prompt, outputs, status, meta}}
    GET  /api/jobs/{id}     (fake.jobs_api) {id, status: pending|in_progress|completed|failed|cancelled, ...}
    POST /api/jobs/{id}/cancel  (fake.jobs_cancel) {"cancelled": bool}; 404 {"error"} for an unknown id
    GET  /view?filename=&subfolder=&type=   the output file (the sample mp4); 404 if absent
    POST /upload/image      multipart image/type/subfolder/overwrite -> {"name", "subfolder", "type"}
    GET  /object_info       {class: {input: {required: {...}}, output_node, ...}} from `nodes`
    GET  /system_stats      {"system": {"comfyui_version": fake.version, ...}, "devices": [...]}
    GET  /models/{folder}   the file names in `models[folder]`; 404 for an unknown folder
    GET  /ws?clientId=      JSON events; one socket per client id (a new one replaces the old)

Jobs move only when the test says: `await fake.step()` sends one event of the running prompt (starting the
next queued prompt first when none runs), `await fake.run()` runs the running/next prompt to its end,
`await fake.run_all()` empties the queue. A prompt's events: execution_start, execution_cached, per node
`executing` (+ `progress` value/max for a sampler node, `executed` for the output node), execution_success,
then the history entry, then `executing` with node null. Events go only to the prompt's client id's socket;
`status` and `execution_interrupted` are broadcast.

Misbehaviour: `fail_at[node_id] = (exception_type, message)` (execution_error at that node),
`await fake.drop_sockets()`, `await fake.restart()` (queue, history and sockets lost), `view_delay` seconds,
`hang = True` (every HTTP call stalls), `accepts_prompt_id = False` (an old server choosing its own id),
`jobs_api` / `jobs_cancel` off (older servers). Recorded: `requests` (with headers, also of the WS upgrade),
`graphs`, `uploads`, `interrupts`, `deletes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.http_fake import FakeHttpServer, RecordedRequest
from tests.fakes.sample_video import sample_mp4

SAMPLERS = frozenset({"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"})
OUTPUTS = frozenset({"SaveVideo", "SaveWEBM", "VHS_VideoCombine", "SaveAnimatedWEBP"})

# A small Wan-like node set: class -> required inputs.
DEFAULT_NODES: dict[str, tuple[str, ...]] = {
    "UNETLoader": ("unet_name", "weight_dtype"),
    "CLIPLoader": ("clip_name", "type"),
    "VAELoader": ("vae_name",),
    "CLIPTextEncode": ("text", "clip"),
    "EmptyHunyuanLatentVideo": ("width", "height", "length", "batch_size"),
    "KSampler": (
        "model",
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "denoise",
    ),
    "VAEDecode": ("samples", "vae"),
    "CreateVideo": ("images", "fps"),
    "SaveVideo": ("video", "filename_prefix", "format", "codec"),
    "LoadImage": ("image",),
    "VHS_VideoCombine": ("images", "frame_rate", "filename_prefix", "format"),
}


@dataclass
class Upload:
    """One `POST /upload/image`."""

    name: str
    subfolder: str
    type: str
    data: bytes
    overwrite: str | None


@dataclass
class Prompt:
    """One queued prompt and its script of events."""

    number: int
    prompt_id: str
    graph: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]
    script: list[Callable[[], Any]] = field(default_factory=list)
    messages: list[list[Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    last_node: str | None = None

    @property
    def client_id(self) -> str | None:
        """The socket this prompt's events go to."""
        return self.extra_data.get("client_id")

    def row(self) -> list[Any]:
        """The queue entry shape: [number, prompt_id, prompt, extra_data, outputs_to_execute]."""
        return [self.number, self.prompt_id, self.graph, self.extra_data, self.outputs]


class FakeComfyUI(FakeHttpServer):
    """ComfyUI on 127.0.0.1; `nodes` maps the node classes it has to their required inputs."""

    def __init__(
        self,
        nodes: Mapping[str, Iterable[str]] | None = None,
        *,
        version: str = "0.3.66",
        models: Mapping[str, list[str]] | None = None,
        steps: int = 4,
        output_style: str = "core",  # core: SaveVideo's images+animated; vhs: gifs
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.nodes = {k: tuple(v) for k, v in (nodes if nodes is not None else DEFAULT_NODES).items()}
        self.version = version
        self.models = dict(models or {"diffusion_models": ["wan2.2_ti2v_5B_fp16.safetensors"]})
        self.steps = steps
        self.output_style = output_style
        self.video = sample_mp4()
        self.jobs_api = True
        self.jobs_cancel = True
        self.accepts_prompt_id = True
        self.hang = False
        self.view_delay = 0.0
        self.fail_at: dict[str, tuple[str, str]] = {}
        self.graphs: list[dict[str, Any]] = []
        self.uploads: list[Upload] = []
        self.interrupts: list[dict[str, Any]] = []
        self.deletes: list[str] = []
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self._socket_events: dict[str, asyncio.Event] = {}
        self._reset()

    def _reset(self) -> None:
        self.pending: list[Prompt] = []
        self.running: Prompt | None = None
        self.history: dict[str, dict[str, Any]] = {}
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.number = 0

    # -- test controls -------------------------------------------------------------------------------

    async def step(self) -> bool:
        """Send the next event of the running prompt (starting the next queued one first); False if idle."""
        if self.running is None:
            if not self.pending:
                return False
            self.pending.sort(key=lambda p: p.number)
            self.running = self.pending.pop(0)
            self._script(self.running)
        prompt = self.running
        if prompt.interrupted:
            await self._interrupted(prompt)
        else:
            await prompt.script.pop(0)()
        return True

    async def run(self) -> None:
        """Run the running (or next) prompt to its end."""
        if not await self.step():
            return
        while self.running is not None:
            await self.step()

    async def run_all(self) -> None:
        """Run every queued prompt to its end."""
        while self.running is not None or self.pending:
            await self.run()

    async def restart(self) -> None:
        """Lose the queue, the history and every socket, as a restarted ComfyUI does."""
        await self.drop_sockets()
        self._reset()

    async def drop_sockets(self) -> None:
        """Abort every WebSocket connection (no close frame)."""
        for ws in list(self.sockets.values()):
            request = getattr(ws, "_fake_request", None)
            if request is not None and request.transport is not None:
                request.transport.abort()
        self.sockets.clear()

    def expect_socket(self, client_id: str) -> None:
        """Forget that `client_id` connected: the next wait_socket waits for a new connection."""
        self._socket_events.pop(client_id, None)

    async def wait_socket(self, client_id: str) -> None:
        """Wait until a socket with `client_id` is registered."""
        await self._socket_events.setdefault(client_id, asyncio.Event()).wait()

    def queued_ids(self) -> list[str]:
        """Ids of the running and pending prompts."""
        return ([self.running.prompt_id] if self.running else []) + [p.prompt_id for p in self.pending]

    # -- events --------------------------------------------------------------------------------------

    async def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """One JSON event to the socket of `sid`, or to every socket when `sid` is None."""
        targets = (
            list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        )
        for ws in targets:
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json({"type": event, "data": data})

    async def _status(self) -> None:
        remaining = len(self.pending) + (1 if self.running else 0)
        await self.send("status", {"status": {"exec_info": {"queue_remaining": remaining}}}, None)

    async def _event(self, prompt: Prompt, event: str, data: dict[str, Any], *, keep: bool = True) -> None:
        data = {**data, "prompt_id": prompt.prompt_id}
        if keep:
            prompt.messages.append([event, {**data, "timestamp": int(time.time() * 1000)}])
        await self.send(event, data, prompt.client_id)

    def _script(self, prompt: Prompt) -> None:
        """The events of one prompt, each one `step`."""
        ts = {"timestamp": 0}
        steps: list[Callable[[], Any]] = [
            lambda: self._event(prompt, "execution_start", ts),
            lambda: self._event(prompt, "execution_cached", {"nodes": [], **ts}),
        ]
        for node_id, node in prompt.graph.items():
            steps.append(lambda n=node_id: self._executing(prompt, n))
            if node_id in self.fail_at:
                steps.append(lambda n=node_id: self._error(prompt, n))
                break
            if node["class_type"] in SAMPLERS:
                most = node.get("inputs", {}).get("steps")
                most = most if isinstance(most, int) and 0 < most <= 100 else self.steps
                for value in range(1, most + 1):
                    steps.append(lambda n=node_id, v=value, m=most: self._progress(prompt, n, v, m))
            if node_id in prompt.outputs:
                steps.append(lambda n=node_id: self._executed(prompt, n))
        else:
            steps.append(lambda: self._success(prompt))
        prompt.script = steps

    async def _executing(self, prompt: Prompt, node_id: str) -> None:
        prompt.last_node = node_id
        await self._event(prompt, "executing", {"node": node_id, "display_node": node_id}, keep=False)

    async def _progress(self, prompt: Prompt, node_id: str, value: int, most: int) -> None:
        await self._event(prompt, "progress", {"value": value, "max": most, "node": node_id}, keep=False)

    async def _executed(self, prompt: Prompt, node_id: str) -> None:
        prompt.results[node_id] = output = self._write_output(prompt)
        data = {"node": node_id, "display_node": node_id, "output": output}
        await self._event(prompt, "executed", data, keep=False)

    def _write_output(self, prompt: Prompt) -> dict[str, Any]:
        name = f"ComfyUI_{len(self.files) + 1:05d}_.mp4"
        self.files[("output", "video", name)] = self.video
        item = {"filename": name, "subfolder": "video", "type": "output"}
        if self.output_style == "vhs":
            return {
                "gifs": [{**item, "format": "video/h264-mp4", "frame_rate": 16.0, "fullpath": f"/srv/{name}"}]
            }
        return {"images": [item], "animated": [True]}

    async def _success(self, prompt: Prompt) -> None:
        await self._event(prompt, "execution_success", {"timestamp": 0})
        await self._finish(prompt, "success")

    async def _error(self, prompt: Prompt, node_id: str) -> None:
        exc_type, message = self.fail_at[node_id]
        data = {
            "node_id": node_id,
            "node_type": prompt.graph[node_id]["class_type"],
            "executed": [],
            "exception_message": message,
            "exception_type": exc_type,
            "traceback": [f'  File "nodes.py", line 1\n{exc_type}: {message}\n'],
            "current_inputs": {},
            "current_outputs": {},
            "timestamp": 0,
        }
        await self._event(prompt, "execution_error", data)
        await self._finish(prompt, "error")

    async def _interrupted(self, prompt: Prompt) -> None:
        node = prompt.last_node
        data = {
            "prompt_id": prompt.prompt_id,
            "node_id": node,
            "executed": [],
            "timestamp": 0,
            "node_type": prompt.graph[node]["class_type"] if node else None,
        }
        prompt.messages.append(["execution_interrupted", data])
        await self.send("execution_interrupted", data, None)  # broadcast
        await self._finish(prompt, "error")

    async def _finish(self, prompt: Prompt, status: str) -> None:
        """Write the history entry, then `executing` null, as ComfyUI's prompt worker does."""
        self.history[prompt.prompt_id] = {
            "prompt": prompt.row(),
            "outputs": prompt.results,
            "status": {"status_str": status, "completed": status == "success", "messages": prompt.messages},
            "meta": {
                n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n}
                for n in prompt.results
            },
        }
        self.running = None
        await self._event(prompt, "executing", {"node": None}, keep=False)
        await self._status()

    # -- routes --------------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._hang_middleware)
        table = [
            ("POST", "/prompt", self._post_prompt),
            ("GET", "/prompt", self._get_prompt),
            ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue),
            ("POST", "/interrupt", self._interrupt),
            ("GET", "/history", self._get_history),
            ("GET", "/history/{prompt_id}", self._get_history),
            ("GET", "/view", self._view),
            ("POST", "/upload/image", self._upload),
            ("GET", "/object_info", self._object_info),
            ("GET", "/system_stats", self._system_stats),
            ("GET", "/models/{folder}", self._models),
            ("GET", "/ws", self._ws),
            ("GET", "/jobs/{job_id}", self._job_get),
            ("POST", "/jobs/{job_id}/cancel", self._job_cancel),
        ]
        for method, path, handler in table:
            for prefix in ("", "/api"):
                if path.startswith("/jobs") and not prefix:
                    continue  # the jobs API exists only under /api
                app.router.add_route(method, prefix + path, handler)

    @web.middleware
    async def _hang_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.hang:
            await self.record(request, "hang")
            await self.closing.wait()
        return await handler(request)

    async def _post_prompt(self, request: web.Request) -> web.Response:
        body = await self.record(request, "prompt")
        if not isinstance(body, dict) or "prompt" not in body:
            error = {
                "type": "no_prompt",
                "message": "No prompt provided",
                "details": "No prompt provided",
                "extra_info": {},
            }
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        graph = body["prompt"]
        self.graphs.append(graph)
        error, node_errors, outputs = self.validate(graph)
        if error is not None:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        given = body.get("prompt_id")
        prompt_id = str(given) if given and self.accepts_prompt_id else str(uuid.uuid4())
        extra = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        number = self.number
        self.number += 1
        self.pending.append(Prompt(number, prompt_id, graph, extra, outputs))
        await self._status()
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    def validate(self, graph: Any) -> tuple[dict[str, Any] | None, dict[str, Any], list[str]]:
        """(error, node_errors, output node ids) the way execution.validate_prompt answers."""

        def invalid(kind: str, message: str, details: str) -> dict[str, Any]:
            return {"type": kind, "message": message, "details": details, "extra_info": {}}

        if not isinstance(graph, dict):
            return invalid("invalid_prompt", "Prompt is not a dict", ""), {}, []
        outputs = []
        for node_id, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                message = "Cannot execute because a node is missing the class_type property."
                return invalid("invalid_prompt", message, f"Node ID '#{node_id}'"), {}, []
            if node["class_type"] not in self.nodes:
                message = f"Cannot execute because node {node['class_type']} does not exist."
                return invalid("invalid_prompt", message, f"Node ID '#{node_id}'"), {}, []
            if node["class_type"] in OUTPUTS:
                outputs.append(node_id)
        if not outputs:
            return invalid("prompt_no_outputs", "Prompt has no outputs", ""), {}, []
        node_errors: dict[str, Any] = {}
        for node_id, node in graph.items():
            inputs = node.get("inputs") or {}
            missing = [name for name in self.nodes[node["class_type"]] if name not in inputs]
            if missing:
                node_errors[node_id] = {
                    "errors": [
                        {
                            "type": "required_input_missing",
                            "message": "Required input is missing",
                            "details": name,
                            "extra_info": {"input_name": name},
                        }
                        for name in missing
                    ],
                    "dependent_outputs": outputs,
                    "class_type": node["class_type"],
                }
        if node_errors:
            details = "\n".join(
                f"{e['message']}: {e['details']}" for entry in node_errors.values() for e in entry["errors"]
            )
            error = invalid("prompt_outputs_failed_validation", "Prompt outputs failed validation", details)
            return error, node_errors, outputs
        return None, {}, outputs

    async def _get_prompt(self, request: web.Request) -> web.Response:
        await self.record(request, "prompt_info")
        remaining = len(self.pending) + (1 if self.running else 0)
        return web.json_response({"exec_info": {"queue_remaining": remaining}})

    async def _get_queue(self, request: web.Request) -> web.Response:
        await self.record(request, "queue")
        running = [self.running.row()] if self.running else []
        return web.json_response({"queue_running": running, "queue_pending": [p.row() for p in self.pending]})

    async def _post_queue(self, request: web.Request) -> web.Response:
        body = await self.record(request, "queue_post") or {}
        if body.get("clear"):
            self.pending.clear()
        for prompt_id in body.get("delete") or []:
            self.deletes.append(prompt_id)
            self.pending = [p for p in self.pending if p.prompt_id != prompt_id]
        await self._status()
        return web.Response(status=200)

    async def _interrupt(self, request: web.Request) -> web.Response:
        body = await self.record(request, "interrupt")
        body = body if isinstance(body, dict) else {}
        self.interrupts.append(body)
        wanted = body.get("prompt_id")
        if self.running is not None and (not wanted or wanted == self.running.prompt_id):
            self.running.interrupted = True  # takes effect at the next step, as at a sampler step
        return web.Response(status=200)

    async def _get_history(self, request: web.Request) -> web.Response:
        await self.record(request, "history")
        prompt_id = request.match_info.get("prompt_id")
        if prompt_id is None:
            return web.json_response(self.history)
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry else {})

    async def _view(self, request: web.Request) -> web.StreamResponse:
        await self.record(request, "view")
        query = request.query
        filename = query.get("filename", "")
        if not filename or filename.startswith("/") or ".." in filename:
            return web.Response(status=400)
        data = self.files.get((query.get("type", "output"), query.get("subfolder", ""), filename))
        if data is None:
            return web.Response(status=404)
        await self.stall(self.view_delay)
        return web.Response(
            body=data, content_type="video/mp4", headers={"Content-Disposition": f'filename="{filename}"'}
        )

    async def _upload(self, request: web.Request) -> web.Response:
        post = await request.post()  # before `record`, which would consume the multipart body
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.query), request.headers.copy(), None, "upload"
            )
        )
        image = post.get("image")
        if not isinstance(image, web.FileField) or not image.filename:
            return web.Response(status=400)
        kind = str(post.get("type") or "input")
        subfolder = str(post.get("subfolder") or "")
        overwrite = post.get("overwrite")
        self.uploads.append(
            Upload(
                image.filename,
                subfolder,
                kind,
                image.file.read(),
                str(overwrite) if overwrite is not None else None,
            )
        )
        return web.json_response({"name": image.filename, "subfolder": subfolder, "type": kind})

    async def _object_info(self, request: web.Request) -> web.Response:
        await self.record(request, "object_info")
        info = {}
        for name, required in self.nodes.items():
            info[name] = {
                "input": {"required": {i: ["*", {}] for i in required}, "optional": {}},
                "input_order": {"required": list(required)},
                "output": [],
                "output_is_list": [],
                "output_name": [],
                "name": name,
                "display_name": name,
                "description": "",
                "python_module": "nodes",
                "category": "fake",
                "output_node": name in OUTPUTS,
            }
        return web.json_response(info)

    async def _system_stats(self, request: web.Request) -> web.Response:
        await self.record(request, "system_stats")
        system = {
            "os": "posix",
            "ram_total": 64 << 30,
            "ram_free": 32 << 30,
            "comfyui_version": self.version,
            "python_version": "3.12.3",
            "pytorch_version": "2.8.0+cu128",
            "embedded_python": False,
            "argv": ["main.py", "--listen"],
        }
        device = {
            "name": "cuda:0 Fake GPU",
            "type": "cuda",
            "index": 0,
            "vram_total": 24 << 30,
            "vram_free": 20 << 30,
            "torch_vram_total": 0,
            "torch_vram_free": 0,
        }
        return web.json_response({"system": system, "devices": [device]})

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request, "models")
        folder = request.match_info["folder"]
        if folder not in self.models:
            return web.Response(status=404)
        return web.json_response(self.models[folder])

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        await self.record(request, "ws")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        ws._fake_request = request  # type: ignore[attr-defined]  # for drop_sockets
        sid = request.query.get("clientId") or uuid.uuid4().hex
        self.sockets.pop(sid, None)  # a new socket replaces the old one of the same id
        self.sockets[sid] = ws
        try:
            remaining = len(self.pending) + (1 if self.running else 0)
            await self.send(
                "status", {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": sid}, sid
            )
            if self.running is not None and self.running.client_id == sid and self.running.last_node:
                await self.send("executing", {"node": self.running.last_node}, sid)
            self._socket_events.setdefault(sid, asyncio.Event()).set()
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            if self.sockets.get(sid) is ws:
                del self.sockets[sid]
        return ws

    def _job(self, prompt_id: str) -> dict[str, Any] | None:
        if prompt_id in self.history:
            entry = self.history[prompt_id]
            messages = entry["status"]["messages"]
            events = [m[0] for m in messages]
            if entry["status"]["status_str"] == "success":
                status = "completed"
            else:
                status = "cancelled" if "execution_interrupted" in events else "failed"
            error = next((m[1] for m in messages if m[0] == "execution_error"), None)
            job = {
                "id": prompt_id,
                "status": status,
                "priority": entry["prompt"][0],
                "outputs": entry["outputs"],
                "execution_status": entry["status"],
                "outputs_count": len(entry["outputs"]),
            }
            if error:
                job["execution_error"] = error
            return job
        if self.running is not None and self.running.prompt_id == prompt_id:
            return {
                "id": prompt_id,
                "status": "in_progress",
                "priority": self.running.number,
                "outputs_count": 0,
            }
        for p in self.pending:
            if p.prompt_id == prompt_id:
                return {"id": prompt_id, "status": "pending", "priority": p.number, "outputs_count": 0}
        return None

    async def _job_get(self, request: web.Request) -> web.Response:
        await self.record(request, "job")
        if not self.jobs_api:
            return web.Response(status=404, text="404: Not Found")
        job = self._job(request.match_info["job_id"])
        if job is None:
            return web.json_response({"error": "Job not found"}, status=404)
        return web.json_response(job)

    async def _job_cancel(self, request: web.Request) -> web.Response:
        await self.record(request, "job_cancel")
        if not self.jobs_cancel:
            return web.Response(status=404, text="404: Not Found")
        prompt_id = request.match_info["job_id"]
        if self.running is not None and self.running.prompt_id == prompt_id:
            self.running.interrupted = True
            return web.json_response({"cancelled": True})
        if any(p.prompt_id == prompt_id for p in self.pending):
            self.pending = [p for p in self.pending if p.prompt_id != prompt_id]
            await self._status()
            return web.json_response({"cancelled": True})
        if prompt_id in self.history:
            return web.json_response({"cancelled": False})
        return web.json_response({"error": "Job not found"}, status=404)
