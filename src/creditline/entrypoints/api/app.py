"""The FastAPI application: routers, problem+json errors, metrics, health, the sweeper.

`create_app(runtime)` builds the app around an already-wired runtime, so tests and the
benchmark run exactly what `creditline serve` runs.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from creditline import __version__
from creditline.adapters.db.migrate import current_revision
from creditline.adapters.webhook_http import HttpWebhookSender
from creditline.bootstrap import Runtime
from creditline.entrypoints.api import problems
from creditline.entrypoints.api.deps import Authenticator
from creditline.entrypoints.api.observe import ObserveMiddleware
from creditline.entrypoints.api.problems import ApiProblem
from creditline.entrypoints.api.routes import accounts, events, holds, risk
from creditline.entrypoints.background import (
    PeriodicThread,
    deliver_until_done,
    prune_observations,
    sweep_until_done,
)

DESCRIPTION = """
creditline is a consumer credit-line payment engine: credit accounts, two-phase holds
(authorize → capture / release / expire) and a double-entry journal.

* Authenticate with `Authorization: Bearer <API key>`.
* Every POST needs an `Idempotency-Key` header; a retry with the same key and body gets
  the first answer back (header `Idempotent-Replayed: true`), another body gets 409.
* Amounts are integers of fen (100 = ¥1.00). Times are UTC.
* Errors are RFC 9457 `application/problem+json` with a stable `code`; see `/problems`.
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

    app = FastAPI(
        title="creditline", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(runtime)
    problems.install(app)
    app.include_router(holds.router)
    app.include_router(accounts.router)
    app.include_router(events.router)
    app.include_router(risk.router)
    _add_service_routes(app, runtime)
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


def _add_service_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    def healthz() -> dict[str, Any]:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {
            "status": "ok",
            "version": __version__,
            "schema_revision": current_revision(runtime.engine),
        }

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems", tags=["operations"], summary="Every error code the API returns")
    def problem_catalogue() -> list[dict[str, Any]]:
        return list(problems.catalogue().values())

    @app.get("/problems/{code}", tags=["operations"], summary="What one error code means")
    def problem_type(code: str) -> dict[str, Any]:
        found = problems.catalogue().get(code)
        if found is None:
            raise ApiProblem(404, "not_found", f"no problem type {code}")
        return found
