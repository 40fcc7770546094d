"""The app factory uvicorn imports in each server process (`creditline serve`); it checks
again what `serve` checked, so a server started by hand is held to the same rules."""

from __future__ import annotations

from fastapi import FastAPI

from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.entrypoints import logs
from creditline.entrypoints.api.app import create_app
from creditline.entrypoints.startup import refusal, startup_problems


def app_factory() -> FastAPI:
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    runtime = bootstrap(settings)
    problems = startup_problems(runtime)
    if problems:
        runtime.close()
        raise SystemExit(refusal(problems))
    return create_app(runtime)
