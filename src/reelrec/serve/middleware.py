"""One pure-ASGI middleware: request body limit (413), per-route metrics and a nosniff header.

Written against raw ASGI rather than ``BaseHTTPMiddleware`` because it runs on every request, and the
latter costs an extra task and a response copy each time.
"""

from __future__ import annotations

import json
import time

from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelrec.serve.metrics import Metrics

_NOSNIFF = (b"x-content-type-options", b"nosniff")


def _too_large(limit: int) -> str:
    return f"request body is larger than {limit} bytes"


class ServiceMiddleware:
    """Enforce ``max_body_bytes`` (from ``Content-Length`` up front, and while streaming) and time requests.

    Parameters
    ----------
    app : ASGI app
    metrics : Metrics
        Receives one observation per HTTP request, labelled by route template (``/v1/users/{user_id}/...``)
        so that ids never become label values.
    max_body_bytes : int
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        limit = self.max_body_bytes
        # The router rewrites these for mounted apps; keep them to name the route afterwards.
        path, root_path = scope["path"], scope.get("root_path", "")

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), _NOSNIFF]
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await _send_413(send_wrapper, limit)
                return
            received = 0

            async def receive_limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        # FastAPI re-raises HTTPException from body reading, so this becomes the response.
                        raise HTTPException(413, _too_large(limit))
                return message

            await self.app(scope, receive_limited, send_wrapper)
        finally:
            label = route_label(scope, path, root_path)
            self.metrics.observe(scope["method"], label, status, time.perf_counter() - start)


def route_label(scope: Scope, path: str, root_path: str) -> str:
    """The ``route`` label of a request: its route template, so that ids never become label values."""
    route = scope.get("route")
    return getattr(route, "path", None) or _plain_route(scope, path, root_path)


def _plain_route(scope: Scope, path: str, root_path: str) -> str:
    """The template of a matched route that did not record itself in the scope, else ``"unmatched"``.

    FastAPI's own routes put themselves in ``scope["route"]``; plain Starlette routes (``/openapi.json``)
    and mounts (``/static``) do not, and would otherwise be counted as unmatched (issue 13).
    """
    where = {"type": "http", "method": scope["method"], "path": path, "root_path": root_path}
    for route in getattr(scope.get("app"), "routes", ()):
        match, _ = route.matches(where)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched")) or "unmatched"
    return "unmatched"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
