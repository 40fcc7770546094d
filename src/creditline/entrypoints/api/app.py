"""The FastAPI application: routers, problem+json errors, metrics, health, the sweeper.

`create_app(runtime)` builds the app around an already-wired runtime, so tests and the
benchmark run exactly what `creditline serve` runs. The docs pages (/docs, /redoc) are
served with their assets from the pinned `fastapi-offline` package, so they render on a
machine with no network.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from creditline import __version__
from creditline.adapters.db.dev_clock import MovableClock
from creditline.adapters.db.migrate import current_revision
from creditline.adapters.webhook_http import HttpWebhookSender
from creditline.bootstrap import Runtime
from creditline.entrypoints.api import error_handlers, problems
from creditline.entrypoints.api.deps import Authenticator
from creditline.entrypoints.api.guard import Guard
from creditline.entrypoints.api.observe import ObserveMiddleware
from creditline.entrypoints.api.openapi import install_openapi, problem_responses
from creditline.entrypoints.api.problems import ApiProblem
from creditline.entrypoints.api.routes import accounts, clock, events, holds, risk
from creditline.entrypoints.background import (
    PeriodicThread,
    deliver_until_done,
    prune_observations,
    sweep_until_done,
)

DESCRIPTION = """
creditline is a consumer credit-line payment engine: credit accounts, two-phase holds
(authorize → capture / release / expire), order events, risk control and a double-entry
journal.

* Authenticate with `Authorization: Bearer <API key>`; the key is checked before the body
  is read. Bodies are JSON, at most 1 MiB by default (413 above).
* Every POST that changes something needs an `Idempotency-Key` header; a retry with the
  same key and body gets the first answer back (header `Idempotent-Replayed: true`),
  another body gets 409. Three need none: the dry run (`explain`), order events (each
  `event_id` is its key) and a dead letter's replay (the letter is).
* Amounts are integers of fen (100 = ¥1.00). Times are UTC, ISO 8601.
* Errors are RFC 9457 `application/problem+json` with a stable `code`; see `/problems`.
  Refusals a consumer reads carry `message` and `remedy` in the `Accept-Language`
  language (zh-CN or en; anything else gets zh-CN, and `Content-Language` says which).
"""


def create_app(runtime: Runtime, *, background: bool = True) -> FastAPI:
    """The app; `background` runs the expiry sweeper and webhook delivery as threads
    (each also off when its interval setting is 0)."""
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threads = _background_threads(runtime) if background else []
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            for thread in threads:
                thread.stop()

    app = FastAPIOffline(
        title="creditline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url="/static/docs",
    )
    app.state.runtime = runtime
    authenticator = Authenticator(runtime)
    error_handlers.install(app)
    for router in (holds.router, accounts.router, events.router, risk.router):
        app.include_router(router)
    if settings.development and isinstance(runtime.clock, MovableClock):
        app.include_router(clock.router)  # nowhere else: /v1/clock is a 404
    _add_service_routes(app, runtime)
    install_openapi(app)
    app.add_middleware(
        Guard, authenticator=authenticator, body_max_bytes=settings.request_body_max_bytes
    )
    app.add_middleware(ObserveMiddleware, access_log=settings.access_log)
    return app


def _background_threads(runtime: Runtime) -> list[PeriodicThread]:
    settings = runtime.settings
    threads = []
    if settings.sweep_interval_s > 0:
        threads.append(
            PeriodicThread(
                "sweeper",
                settings.sweep_interval_s,
                lambda: sweep_until_done(runtime, batch_size=settings.sweep_batch_size),
            )
        )
    if settings.webhook_interval_s > 0:
        sender = HttpWebhookSender(settings.webhook_timeout_s)
        rng = random.Random()  # noqa: S311 - jitter, not secrets
        threads.append(
            PeriodicThread(
                "webhooks",
                settings.webhook_interval_s,
                lambda: deliver_until_done(runtime, sender, rng),
            )
        )
    risk = runtime.risk
    # The database store only: Redis expires its own keys.
    if settings.risk_prune_interval_s > 0 and risk is not None and risk.shared_features is None:
        threads.append(
            PeriodicThread(
                "risk_prune", settings.risk_prune_interval_s, lambda: prune_observations(runtime)
            )
        )
    return threads


HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>creditline</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>creditline {version}</h1>
<p>A consumer credit-line payment engine: credit accounts, two-phase holds, order events,
risk control and a double-entry journal. Every <code>/v1</code> call needs
<code>Authorization: Bearer &lt;API key&gt;</code>.</p>
<ul>
<li><a href="/docs">/docs</a> — the API, browsable (Swagger UI); <a href="/redoc">/redoc</a></li>
<li><a href="/openapi.json">/openapi.json</a> — the OpenAPI document</li>
<li><a href="/problems">/problems</a> — every error code, its status and meaning</li>
<li><a href="/healthz">/healthz</a> — liveness and schema revision</li>
<li><a href="/metrics">/metrics</a> — Prometheus metrics</li>
</ul></body></html>
"""


def _add_service_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(HOME.format(version=__version__))

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    def healthz() -> dict[str, Any]:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {
            "status": "ok",
            "version": __version__,
            "schema_revision": current_revision(runtime.engine),
        }

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"description": "The Prometheus text exposition format"}},
    )
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems", tags=["operations"], summary="Every error code the API returns")
    def problem_catalogue() -> list[dict[str, Any]]:
        return list(problems.catalogue().values())

    @app.get(
        "/problems/{code}",
        tags=["operations"],
        summary="What one error code means",
        responses=problem_responses(404),
    )
    def problem_type(code: str) -> dict[str, Any]:
        found = problems.catalogue().get(code)
        if found is None:
            raise ApiProblem(404, "not_found", f"no problem type {code}")
        return found
