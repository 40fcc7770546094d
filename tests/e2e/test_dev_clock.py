"""The development clock: moved forward by an operator (API or CLI), seen by every part
of the engine on the database, and absent outside development mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from creditline.adapters.db.dev_clock import MovableClock
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.entrypoints.api.app import create_app
from tests.conftest import make_world
from tests.e2e.conftest import Api, open_account, problem


@pytest.fixture
def dev_runtime(database_url: str) -> Iterator[Runtime]:
    rt = bootstrap(
        Settings(
            database_url=database_url,
            mode="development",
            clock="movable",
            sweep_interval_s=0,
            risk_policy="observe",
        )
    )
    yield rt
    rt.close()


@pytest.fixture
def dev_api(dev_runtime: Runtime) -> Iterator[Api]:
    world = make_world(dev_runtime)
    with TestClient(create_app(dev_runtime, background=False)) as client:
        yield Api(client, dict(world.keys))


def test_an_operator_moves_the_clock_and_holds_expire_by_it(
    dev_api: Api, dev_runtime: Runtime
) -> None:
    assert isinstance(dev_runtime.clock, MovableClock)
    before = dev_api.get("operator", "/v1/clock").json()
    assert before["ahead_s"] == 0
    account = open_account(dev_api)
    hold = dev_api.post(
        "merchant",
        "/v1/holds",
        {"account_id": account, "order_id": "o", "amount": 100, "ttl_s": 3600},
    ).json()
    moved = dev_api.client.post(
        "/v1/clock", json={"advance_s": 7_200}, headers=dev_api.headers("operator")
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["ahead_s"] >= 7_200
    assert dev_api.get("merchant", f"/v1/holds/{hold['id']}").json()["status"] == "expired"
    now = datetime.fromisoformat(moved.json()["now"])
    back = dev_api.client.post(
        "/v1/clock",
        json={"to": (now - timedelta(days=1)).isoformat()},
        headers=dev_api.headers("operator"),
    )
    problem(back, 422, "clock_move_invalid")
    for who in ("merchant", "platform"):
        problem(
            dev_api.client.post("/v1/clock", json={"advance_s": 1}, headers=dev_api.headers(who)),
            403,
            "forbidden",
        )
    problem(
        dev_api.client.post("/v1/clock", json={}, headers=dev_api.headers("operator")),
        422,
        "validation_error",
    )


def test_a_move_from_another_process_is_seen_within_a_tenth_of_a_second(
    dev_runtime: Runtime, database_url: str
) -> None:
    clock = dev_runtime.clock
    assert isinstance(clock, MovableClock)
    start = clock.now()
    env = {
        **os.environ,
        "CREDITLINE_DATABASE_URL": database_url,
        "CREDITLINE_MODE": "development",
        "CREDITLINE_CLOCK": "movable",
    }
    done = subprocess.run(
        [sys.executable, "-m", "creditline.entrypoints.cli", "clock", "advance", "--days", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "30 days" in done.stdout
    time.sleep(0.15)
    assert clock.now() - start >= timedelta(days=30)


def test_outside_development_mode_there_is_no_clock_to_move(api: Api) -> None:
    problem(api.get("operator", "/v1/clock"), 404, "not_found")
    problem(
        api.client.post("/v1/clock", json={"advance_s": 1}, headers=api.headers("operator")),
        404,
        "not_found",
    )
    assert Settings(clock="movable").production_problems()[0].startswith("CREDITLINE_CLOCK=movable")
    assert Settings(mode="development", clock="movable").production_problems() == []
