"""The traffic simulator, the backtest and the sweep: deterministic, labelled, every
pattern present with its shape, figures per pattern, and the default policy meets its
targets on the default scenario (fraud stopped, false declines, and no legitimate burst
declined for velocity)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from creditline.adapters.risk_policy import default_policy_text, load_policy
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.policy import parse_policy
from creditline.domain.risk.rules import RULE_NAMES, VELOCITY_CODES
from creditline.risk_lab.backtest import VERIFY_S, MemoryFeatures, Result, backtest, decide
from creditline.risk_lab.report import report
from creditline.risk_lab.simulate import Scenario, from_jsonl, simulate, to_jsonl
from creditline.risk_lab.sweep import figures, sweep, sweep_report
from creditline.risk_lab.traffic import (
    FRAUD_PATTERNS,
    LEGIT_PATTERNS,
    PER_PAYMENT_BY_TIER,
    Payment,
)

OLD_POLICY = Path(__file__).resolve().parents[2] / "docs/risk-policy-before-baskets.toml"
SMALL = Scenario().scaled(seed=3, users=150, days=8)


@pytest.fixture(scope="module")
def small() -> list[Payment]:
    return simulate(SMALL)


@pytest.fixture(scope="module")
def default_result() -> Result:
    return backtest(load_policy(), simulate(Scenario()))


def at(p: Payment) -> datetime:
    return datetime.fromisoformat(p.at)


def by_account(traffic: list[Payment], pattern: str) -> dict[str, list[Payment]]:
    found: dict[str, list[Payment]] = defaultdict(list)
    for p in traffic:
        if p.pattern == pattern:
            found[p.account].append(p)
    return found


def test_the_same_seed_gives_the_same_traffic(small: list[Payment]) -> None:
    first, again = to_jsonl(small), to_jsonl(simulate(SMALL))
    assert first == again
    other = to_jsonl(simulate(Scenario().scaled(seed=4, users=150, days=8)))
    assert other != first
    traffic = from_jsonl(first)
    assert {p.pattern for p in traffic} == set(LEGIT_PATTERNS) | set(FRAUD_PATTERNS)
    assert {p.label for p in traffic if p.pattern in LEGIT_PATTERNS} == {"legit"}
    assert {p.label for p in traffic if p.pattern in FRAUD_PATTERNS} == {"fraud"}
    assert [p.at for p in traffic] == sorted(p.at for p in traffic)
    assert all(p.at.endswith("+00:00") for p in traffic)  # one time zone: the text sorts


def test_a_file_written_before_merchants_still_reads() -> None:
    [first] = simulate(Scenario().scaled(seed=1, users=10, days=3))[:1]
    older = {k: v for k, v in json.loads(to_jsonl([first])).items() if k != "merchant"}
    [read] = from_jsonl(json.dumps(older) + "\n")
    assert read.merchant == "mer_sim"
    assert read.account == first.account


def test_baskets_are_several_orders_within_seconds_from_one_place(small: list[Payment]) -> None:
    """A basket: 2–8 orders within a few seconds, one device, network and city, at
    different shops; many of them on Singles' Day (11 November in Shanghai)."""
    carts = 0
    for orders in by_account(small, "basket").values():
        runs: list[list[Payment]] = [[orders[0]]]
        for p in orders[1:]:
            if at(p) - at(runs[-1][-1]) <= timedelta(seconds=2):
                runs[-1].append(p)
            else:
                runs.append([p])
        for run in runs:
            carts += 1
            assert 2 <= len(run) <= 8
            assert at(run[-1]) - at(run[0]) <= timedelta(seconds=14)
            assert len({(p.device, p.ip, p.city) for p in run}) == 1
            assert len({p.merchant for p in run}) > 1
    festival = [
        p for p in small if p.pattern == "basket" and "2026-11-10T16" <= p.at < "2026-11-11T16"
    ]
    assert carts > 50
    assert len(festival) > len([p for p in small if p.pattern == "basket"]) / 2


def test_households_share_a_home_network_and_some_a_device(small: list[Payment]) -> None:
    homes: dict[str, set[str]] = defaultdict(set)
    devices: dict[str, set[str]] = defaultdict(set)
    for p in small:
        if p.pattern == "household":
            homes[p.ip].add(p.account)
            devices[p.device].add(p.account)
    assert homes
    assert max(len(accounts) for accounts in homes.values()) >= 2
    assert any(len(accounts) >= 2 for accounts in devices.values())  # a family tablet
    everyday = {p.ip for p in small if p.pattern == "none" and p.ip in homes}
    assert everyday  # their everyday shopping comes from home too


def test_a_new_phone_is_a_new_device_at_home(small: list[Payment]) -> None:
    before = defaultdict(set)
    for p in small:
        if p.pattern == "none":
            before[p.account].add((p.device, p.ip))
    phones = by_account(small, "new_phone")
    assert phones
    for account, payments in phones.items():
        for p in payments:
            assert p.device.endswith("-new")
            assert p.ip in {ip for _, ip in before[account]} or not before[account]
            assert p.device not in {device for device, _ in before[account]}


def test_a_split_order_follows_the_per_payment_refusal_within_seconds(
    small: list[Payment],
) -> None:
    parts = by_account(small, "split_order")
    firsts = by_account(small, "over_limit")
    assert firsts
    assert set(parts) == set(firsts)
    for account, [first] in firsts.items():
        limit = PER_PAYMENT_BY_TIER[first.tier]
        assert first.amount > limit
        assert 2 <= len(parts[account]) <= 3
        assert all(p.amount <= limit and p.merchant == first.merchant for p in parts[account])
        assert at(parts[account][-1]) - at(first) <= timedelta(seconds=60)


def test_the_simulators_per_payment_limits_are_the_packaged_policys() -> None:
    policy = load_policy()
    assert {t: limits.per_transaction_max.fen for t, limits in policy.tiers.items()} == (
        PER_PAYMENT_BY_TIER
    )


def test_scaled_scenarios_keep_the_mix() -> None:
    bigger = Scenario().scaled(seed=1, users=3_000, days=10)
    assert (bigger.users, bigger.velocity_scripts, bigger.card_testing_runs) == (3_000, 40, 10)
    assert bigger.festival_basket_share == Scenario().festival_basket_share
    tiny = Scenario().scaled(seed=1, users=10, days=3)
    assert (tiny.cash_out_users, tiny.takeovers) == (1, 1)


def test_the_default_policy_meets_its_targets_on_the_default_scenario(
    default_result: Result,
) -> None:
    result = default_result
    assert result.fraud > 1_000
    assert result.legit > 40_000
    # Regression guards a little below today's figures (90.4% and 95.0% on this scenario;
    # 89.1–92.9% and 94.2–98.1% across `creditline risk sweep`'s ten runs, docs/RISK.md).
    assert result.recall >= 0.89, result.recall
    assert result.money_recall >= 0.94, result.money_recall
    assert result.false_decline_rate <= 0.01, result.false_decline_rate
    for name, score in result.by_pattern.items():
        if score.label == "fraud":
            assert score.stopped_rate >= 0.7, (name, score)
        else:  # no legitimate payment is declined for velocity; few are challenged for it
            assert not VELOCITY_CODES & set(score.declined_by), (name, score.declined_by)
            velocity = sum(n for code, n in score.challenged_by.items() if code in VELOCITY_CODES)
            assert velocity <= max(3, score.payments / 200), (name, score.challenged_by)
    for name in ("none", "basket", "household", "new_phone"):
        assert result.by_pattern[name].declined_rate <= 0.005, (name, result.by_pattern[name])
    # Split orders meet the day and month amount limits (big purchases) and the amount
    # anomaly rule (far above the user's usual): those refusals are not velocity's.
    assert result.by_pattern["split_order"].declined_rate <= 0.1
    assert result.by_pattern["over_limit"].declined_by["per_transaction_limit"] == (
        result.by_pattern["over_limit"].payments
    )


def test_the_old_policy_refused_baskets_and_the_new_one_does_not(small: list[Payment]) -> None:
    old = backtest(parse_policy(OLD_POLICY.read_text(encoding="utf-8"), RULE_NAMES), small)
    new = backtest(load_policy(), small)
    for name in ("basket", "household", "split_order"):
        assert old.by_pattern[name].declined_rate > 0.1, name
        assert new.by_pattern[name].declined_rate < 0.02, name
        assert old.by_pattern[name].declined_by["velocity_account"] > 0
        assert not VELOCITY_CODES & set(new.by_pattern[name].declined_by)
    lines = report([old, new])
    assert any(line.startswith("  basket (") and "declined" in line for line in lines)
    assert any(line.startswith("  card_testing (") and "money stopped" in line for line in lines)
    assert any("what refused legitimate payments" in line for line in lines)


def test_switching_a_rule_to_shadow_shows_in_the_comparison() -> None:
    traffic = simulate(Scenario().scaled(seed=5, users=300, days=10))
    strict = load_policy()
    shadowed = parse_policy(
        default_policy_text().replace("rules = []", 'rules = ["velocity", "burst"]'), RULE_NAMES
    )
    a, b = backtest(strict, traffic), backtest(shadowed, traffic)
    assert b.by_pattern["velocity"].stopped < a.by_pattern["velocity"].stopped
    assert b.by_pattern["card_testing"].stopped < a.by_pattern["card_testing"].stopped
    assert b.recall < a.recall
    lines = report([a, b])
    assert strict.version in lines[0]
    assert shadowed.version in lines[0]
    assert any(
        line.startswith("fraud stopped (decline or challenge)") and " pt" in line for line in lines
    )
    # Shadow hits are not enforced, so they are not counted as rule hits either.
    assert "velocity_account" not in b.by_rule


def payment(seconds: float, label: str = "legit") -> Payment:
    """One account's payment, `seconds` after a fixed start."""
    start = datetime.fromisoformat("2026-11-20T02:00:00+00:00")
    return Payment(
        at=(start + timedelta(seconds=seconds)).isoformat(),
        account="acct_a",
        tier="standard",
        real_name=True,
        opened_at="2025-01-01T00:00:00+00:00",
        limit=1_000_000,
        amount=10_000,
        merchant_category="books",
        items=["books"],
        device="dev-a",
        ip="10.0.0.1",
        lat=31.2304,
        lon=121.4737,
        city="Shanghai",
        label=label,
        pattern="none" if label == "legit" else "velocity",
    )


def test_the_replay_keeps_features_as_authorization_does() -> None:
    """A legitimate challenge passes (the owner verifies) and its verified retry is an
    attempt of its own, VERIFY_S later; a fraudulent one is stopped and counts neither as
    a purchase nor as a decline (the stores record declines only)."""
    policy = load_policy()
    state = MemoryFeatures(policy.velocity_window_s, policy.burst_window_s)
    for _ in range(8):
        assert decide(policy, state, payment(0)).action is RiskAction.APPROVE
    ninth = decide(policy, state, payment(1))
    assert ninth.action is RiskAction.CHALLENGE
    assert len(state.purchases["acct_a"]) == 9  # verified and placed
    now = datetime.fromisoformat(payment(2).at)
    assert state.features(payment(2), now).account_attempts == 9  # the retry is to come
    later = now + timedelta(seconds=VERIFY_S)
    assert state.features(payment(2), later).account_attempts == 10
    fraud = MemoryFeatures(policy.velocity_window_s, policy.burst_window_s)
    for _ in range(9):
        decide(policy, fraud, payment(0, label="fraud"))
    assert len(fraud.purchases["acct_a"]) == 8
    assert fraud.declines["acct_a"] == 0


def test_the_sweep_summarises_every_figure_across_seeds_and_sizes() -> None:
    old = parse_policy(OLD_POLICY.read_text(encoding="utf-8"), RULE_NAMES)
    found = sweep([old, load_policy()], seeds=[1, 2], users=[60, 120], days=8)
    assert found.runs == [(60, 1), (60, 2), (120, 1), (120, 2)]
    assert found.versions == [old.version, load_policy().version]
    for name in ("fraud stopped (decline or challenge)", "basket declined", "velocity stopped"):
        for policy in (0, 1):
            spread = found.spread(policy, name)
            assert spread is not None, name
            assert spread.low <= spread.mean <= spread.high
    basket = found.spread(0, "basket declined"), found.spread(1, "basket declined")
    assert basket[0] is not None
    assert basket[1] is not None
    assert basket[0].low > basket[1].high  # the old policy declines baskets in every run
    lines = sweep_report(found)
    assert lines[0].startswith("4 runs: seeds 1, 2 × users 60, 120")
    assert any(line.startswith("  none declined") for line in lines)
    assert any(line.startswith("  split_order challenged") for line in lines)
    assert old.version in lines[2]
    one = figures(backtest(load_policy(), simulate(Scenario().scaled(seed=1, users=60, days=8))))
    assert list(one)[:2] == ["fraud stopped (decline or challenge)", "fraud money stopped"]


def test_the_command_line_sweeps_and_shows_the_velocity_settings(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from creditline.entrypoints.cli import app  # noqa: PLC0415

    runner = CliRunner()
    args = ["risk", "sweep", "--seeds", "1,2", "--users", "40", "--days", "8"]
    done = runner.invoke(app, [*args, "--compare", str(OLD_POLICY), "--basket-gap-s", "1.0"])
    assert done.exit_code == 0, done.output
    assert "2 runs: seeds 1, 2 × users 40;" in done.output
    assert "basket challenged for velocity" in done.output
    assert "f93257cfa557c515" in done.output
    bad = runner.invoke(app, ["risk", "sweep", "--seeds", "1,x"])
    assert bad.exit_code == 2
    assert "--seeds '1,x': expected whole numbers" in bad.output
    shown = runner.invoke(app, ["risk", "policy"])
    assert "declined past 20 attempts in 60 s per account, 20 per device, 30 per IP" in (
        shown.output
    )
    assert "verified past 3 attempts in 60 s on a device new to the account" in shown.output
    old = runner.invoke(app, ["risk", "policy", str(OLD_POLICY)])
    assert "verified past 1 attempts within 10 s" in old.output
    assert "new to the account" not in old.output
