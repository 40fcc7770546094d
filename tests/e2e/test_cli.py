"""The command line end to end: set-up, demo, verify, sweep, admin, and its error lines."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from creditline.entrypoints.cli import app
from creditline.entrypoints.demo import CONSUMER_KEY, MERCHANT_KEY, PLATFORM_KEY


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", url)
    monkeypatch.setenv("CREDITLINE_MODE", "development")
    return CliRunner(), url


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_every_command_explains_itself() -> None:
    runner = CliRunner()
    code, output = invoke(runner, "--help")
    assert code == 0
    for command in ("serve", "db", "demo", "verify", "holds", "bench", "admin", "worker", "events"):
        assert command in output
    for args in (
        ["serve"],
        ["db", "upgrade"],
        ["demo"],
        ["verify"],
        ["holds", "sweep"],
        ["bench"],
        ["admin", "create-key"],
        ["admin", "set-platform"],
        ["holds", "reconcile"],
        ["worker", "events"],
        ["worker", "webhooks"],
        ["events", "replay"],
        ["bench", "release"],
        ["explain"],
        ["risk", "decisions"],
        ["risk", "challenge-code"],
    ):
        code, output = invoke(runner, *args, "--help")
        assert code == 0, args
        assert len(output.strip()) > 40, args


def test_an_unmigrated_database_is_refused_in_one_line(cli: tuple[CliRunner, str]) -> None:
    runner, _ = cli
    code, output = invoke(runner, "verify")
    assert code == 2
    assert "run `creditline db upgrade`" in output
    assert len(output.strip().splitlines()) <= 2


def test_a_bad_setting_is_refused_in_one_line(
    cli: tuple[CliRunner, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, _ = cli
    monkeypatch.setenv("CREDITLINE_PORT", "eighty")
    code, output = invoke(runner, "verify")
    assert code == 2
    assert "CREDITLINE_PORT='eighty' is not a valid int" in output


def test_upgrade_demo_verify_sweep_twice(cli: tuple[CliRunner, str]) -> None:
    runner, url = cli
    for _ in range(2):
        code, output = invoke(runner, "db", "upgrade")
        assert code == 0, output
        assert "revision 0010" in output
    code, output = invoke(runner, "demo")
    assert code == 0, output
    assert "demo data loaded" in output
    assert PLATFORM_KEY in output
    code, output = invoke(runner, "demo")
    assert code == 0
    assert "already present" in output
    code, output = invoke(runner, "holds", "sweep")
    assert code == 0
    assert re.search(r"released \d+ expired holds", output)
    code, output = invoke(runner, "verify")
    assert code == 0, output
    assert "ok" in output
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE credit_account SET used = used + 1 WHERE external_ref = 'bob'"))
    engine.dispose()
    code, output = invoke(runner, "verify")
    assert code == 1
    assert "used_mismatch" in output


def test_admin_creates_working_keys_and_revokes_them(cli: tuple[CliRunner, str]) -> None:
    runner, _ = cli
    invoke(runner, "db", "upgrade")
    code, output = invoke(runner, "admin", "create-platform", "Acme")
    assert code == 0, output
    platform_id = re.search(r"platform (plat_\w+)", output)
    assert platform_id is not None
    code, output = invoke(
        runner,
        "admin",
        "create-merchant",
        platform_id.group(1),
        "Acme Books",
        "--hold-ttl-s",
        "86400",
    )
    assert code == 0, output
    assert re.search(r"merchant key clk_", output)
    code, output = invoke(
        runner, "admin", "create-merchant", platform_id.group(1), "Bad", "--hold-ttl-s", "5"
    )
    assert code == 2
    assert "invalid_hold_ttl" in output
    code, output = invoke(runner, "admin", "create-key", "operator", "ops")
    assert code == 0
    key_id = re.search(r"id (key_\w+)", output)
    assert key_id is not None
    assert invoke(runner, "admin", "revoke-key", key_id.group(1))[0] == 0
    code, output = invoke(runner, "admin", "revoke-key", key_id.group(1))
    assert code == 2
    assert "no active API key" in output
    code, output = invoke(runner, "admin", "create-key", "platform", "x")
    assert code == 2
    assert "--platform-id" in output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_make_run_commands_serve_the_demo(tmp_path: Path) -> None:
    """What `make run` does: upgrade, demo, serve — then the README's tour works."""
    port = _free_port()
    env = {
        **os.environ,
        "CREDITLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "CREDITLINE_PORT": str(port),
        "CREDITLINE_SWEEP_INTERVAL_S": "1",
        "CREDITLINE_MODE": "development",  # as `make run` sets it
    }
    exe = [sys.executable, "-m", "creditline.entrypoints.cli"]
    for step in (["db", "upgrade"], ["demo"]):
        subprocess.run([*exe, *step], env=env, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen(
        [*exe, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base)
        platform = {"Authorization": f"Bearer {PLATFORM_KEY}"}
        accounts = httpx.get(f"{base}/v1/accounts", headers=platform).json()["items"]
        alice = next(a for a in accounts if a["external_ref"] == "alice")
        hold = httpx.post(
            f"{base}/v1/holds",
            json={"account_id": alice["id"], "order_id": "tour", "amount": 9_900},
            headers={"Authorization": f"Bearer {MERCHANT_KEY}", "Idempotency-Key": "tour-1"},
        )
        assert hold.status_code == 201, hold.text
        mine = httpx.get(
            f"{base}/v1/accounts/{alice['id']}/holds",
            headers={"Authorization": f"Bearer {CONSUMER_KEY}"},
        ).json()["items"]
        assert {h["status"] for h in mine} >= {"pending", "released"}
        merchant = {"Authorization": f"Bearer {MERCHANT_KEY}", "Accept-Language": "en"}
        big = {"account_id": alice["id"], "order_id": "tour-big", "amount": 620_000}
        refused = httpx.post(
            f"{base}/v1/holds", json=big, headers={**merchant, "Idempotency-Key": "tour-5"}
        )
        assert refused.status_code == 402, refused.text
        assert refused.json()["message"] == (
            "The per-payment limit is ¥5,000.00; this payment is ¥6,200.00."
        )
        dry = httpx.post(
            f"{base}/v1/accounts/{alice['id']}/explain",
            json={"amount": 620_000},
            headers=merchant,
        )
        assert (dry.json()["would_pass"], dry.json()["action"]) == (False, "decline")
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/docs" in output


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up within 30 s")


def test_an_argument_no_database_can_store_is_refused_in_one_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: refused like the API's
    NUL, before anything is opened."""
    env = {**os.environ, "CREDITLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "creditline.entrypoints.cli",
            "admin",
            "create-platform",
            b"shop\xff",
        ],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"argument 3 contains a lone surrogate (U+DCFF)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never.db").exists()
