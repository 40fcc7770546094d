"""The HTTP API's test client and problem checks, shared by the end-to-end tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import World


class Api:
    """A tiny client: one key per call, a fresh Idempotency-Key unless one is given."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys
        self.counter = 0

    def headers(self, who: str | None, key: str | None = None) -> dict[str, str]:
        headers = {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def post(self, who: str, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        self.counter += 1
        return self.client.post(
            path, json=body, headers=self.headers(who, key or f"k{self.counter}")
        )

    def get(self, who: str | None, path: str) -> Any:
        return self.client.get(path, headers=self.headers(who))


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    from creditline.entrypoints.api.app import create_app  # noqa: PLC0415

    with TestClient(create_app(world.runtime, background=False)) as client:
        yield Api(client, dict(world.keys))


@pytest.fixture
def live_url(world: World) -> Iterator[str]:
    """The real app under uvicorn on a free local port, for raw-socket tests."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    from creditline.entrypoints.api.app import create_app  # noqa: PLC0415

    config = uvicorn.Config(create_app(world.runtime, background=False), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def open_account(api: Api, limit: int = 100_000) -> str:
    api.counter += 1
    response = api.post(
        "platform", "/v1/accounts", {"external_ref": f"user-{api.counter}", "credit_limit": limit}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"/problems/{code}"
    assert body["detail"]
    return body
