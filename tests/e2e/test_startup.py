"""Development shortcuts stay in development: a production start with any of them is
refused with a message naming the setting; a correctly configured one starts."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner

from creditline.adapters.verifier import SignedTokenVerifier
from creditline.config import Settings
from tests.e2e.test_cli import _free_port, _wait_until_up, invoke

EXE = [sys.executable, "-m", "creditline.entrypoints.cli"]
SECRET = "s" * 43


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITLINE_")}
    env["CREDITLINE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'prod.db'}"
    env.update(extra)
    subprocess.run([*EXE, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    return env


def _serve(env: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, "serve"], env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({}, "CREDITLINE_VERIFIER=local"),
        ({"CREDITLINE_VERIFIER": "signed"}, "CREDITLINE_VERIFIER_SECRET is not set"),
        (
            {"CREDITLINE_VERIFIER": "signed", "CREDITLINE_VERIFIER_SECRET": "short"},
            "CREDITLINE_VERIFIER_SECRET is only 5 characters long",
        ),
        (
            {
                "CREDITLINE_VERIFIER": "signed",
                "CREDITLINE_VERIFIER_SECRET": "creditline-local-verifier",
            },
            "the built-in development secret",
        ),
        ({"CREDITLINE_VERIFIER_SECRET": SECRET}, "CREDITLINE_VERIFIER=local"),
        (
            {
                "CREDITLINE_VERIFIER": "signed",
                "CREDITLINE_VERIFIER_SECRET": SECRET,
                "CREDITLINE_CLOCK": "movable",
            },
            "CREDITLINE_CLOCK=movable",
        ),
    ],
)
def test_production_refuses_development_shortcuts(
    tmp_path: Path, extra: dict[str, str], named: str
) -> None:
    done = _serve(_env(tmp_path, **extra))
    assert done.returncode == 2
    assert "refusing to start outside development mode" in done.stderr
    assert named in done.stderr


def test_production_refuses_a_database_with_the_demo_keys(tmp_path: Path) -> None:
    env = _env(tmp_path, CREDITLINE_MODE="development")
    subprocess.run([*EXE, "demo"], env=env, check=True, capture_output=True, timeout=60)
    production = {
        **env,
        "CREDITLINE_MODE": "production",
        "CREDITLINE_VERIFIER": "signed",
        "CREDITLINE_VERIFIER_SECRET": SECRET,
    }
    done = _serve(production)
    assert done.returncode == 2
    assert "the demo's published API keys" in done.stderr
    assert "creditline admin revoke-key" in done.stderr


def test_the_demo_and_challenge_codes_are_development_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("CREDITLINE_MODE", "production")
    runner = CliRunner()
    assert invoke(runner, "db", "upgrade")[0] == 0
    code, output = invoke(runner, "demo")
    assert code == 2
    assert "CREDITLINE_MODE=development" in output
    code, output = invoke(runner, "risk", "challenge-code", "chal_1")
    assert code == 2
    assert "only in development mode" in output


def test_a_bad_mode_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITLINE_MODE", "prod")
    code, output = invoke(CliRunner(), "verify")
    assert code == 2
    assert "CREDITLINE_MODE='prod': expected one of development, production" in output


def test_a_configured_production_server_starts(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(
        tmp_path,
        CREDITLINE_VERIFIER="signed",
        CREDITLINE_VERIFIER_SECRET=SECRET,
        CREDITLINE_PORT=str(port),
    )
    server = subprocess.Popen(
        [*EXE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "production mode" in output


def test_the_signed_verifier_takes_only_the_platforms_token() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.challenge import open_challenge  # noqa: PLC0415

    challenge = open_challenge(
        challenge_id="chal_1",
        decision_id="rdec_1",
        account_id="acct_1",
        merchant_id="mer_1",
        order_id="o",
        amount=Money(100),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    verifier = SignedTokenVerifier(SECRET)
    token = hmac.new(SECRET.encode(), b"chal_1", hashlib.sha256).hexdigest()
    assert verifier.check(challenge, token)
    assert verifier.check(challenge, token.upper())
    assert not verifier.check(challenge, SignedTokenVerifier("t" * 43).token_for("chal_1"))
    assert not verifier.check(challenge, verifier.token_for("chal_2"))
    assert (
        Settings(mode="production", verifier="signed", verifier_secret=SECRET).production_problems()
        == []
    )
