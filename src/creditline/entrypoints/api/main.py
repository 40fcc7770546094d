"""The app factory uvicorn imports in each server process (`creditline serve`)."""

from __future__ import annotations

from fastapi import FastAPI

from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.entrypoints import logs
from creditline.entrypoints.api.app import create_app


def app_factory() -> FastAPI:
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    return create_app(bootstrap(settings))
