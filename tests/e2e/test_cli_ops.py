"""The order-lifecycle commands: set-platform, trusted merchants, reconcile, dead letters,
publish — each with its one-line refusals."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from creditline.adapters.clock import SystemClock
from creditline.adapters.features import SqlFeatureStore
from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.domain.order_events import OrderEvent, OrderEventType
from creditline.entrypoints.demo import MERCHANT_ID, PLATFORM_ID
from creditline.service.access import SYSTEM
from creditline.service.orders.events import Received, process_events
from creditline.service.risk.feature_store import FEATURE_RETENTION_S, Observation, Query
from tests.conftest import OrderServer
from tests.e2e.test_cli import invoke


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, str]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", url)
    monkeypatch.setenv("CREDITLINE_MODE", "development")
    runner = CliRunner()
    assert invoke(runner, "db", "upgrade")[0] == 0
    assert invoke(runner, "demo")[0] == 0
    return runner, url


def one_line_error(output: str, needle: str) -> None:
    assert needle in output, output
    assert len(output.strip().splitlines()) == 1, output


def test_set_platform_shows_a_new_secret_once_and_refuses_bad_urls(
    demo: tuple[CliRunner, str],
) -> None:
    runner, _ = demo
    code, output = invoke(
        runner, "admin", "set-platform", PLATFORM_ID, "--webhook-url", "https://shop.example/hook"
    )
    assert code == 0, output
    first = re.search(r"webhook secret (whsec_\S+)", output)
    assert first is not None, output
    code, output = invoke(
        runner, "admin", "set-platform", PLATFORM_ID, "--order-status-url", "http://o.example/s"
    )
    assert code == 0
    assert "whsec_" not in output  # unchanged secret is never shown again
    assert "https://shop.example/hook" in output
    code, output = invoke(runner, "admin", "set-platform", PLATFORM_ID, "--rotate-secret")
    second = re.search(r"webhook secret (whsec_\S+)", output)
    assert second is not None
    assert second.group(1) != first.group(1)

    code, output = invoke(runner, "admin", "set-platform", PLATFORM_ID, "--webhook-url", "ftp://x")
    assert code == 2
    one_line_error(output, "invalid_url")
    code, output = invoke(runner, "admin", "set-platform", "plat_nope", "--webhook-url", "")
    assert code == 2
    one_line_error(output, "platform_not_found")


def test_merchants_can_be_marked_trusted(demo: tuple[CliRunner, str]) -> None:
    runner, _ = demo
    code, output = invoke(runner, "admin", "set-merchant-trusted", MERCHANT_ID)
    assert (code, output.strip()) == (0, f"merchant {MERCHANT_ID} trusted")
    code, output = invoke(runner, "admin", "set-merchant-trusted", MERCHANT_ID, "--untrusted")
    assert (code, output.strip()) == (0, f"merchant {MERCHANT_ID} not trusted")
    code, output = invoke(runner, "admin", "set-merchant-trusted", "mer_nope")
    assert code == 2
    one_line_error(output, "merchant_not_found")


def test_reconcile_asks_the_order_system_and_corrects_holds(
    demo: tuple[CliRunner, str], order_server: OrderServer
) -> None:
    runner, _url = demo
    code, output = invoke(runner, "holds", "reconcile", "--older-than-s", "0")
    assert code == 0
    assert "2 on platforms without an order-status URL" in output
    invoke(runner, "admin", "set-platform", PLATFORM_ID, "--order-status-url", order_server.url)
    order_server.orders["order-1002"] = {"state": "cancelled"}
    code, output = invoke(runner, "holds", "reconcile", "--older-than-s", "0")
    assert code == 0, output
    assert "checked 2 holds: 1 corrected, 1 unchanged" in output
    assert "order-1002: order system says cancelled" in output
    code, output = invoke(runner, "holds", "reconcile", "--older-than-s", "0")
    assert "checked 1 holds: 0 corrected" in output
    assert invoke(runner, "verify")[0] == 0


def test_dead_letters_are_listed_and_replayed_with_a_reason(
    demo: tuple[CliRunner, str],
) -> None:
    runner, url = demo
    rt = bootstrap(Settings(database_url=url))
    try:
        now = SystemClock().now()
        early = OrderEvent(
            platform_id=PLATFORM_ID,
            event_id="e-early",
            type=OrderEventType.CANCELLED,
            order_id="order-7777",
            occurred_at=now,
            amount=None,
        )
        [result] = process_events(
            rt.uow_factory,
            lambda careful: rt.bus.context(SYSTEM, careful=careful),
            [Received(early, now, "test")],
        )
        assert result.status == "dead_lettered"
    finally:
        rt.close()
    code, output = invoke(runner, "events", "dead-letters", "--kind", "order_event")
    assert code == 0
    assert "1 open dead letters" in output
    letter_id = re.search(r"(dlq_\w+)", output)
    assert letter_id is not None, output
    code, output = invoke(runner, "events", "replay", letter_id.group(1), "--reason", " ")
    assert code == 2
    one_line_error(output, "needs a --reason")
    code, output = invoke(runner, "events", "replay", letter_id.group(1), "--reason", "retry")
    assert code == 1
    assert "still dead-lettered" in output
    code, output = invoke(runner, "events", "replay", "dlq_nope", "--reason", "x")
    assert code == 2
    one_line_error(output, "no open order-event dead letter dlq_nope")
    code, output = invoke(runner, "events", "dead-letters", "--kind", "carrier-pigeon")
    assert code == 2


def test_publish_refuses_a_bad_line_before_sending_anything(
    demo: tuple[CliRunner, str], tmp_path: Path
) -> None:
    runner, _ = demo
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event_id":"e1","type":"cancelled","order_id":"o","occurred_at":"2026-11-22T02:00:00Z"}\n'
        '{"event_id":"e2","type":"shipped","order_id":"o"}\n'
    )
    code, output = invoke(runner, "events", "publish", PLATFORM_ID, str(events))
    assert code == 2
    one_line_error(output, "events.jsonl:2: occurred_at: Field required")


@pytest.mark.broker
def test_publish_sends_events_to_the_platforms_subject(
    demo: tuple[CliRunner, str],
    tmp_path: Path,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from creditline.adapters import nats_events  # noqa: PLC0415

    runner, _ = demo
    topology = nats_events.Topology(f"cli{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("CREDITLINE_NATS_URL", nats_url)
    monkeypatch.setenv("CREDITLINE_NATS_NAMESPACE", topology.namespace)
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event_id":"e1","type":"cancelled","order_id":"order-1002",'
        '"occurred_at":"2026-11-22T02:00:00Z"}\n\n'
    )
    code, output = invoke(runner, "events", "publish", PLATFORM_ID, str(events))
    assert code == 0, output
    assert f"published 1 events to {topology.prefix}.{PLATFORM_ID}" in output

    async def stored() -> int:
        client, js = await nats_events.connect(nats_url, topology)
        try:
            info = await js.stream_info(topology.stream)
            await nats_events.delete_stream(js, topology)
            return int(info.state.messages)
        finally:
            await nats_events.close(client)

    assert asyncio.run(stored()) == 1


def test_risk_policy_validates_a_file_in_one_line(tmp_path: Path) -> None:
    from creditline.adapters.risk_policy import default_policy_text  # noqa: PLC0415

    runner = CliRunner()
    code, output = invoke(runner, "risk", "policy")
    assert code == 0, output
    assert "policy default ok · version" in output
    assert "¥5,000.00" in output  # the standard tier's per-payment limit
    bad = tmp_path / "policy.toml"
    bad.write_text(default_policy_text().replace("window_s = 60", "window_s = -1"))
    code, output = invoke(runner, "risk", "policy", str(bad))
    assert code == 2
    one_line_error(output, "velocity.window_s: expected an integer ≥ 1, got -1")


def test_simulate_then_backtest_two_policies(tmp_path: Path) -> None:
    from creditline.adapters.risk_policy import default_policy_text  # noqa: PLC0415

    runner = CliRunner()
    traffic = tmp_path / "traffic.jsonl"
    code, output = invoke(
        runner, "simulate", "--out", str(traffic), "--users", "200", "--days", "10"
    )
    assert code == 0, output
    assert re.search(r"wrote [\d,]+ payments \([\d,]+ fraud\)", output), output
    looser = tmp_path / "looser.toml"
    looser.write_text(default_policy_text().replace("rules = []", 'rules = ["burst"]'))
    code, output = invoke(runner, "risk", "backtest", str(traffic), "--compare", str(looser))
    assert code == 0, output
    stopped = next(line for line in output.splitlines() if line.startswith("fraud stopped"))
    first, second, change = re.findall(r"[-+]?\d+\.\d\d", stopped)
    assert float(first) > float(second)  # the burst rule stops fraud the looser one lets by
    assert float(change) < 0
    assert "velocity_sustained precision" in output  # a script that keeps going
    latency = re.search(r"pipeline only \(\w+\): p50 (\d+) µs, p99 (\d+) µs", output)
    assert latency is not None, output
    assert 0 < int(latency.group(1)) <= int(latency.group(2))
    code, output = invoke(runner, "risk", "backtest", str(looser))
    assert code == 2
    one_line_error(output, "not a traffic file")


def test_explain_answers_from_the_command_line_and_writes_nothing(
    demo: tuple[CliRunner, str],
) -> None:
    runner, _url = demo
    args = ["explain", "acct_demoalice", "--merchant", MERCHANT_ID, "--lang", "en"]
    code, output = invoke(runner, *args, "--amount", "6200.00", "--device", "d1")
    assert code == 0, output
    assert "¥6,200.00 from acct_demoalice: would NOT pass · action decline" in output
    assert "decline per_transaction_limit: The per-payment limit is ¥5,000.00" in output
    code, output = invoke(runner, *args, "--amount", "12.50")
    assert code == 0, output
    assert "would pass · action approve" in output
    code, output = invoke(runner, "risk", "decisions", "acct_demoalice")
    assert code == 0, output
    assert "decline" not in output  # the dry runs wrote nothing
    one_line_error(invoke(runner, *args, "--amount", "lots")[1], "is not an amount in yuan")
    one_line_error(invoke(runner, *args, "--amount", "1", "--lat", "31")[1], "--lat and --lon")
    one_line_error(
        invoke(runner, "explain", "acct_nobody", "--merchant", MERCHANT_ID, "--amount", "1")[1],
        "account_not_found",
    )


def test_risk_prune_forgets_observations_past_the_retention(
    demo: tuple[CliRunner, str],
) -> None:
    runner, url = demo
    engine = create_engine(url)
    store = SqlFeatureStore(engine)
    now = SystemClock().now()
    old = now - timedelta(seconds=FEATURE_RETENTION_S + 60)
    store.record([("acct:x:attempt", Observation(old)), ("acct:x:attempt", Observation(now))])
    code, output = invoke(runner, "risk", "prune")
    assert code == 0, output
    assert "pruned 1 observations older than 40 days" in output
    assert store.read([Query("acct:x:attempt")]) == [[Observation(now)]]
    engine.dispose()


def test_challenge_code_is_the_local_verifiers(demo: tuple[CliRunner, str]) -> None:
    from creditline.adapters.verifier import LocalVerifier  # noqa: PLC0415

    code, output = invoke(demo[0], "risk", "challenge-code", "chal_0123")
    assert code == 0, output
    secret = Settings(mode="development").effective_verifier_secret
    assert output.strip() == LocalVerifier(secret).token_for("chal_0123")
    assert re.fullmatch(r"\d{6}", output.strip())
