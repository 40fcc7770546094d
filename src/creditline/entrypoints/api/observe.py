"""Request metrics (Prometheus) and one structured log line per request.

A plain ASGI middleware: it times the request, and labels it by the route template
(`/v1/holds/{hold_id}`), never by the raw path, so ids do not explode label counts.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditline.entrypoints.logs import get_logger

REQUESTS = Counter("creditline_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "creditline_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

log = get_logger("creditline.http")


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            if status >= 500:
                log.error(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    key=_key_of(scope),
                )
            elif self.access_log:
                log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    key=_key_of(scope),
                )


def _route_of(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _key_of(scope: Scope) -> str | None:
    state = scope.get("state") or {}
    actor = state.get("actor") if isinstance(state, dict) else None
    return getattr(actor, "key_id", None)
