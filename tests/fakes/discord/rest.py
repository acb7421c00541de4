"""REST plumbing: the route table, request parsing and recording, injected faults, JSON responses.

Handlers (the `handlers_*` mixins) take the `RecordedRequest` plus the route's path parameters and return
`(status, body)`, or raise `Reject` to answer a Discord JSON error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import API_PREFIX
from tests.fakes.discord.faults import ERRORS, Fault
from tests.fakes.discord.records import RecordedRequest, UploadedFile

log = logging.getLogger(__name__)

# (method, path template after /api/v10, handler method, needs Bot auth); the first match wins
ROUTES: list[tuple[str, str, str, bool]] = [
    ("GET", "/users/@me", "_get_me", True),
    ("GET", "/oauth2/applications/@me", "_get_app", True),
    ("GET", "/gateway", "_get_gateway", False),
    ("GET", "/gateway/bot", "_get_gateway_bot", True),
    ("GET", "/applications/{app}/commands", "_get_cmds", True),
    ("PUT", "/applications/{app}/commands", "_put_cmds", True),
    ("GET", "/applications/{app}/guilds/{guild}/commands", "_get_cmds", True),
    ("PUT", "/applications/{app}/guilds/{guild}/commands", "_put_cmds", True),
    ("POST", "/interactions/{id}/{token}/callback", "_callback", False),
    ("GET", "/webhooks/{app}/{token}/messages/{message}", "_wh_get", False),
    ("PATCH", "/webhooks/{app}/{token}/messages/{message}", "_wh_patch", False),
    ("DELETE", "/webhooks/{app}/{token}/messages/{message}", "_wh_delete", False),
    ("POST", "/webhooks/{app}/{token}", "_wh_post", False),
    ("GET", "/channels/{channel}/messages/{message}", "_ch_get", True),
    ("GET", "/channels/{channel}", "_ch_get_channel", True),
    ("PATCH", "/channels/{channel}/messages/{message}", "_ch_patch", True),
    ("DELETE", "/channels/{channel}/messages/{message}", "_ch_delete", True),
    ("POST", "/channels/{channel}/messages", "_ch_post", True),
]
# template placeholder -> (the handler's argument, what it matches)
PARAMS = {
    "app": ("app", r"\d+"),
    "guild": ("guild", r"\d+"),
    "id": ("iid", r"\d+"),
    "token": ("token", r"[^/]+"),
    "channel": ("cid", r"\d+"),
    "message": ("mid", r"\d+"),
}
# interaction webhooks also name the original response "@original"
WEBHOOK_PARAMS = {**PARAMS, "message": ("mid", r"@original|\d+")}


def path_regex(template: str) -> re.Pattern[str]:
    """The regex of a path template: each {placeholder} a named group; a trailing slash allowed."""
    params = WEBHOOK_PARAMS if template.startswith("/webhooks/") else PARAMS

    def group(m: re.Match[str]) -> str:
        arg, regex = params[m.group(1)]
        return f"(?P<{arg}>{regex})"

    return re.compile(re.sub(r"\{(\w+)\}", group, template) + r"/?")


def json_response(
    status: int, body: Any, headers: Iterable[tuple[str, str]] = (), via: bool = True
) -> web.Response:
    """A JSON answer as Discord sends it (with `Via`, which discord.py needs to retry a 429)."""
    # Exactly `application/json` (discord.py's json_or_text compares the whole header; no charset).
    resp = web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")
    if via:
        resp.headers["Via"] = "1.1 google"
    for k, v in headers:
        resp.headers[k] = v
    return resp


class Reject(Exception):
    """Raised by handlers to answer a Discord JSON error."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status}/{code} {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, error: str) -> Reject:
        """The rejection for `faults.ERRORS[error]`."""
        status, code, message, _ = ERRORS[error]
        return cls(status, code, message)


def check_sizes(files: list[UploadedFile], limit: int, reject: Callable[[str], Reject] = Reject.of) -> None:
    """Reject an upload with any file above `limit` bytes (413/40005)."""
    for f in files:
        if len(f.data) > limit:
            raise reject("too_large")


@dataclass
class Route:
    method: str
    regex: re.Pattern[str]
    template: str  # path template, e.g. "/channels/{channel}/messages/{message}"
    handler: Callable[..., Any]
    bot_auth: bool


class RestMixin:
    """FakeDiscord's REST entry point: route, record, apply injected faults and Bot auth, call the handler."""

    def _build_routes(self) -> list[Route]:
        return [
            Route(method, path_regex(template), template, getattr(self, handler), auth)
            for method, template, handler, auth in ROUTES
        ]

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read(decode=False)  # type: ignore[union-attr]
                    files.append(
                        UploadedFile(
                            part.name or "",
                            part.filename or "",  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype == "application/json":
            return json.loads(raw), []
        return raw, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        at = self.clock.monotonic()
        full = request.path
        path = full[len(API_PREFIX) :] if full.startswith(API_PREFIX) else full
        method = request.method
        route, match = None, None
        if full.startswith(API_PREFIX):
            for candidate in self._routes:
                if candidate.method == method and (m := candidate.regex.fullmatch(path)):
                    route, match = candidate, m
                    break
        try:
            payload, files = await self._parse_body(request)
        except (ValueError, UnicodeDecodeError):
            payload, files = None, []
        rec = RecordedRequest(
            at=at,
            method=method,
            path=path,
            template=f"{method} {route.template}" if route else None,
            query=dict(request.query),
            headers=dict(request.headers),
            payload=payload,
            files=files,
        )
        self.requests.append(rec)
        try:
            if route is None or match is None:
                self.unexpected.append(rec)
                log.warning("fake discord: unexpected route %s %s", method, full)
                return self._finish(rec, json_response(404, {"message": "404: Not Found", "code": 0}))
            response = await self._with_faults(rec, route, match.groupdict())
            return self._finish(rec, response)
        finally:
            await self._notify()

    def _finish(self, rec: RecordedRequest, response: web.Response) -> web.Response:
        rec.status = response.status
        if response.body is not None and response.content_type == "application/json":
            with contextlib.suppress(ValueError, TypeError):
                rec.response = json.loads(response.body)  # type: ignore[arg-type]
        return response

    async def _with_faults(self, rec: RecordedRequest, route: Route, params: dict[str, str]) -> web.Response:
        extra_headers: tuple[tuple[str, str], ...] = ()
        for rule in self.faults:
            if rule.exhausted or not rule.matches(rec.method, rec.path, route.template):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            rule.hits += 1
            fault = rule.fault
            rec.fault = fault.name
            if fault.delay:  # ends early when the fake stops
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            if fault.status:
                self._note_faulted_callback(rec, route, params, fault)
                return json_response(fault.status, fault.body, fault.headers, via=fault.via)
            extra_headers = fault.headers
            break
        if route.bot_auth and rec.headers.get("Authorization") != f"Bot {self.token}":
            return json_response(401, {"message": "401: Unauthorized", "code": 0})
        try:
            status, body = await route.handler(rec, **params)
        except Reject as rej:
            return json_response(rej.status, {"message": rej.message, "code": rej.code})
        if status == 204:
            resp = web.Response(status=204)
            resp.headers["Via"] = "1.1 google"
            for k, v in extra_headers:
                resp.headers[k] = v
            return resp
        return json_response(status, body, extra_headers)

    def _note_faulted_callback(
        self, rec: RecordedRequest, route: Route, params: dict[str, str], fault: Fault
    ) -> None:
        if not route.template.endswith("/callback"):
            return
        handle = self.interactions.get(int(params["iid"]))
        if handle is None:
            return
        code = fault.body.get("code") if isinstance(fault.body, dict) else None
        handle.attempts.append(self._callback_record(handle, rec, fault.status, code))
