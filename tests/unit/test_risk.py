"""Risk rules, policy validation, the pipeline and explanations (pure, no database)."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from creditline.adapters.risk_policy import PolicySource, default_policy_text, load_policy
from creditline.domain.account import AccountStatus
from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction, RuleHit
from creditline.domain.risk.explain import CATALOGUE, LANGUAGES, choose_language, explain
from creditline.domain.risk.inputs import AccountFacts, Features, Location, PaymentRequest, Seen
from creditline.domain.risk.pipeline import evaluate
from creditline.domain.risk.policy import PolicyError, parse_policy
from creditline.domain.risk.rules import RULE_NAMES, RULES, RiskContext, distance_km
from tests.conftest import START

POLICY = load_policy()
SHANGHAI = Location(31.2304, 121.4737, "Shanghai")
BEIJING = Location(39.9042, 116.4074, "Beijing")


def ctx(
    amount: int = 10_000,
    *,
    request: dict[str, object] | None = None,
    account: dict[str, object] | None = None,
    features: Features | None = None,
    policy_text: str | None = None,
) -> RiskContext:
    base_request = PaymentRequest(
        amount=Money(amount), merchant_id="mer_one", at=START, device_id="dev-1", ip="10.0.0.1"
    )
    base_account = AccountFacts(
        status=AccountStatus.ACTIVE,
        tier="standard",
        real_name_verified=True,
        opened_at=START - timedelta(days=365),
        credit_limit=Money(1_000_000),
        used=Money(0),
        locked=Money(0),
    )
    policy = POLICY if policy_text is None else parse_policy(policy_text, RULE_NAMES)
    return RiskContext(
        replace(base_request, **(request or {})),  # type: ignore[arg-type]
        replace(base_account, **(account or {})),  # type: ignore[arg-type]
        features or Features(),
        policy,
    )


def codes(context: RiskContext) -> list[str]:
    return [hit.code for hit in evaluate(context).hits]


def test_an_ordinary_payment_passes_every_rule() -> None:
    decision = evaluate(ctx())
    assert (decision.action, decision.hits) == (RiskAction.APPROVE, ())
    assert decision.policy_version == POLICY.version


@pytest.mark.parametrize(
    ("context", "code", "action"),
    [
        (ctx(account={"real_name_verified": False}), "real_name_required", RiskAction.DECLINE),
        (ctx(account={"status": AccountStatus.FROZEN}), "account_frozen", RiskAction.DECLINE),
        (ctx(account={"status": AccountStatus.CLOSED}), "account_closed", RiskAction.DECLINE),
        (ctx(620_000), "per_transaction_limit", RiskAction.DECLINE),
        (
            ctx(100_000, features=Features(day_amount=Money(950_000))),
            "daily_amount_limit",
            RiskAction.DECLINE,
        ),
        (ctx(features=Features(day_count=30)), "daily_count_limit", RiskAction.DECLINE),
        (
            ctx(features=Features(month_amount=Money(2_995_000))),
            "monthly_amount_limit",
            RiskAction.DECLINE,
        ),
        (ctx(features=Features(month_count=200)), "monthly_count_limit", RiskAction.DECLINE),
        (ctx(features=Features(account_attempts=20)), "velocity_account", RiskAction.DECLINE),
        (ctx(features=Features(device_attempts=20)), "velocity_device", RiskAction.DECLINE),
        (ctx(features=Features(ip_attempts=30)), "velocity_ip", RiskAction.DECLINE),
        (
            ctx(features=Features(account_attempts=4, account_burst_attempts=1)),
            "velocity_sustained",
            RiskAction.CHALLENGE,
        ),
        (
            ctx(features=Features(device_attempts=3, known_devices=frozenset({"dev-0"}))),
            "velocity_new_device",
            RiskAction.CHALLENGE,
        ),
        (
            ctx(
                request={"location": SHANGHAI},
                features=Features(last_seen=Seen(START - timedelta(minutes=30), BEIJING)),
            ),
            "impossible_travel",
            RiskAction.CHALLENGE,
        ),
        (ctx(features=Features(known_devices=frozenset({"dev-0"}))), "new_device", RiskAction.FLAG),
        (
            ctx(
                request={"location": SHANGHAI},
                features=Features(known_cities=frozenset({"Beijing"})),
            ),
            "new_city",
            RiskAction.FLAG,
        ),
        (
            ctx(
                90_000,
                features=Features(
                    recent_amounts=tuple(Money(f) for f in (5_000, 6_000, 5_500, 7_000, 6_500))
                ),
            ),
            "amount_anomaly",
            RiskAction.CHALLENGE,
        ),
        (
            ctx(350_000, request={"item_categories": ("gift_card",)}),
            "cash_out_goods",
            RiskAction.DECLINE,
        ),
        (ctx(features=Features(recent_declines=3)), "decline_run", RiskAction.CHALLENGE),
        (
            ctx(
                30_000,
                request={"merchant_category": "top_up"},
                account={"opened_at": START - timedelta(days=3)},
            ),
            "new_account_restricted",
            RiskAction.DECLINE,
        ),
        (
            ctx(features=Features(account_attempts=8, account_burst_attempts=8)),
            "velocity_burst",
            RiskAction.CHALLENGE,
        ),
    ],
)
def test_each_rule_fires_with_its_code_and_action(
    context: RiskContext, code: str, action: RiskAction
) -> None:
    hits = [hit for hit in evaluate(context).hits if hit.code == code]
    assert len(hits) == 1, codes(context)
    assert hits[0].action is action


def test_limits_are_inclusive_and_by_tier() -> None:
    assert codes(ctx(500_000)) == []  # exactly the standard per-payment limit
    assert codes(ctx(500_001)) == ["per_transaction_limit"]
    assert codes(ctx(150_000, account={"tier": "new"})) == ["per_transaction_limit"]
    assert codes(ctx(1_500_000, account={"tier": "premium"})) == []
    young: dict[str, object] = {"merchant_category": "gift_card"}
    opened: dict[str, object] = {"opened_at": START - timedelta(days=3)}
    assert codes(ctx(20_000, request=young, account=opened)) == []  # up to ¥200.00 allowed


def velocity_codes(**features: Any) -> list[str]:
    return [c for c in codes(ctx(features=Features(**features))) if c.startswith("velocity_")]


def test_a_cart_of_orders_passes_and_a_script_is_stopped() -> None:
    """One account's attempts (this one not counted in the features): a cart of up to 8
    orders within 10 s passes; a 9th asks to verify. Attempts that keep coming (some
    before the 10 s window) pass up to 4 a minute, then verify; past 20, declined."""
    assert velocity_codes(account_attempts=7, account_burst_attempts=7) == []
    assert velocity_codes(account_attempts=8, account_burst_attempts=8) == ["velocity_burst"]
    assert velocity_codes(account_attempts=3, account_burst_attempts=0) == []  # a split order
    assert velocity_codes(account_attempts=4, account_burst_attempts=2) == ["velocity_sustained"]
    assert velocity_codes(account_attempts=19) == ["velocity_sustained"]
    assert velocity_codes(account_attempts=20) == ["velocity_account", "velocity_sustained"]
    assert velocity_codes(account_attempts=20, account_burst_attempts=20) == [
        "velocity_account",
        "velocity_burst",
    ]


def test_a_busy_device_new_to_the_account_asks_to_verify() -> None:
    """Attempts on the device in the last minute (all accounts): a device the account has
    paid with may see 20 (a family tablet); one it never paid with, 3 (card testing: one
    device across many accounts), then verify; past 20, declined either way."""
    known = frozenset({"dev-1"})
    assert velocity_codes(device_attempts=19, known_devices=known) == []
    assert velocity_codes(device_attempts=20, known_devices=known) == ["velocity_device"]
    assert velocity_codes(device_attempts=2) == []
    assert velocity_codes(device_attempts=3) == ["velocity_new_device"]
    assert velocity_codes(device_attempts=3, known_devices=frozenset({"dev-0"})) == [
        "velocity_new_device"
    ]
    assert velocity_codes(device_attempts=20) == ["velocity_device"]  # declined, not also asked
    assert velocity_codes(ip_attempts=29) == []
    assert velocity_codes(ip_attempts=30) == ["velocity_ip"]
    assert codes(ctx(request={"device_id": None}, features=Features(device_attempts=99))) == []


def test_a_policy_without_the_finer_velocity_settings_keeps_its_behaviour() -> None:
    """`sustained_attempts_max` and `new_device_attempts_max` came later: a policy
    without them is valid, unchanged in version, and checks neither (the policy before
    them is kept in docs/ for backtests)."""
    old = Path(__file__).resolve().parents[2] / "docs/risk-policy-before-baskets.toml"
    policy = parse_policy(old.read_text(encoding="utf-8"), RULE_NAMES)
    assert policy.version == "f93257cfa557c515"
    assert (policy.sustained_attempts_max, policy.new_device_attempts_max) == (None, None)
    text = old.read_text(encoding="utf-8")
    spread = Features(account_attempts=2, account_burst_attempts=0, device_attempts=4)
    assert codes(ctx(features=spread, policy_text=text)) == []
    assert codes(ctx(features=Features(account_burst_attempts=1), policy_text=text)) == [
        "velocity_burst"
    ]


def test_the_strictest_enforced_action_wins_and_every_hit_is_kept() -> None:
    context = ctx(
        620_000,
        features=Features(recent_declines=3, known_devices=frozenset({"dev-0"})),
    )
    decision = evaluate(context)
    assert decision.action is RiskAction.DECLINE
    assert sorted(h.code for h in decision.hits) == [
        "decline_run",
        "new_device",
        "per_transaction_limit",
    ]
    assert [h.code for h in decision.deciding] == ["per_transaction_limit"]


def test_shadow_rules_are_evaluated_but_never_enforced() -> None:
    text = default_policy_text().replace("rules = []", 'rules = ["per_transaction_limit"]')
    decision = evaluate(ctx(620_000, policy_text=text))
    assert decision.action is RiskAction.APPROVE
    [hit] = decision.hits
    assert (hit.code, hit.shadow) == ("per_transaction_limit", True)
    assert decision.policy_version != POLICY.version


def test_the_policy_can_change_a_rules_action() -> None:
    text = default_policy_text().replace(
        "[actions]\n", '[actions]\nnew_device_or_city = "challenge"\n'
    )
    context = ctx(features=Features(known_devices=frozenset({"dev-0"})), policy_text=text)
    assert evaluate(context).action is RiskAction.CHALLENGE


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("per_transaction_max_fen = 500000", 'per_transaction_max_fen = "lots"'),
            "tiers.standard.per_transaction_max_fen: expected an integer",
        ),
        (
            ("[velocity]\n", "[velocity]\nwindow_minutes = 3\n"),
            "velocity.window_minutes: unknown key",
        ),
        (("speed_kmh_max = 900", ""), "travel.speed_kmh_max: missing"),
        (
            ("burst_attempts_max = 8", "burst_attempts_max = 0"),
            "velocity.burst_attempts_max: expected an integer ≥ 1",
        ),
        (
            ("sustained_attempts_max = 4", "sustained_attempts_max = 0"),
            "velocity.sustained_attempts_max: expected an integer ≥ 1",
        ),
        (
            ("sustained_attempts_max = 4", "sustained_attempts_max = 21"),
            "velocity.sustained_attempts_max: expected at most velocity.account_attempts_max (20)",
        ),
        (
            ("new_device_attempts_max = 3", "new_device_attempts_max = 25"),
            "velocity.new_device_attempts_max: expected at most velocity.device_attempts_max (20)",
        ),
        (
            ("burst_window_s = 10", "burst_window_s = 90"),
            "velocity.burst_window_s: expected at most velocity.window_s (60), got 90",
        ),
        (
            ("cash_out_share_max = 0.3", "cash_out_share_max = 1.5"),
            "tiers.standard.cash_out_share_max: expected a number between 0",
        ),
        (
            ("[actions]\n", '[actions]\nvelocity = "block"\n'),
            "actions.velocity: expected one of approve",
        ),
        (
            ("[actions]\n", '[actions]\nvelocty = "decline"\n'),
            "actions.velocty: no rule named 'velocty'",
        ),
        (("rules = []", 'rules = ["nope"]'), "shadow.rules: no rule named 'nope'"),
        (("[tiers.new]", "[tiers.new"), "not valid TOML"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_key(edit: tuple[str, str], message: str) -> None:
    text = default_policy_text()
    assert edit[0] in text
    with pytest.raises(PolicyError, match=re.escape(message)):
        parse_policy(text.replace(edit[0], edit[1], 1), RULE_NAMES)


def test_a_policy_file_is_reloaded_when_it_changes_and_a_bad_one_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text())
    source = PolicySource(path)
    first = source.current()
    assert source.current() is first  # unchanged file: not re-read
    path.write_text(default_policy_text().replace("run_max = 3", "run_max = 5"))
    second = source.current()
    assert (second.decline_run_max, second.version != first.version) == (5, True)
    path.write_text(default_policy_text().replace("run_max = 3", "run_max = 0"))
    assert source.current() is second  # refused: the policy in force stays
    assert source.last_error is not None
    assert "declines.run_max: expected an integer ≥ 1" in source.last_error
    with pytest.raises(PolicyError, match="No such file"):
        load_policy(tmp_path / "missing.toml")


def test_every_code_has_both_languages_with_formatted_numbers() -> None:
    fired: dict[str, RuleHit] = {}
    for context in (
        ctx(620_000),
        ctx(350_000, request={"item_categories": ("gift_card",)}),
        ctx(features=Features(recent_declines=4)),
    ):
        fired |= {hit.code: hit for hit in evaluate(context).hits}
    hit = fired["per_transaction_limit"]
    assert (
        explain(hit, "en").message
        == "The per-payment limit is ¥5,000.00; this payment is ¥6,200.00."
    )
    assert explain(hit, "zh-CN").message == "单笔支付限额为¥5,000.00，本次支付¥6,200.00。"
    assert "split the order" in explain(hit, "en").remedy
    assert explain(fired["cash_out_goods"], "en").message == (
        "Payments for gift cards are limited to ¥3,000.00; this payment is ¥3,500.00."
    )
    assert explain(fired["cash_out_goods"], "zh-CN").message == (
        "礼品卡类商品单笔限额¥3,000.00，本次支付¥3,500.00。"
    )
    for code, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), code
        for text in texts.values():
            assert text.message, code
            assert text.remedy, code


def test_every_code_a_rule_can_produce_is_in_the_catalogue() -> None:
    rules = Path(__file__).resolve().parents[2] / "src/creditline/domain/risk/rules.py"
    source = rules.read_text()
    produced = set(re.findall(r'_hit\(\s*ctx,\s*"[a-z_]+",\s*"([a-z_]+)"', source))
    produced |= set(re.findall(r'\(\s*"([a-z_]+)",\s*f\.', source))  # period and velocity
    produced |= {f"account_{s.value}" for s in AccountStatus if s is not AccountStatus.ACTIVE}
    assert {"per_transaction_limit", "daily_amount_limit", "velocity_ip"} <= produced
    assert produced <= set(CATALOGUE), sorted(produced - set(CATALOGUE))
    assert set(RULES) == RULE_NAMES


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr", "zh-CN"),
        ("en;q=0.5, zh;q=0.9", "zh-CN"),
        ("zh;q=0, en", "en"),
        ("en;q=bad, zh-TW", "zh-CN"),
        ("*", "zh-CN"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, language: str) -> None:
    assert choose_language(header) == language


def test_distance_between_shanghai_and_beijing() -> None:
    assert 1_060 < distance_km(SHANGHAI, BEIJING) < 1_075
    assert distance_km(SHANGHAI, SHANGHAI) == 0


def test_the_decision_logs_hand_written_json_equals_the_generic_one() -> None:
    """`decision_detail` spells the JSON out for speed; it must say what `plain` says."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from creditline.domain.account import AccountStatus  # noqa: PLC0415
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.decision import RiskAction, RiskDecision  # noqa: PLC0415
    from creditline.domain.risk.inputs import (  # noqa: PLC0415
        AccountFacts,
        Features,
        Location,
        PaymentRequest,
        Seen,
    )
    from creditline.service.risk.detail import decision_detail, hit_json  # noqa: PLC0415

    at = datetime(2026, 11, 22, 2, tzinfo=UTC)
    where = Location(31.2, 121.4, "Shanghai")
    request = PaymentRequest(
        Money(12_300), "mer_1", at, "shop", ("books", "gold"), "app", "d1", "10.0.0.1", where
    )
    account = AccountFacts(
        AccountStatus.ACTIVE, "new", False, at, Money(100_000), Money(5), Money(7)
    )
    features = Features(
        Money(1),
        2,
        Money(3),
        4,
        5,
        6,
        7,
        8,
        9,
        Seen(at, where),
        frozenset({"b", "a"}),
        frozenset({"Shanghai"}),
        (Money(10), Money(20)),
    )
    decision = RiskDecision(RiskAction.APPROVE, (), "v")
    assert decision_detail(request, account, features, decision) == {
        "request": plain(request),
        "account": plain(account),
        "features": plain(features),
        "hits": [hit_json(h) for h in decision.hits],
    }


def test_a_failed_write_after_commit_is_logged_not_raised() -> None:
    """The payment is committed and its answer stored: a Redis write failing afterwards
    must not turn it into an error (the next writes still run)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from creditline.service.access import SYSTEM  # noqa: PLC0415
    from creditline.service.context import Context  # noqa: PLC0415

    ran: list[str] = []

    def broken() -> None:
        raise ConnectionError("redis went away")

    ctx = Context(actor=SYSTEM, now=datetime(2026, 11, 22, tzinfo=UTC), new_id=lambda p: p)
    ctx.after_commit.extend([broken, lambda: ran.append("next")])
    ctx.finished()
    assert ran == ["next"]


def test_an_account_whose_tier_the_policy_dropped_is_declined_not_crashed() -> None:
    """A policy reload may drop a tier accounts still have: their payments are declined
    with a reason (and the limit rules skip), never a crash."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.inputs import AccountFacts, Features, PaymentRequest  # noqa: PLC0415

    at = datetime(2026, 11, 22, 2, tzinfo=UTC)
    policy = parse_policy(default_policy_text(), RULE_NAMES)
    account = AccountFacts(
        AccountStatus.ACTIVE,
        "platinum",
        True,
        at - timedelta(days=400),
        Money(10_000_000),
        Money(0),
        Money(0),
    )
    request = PaymentRequest(Money(9_000_000), "mer_1", at, item_categories=("gold",))
    decision = evaluate(RiskContext(request, account, Features(), policy))
    assert decision.action is RiskAction.DECLINE
    assert [hit.code for hit in decision.hits] == ["account_tier_unknown"]
    assert "联系客服" in explain(decision.hits[0], "zh-CN").remedy


def plain(value: Any) -> Any:  # noqa: PLR0911 (one case per kind of value)
    """Any input dataclass as JSON values by reflection: the oracle for the decision log's
    hand-written JSON (Money → fen, datetime → ISO text, enum → value, sets sorted)."""
    if isinstance(value, Money):
        return value.fen
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise AssertionError(f"no JSON form for {type(value).__name__}")


def _texts_of(hit: RuleHit) -> list[str]:
    return [
        getattr(explain(hit, lang), part) for lang in LANGUAGES for part in ("message", "remedy")
    ]


@pytest.mark.parametrize(
    "context",
    [
        ctx(620_000),
        ctx(350_000, request={"item_categories": ("gift_card", "gold")}),
        ctx(350_000, request={"merchant_category": "top_up"}),
        ctx(350_000, request={"item_categories": ("gift_card", "prepaid_card")}),
        ctx(features=Features(recent_declines=4)),
        ctx(features=Features(account_attempts=99, device_attempts=99, ip_attempts=99)),
        ctx(features=Features(account_burst_attempts=99)),
        ctx(features=Features(account_attempts=9, account_burst_attempts=2)),
        ctx(features=Features(device_attempts=7)),
        ctx(
            request={"at": START, "location": Location(39.9, 116.4)},
            features=Features(last_seen=Seen(START - timedelta(minutes=5), SHANGHAI)),
        ),
        ctx(account={"status": AccountStatus.FROZEN}),
        ctx(account={"tier": "gone"}),
        ctx(
            30_000,
            request={"item_categories": ("gift_card",)},
            account={"opened_at": START - timedelta(days=2)},
        ),
    ],
)
def test_consumers_read_words_and_numbers_never_keys(context: RiskContext) -> None:
    """No message shows a rule's key or a category key, every velocity message carries its
    numbers, and no remedy promises what does not exist (installments, self-unfreezing)."""
    hits = evaluate(context).hits
    assert hits
    keys = {"gift_card", "top_up", "prepaid_card", "_"}
    for hit in hits:
        for text in _texts_of(hit):
            assert not any(key in text for key in keys), (hit.code, text)
            for promise in ("installment", "分期", "automatically", "自动恢复"):
                assert promise not in text, text
            assert "{" not in text, text
        if hit.code.startswith("velocity_"):
            assert str(hit.numbers["attempts"]) in explain(hit, "en").message
            assert str(hit.numbers["window_s"]) in explain(hit, "zh-CN").message


def test_an_unnamed_place_and_an_unnamed_category_read_as_words() -> None:
    context = ctx(
        350_000,
        request={"location": Location(39.9, 116.4), "item_categories": ("prepaid_card",)},
        features=Features(last_seen=Seen(START - timedelta(minutes=5), SHANGHAI)),
        policy_text=default_policy_text().replace(
            'categories = ["gift_card", "gold", "top_up"]',
            'categories = ["gift_card", "gold", "top_up", "prepaid_card"]',
            1,
        ),
    )
    found = {hit.code: hit for hit in evaluate(context).hits}
    assert "comes from another place" in explain(found["impossible_travel"], "en").message
    assert "本次支付位于另一地点" in explain(found["impossible_travel"], "zh-CN").message
    assert "Payments for some of these goods" in explain(found["cash_out_goods"], "en").message


def test_shares_and_scores_are_exact_whatever_the_amount() -> None:
    """Money never goes through a float: a limit's share is integer fen, and the anomaly
    score of an absurd amount neither overflows nor rounds (the API bounds amounts too)."""
    context = ctx(10**400, account={"credit_limit": Money(333_333_333)})
    assert POLICY.tiers["standard"].cash_out_share_max.denominator == 10
    history = Features(recent_amounts=tuple(Money(10_000 + n) for n in range(10)))
    decision = evaluate(replace(context, features=history))
    assert {"amount_anomaly", "per_transaction_limit"} <= {h.code for h in decision.hits}
    gift = evaluate(
        ctx(
            100_000_002,
            request={"item_categories": ("gift_card",)},
            account={"credit_limit": Money(333_333_337)},
        )
    )
    [hit] = [h for h in gift.hits if h.code == "cash_out_goods"]
    assert hit.numbers["allowed"] == Money(100_000_001)  # 333,333,337 × 3/10, floored
