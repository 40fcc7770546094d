"""The outcome table of order events (domain/order_events.py), row by row."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from creditline.domain.hold import Hold, HoldStatus
from creditline.domain.money import Money
from creditline.domain.order_events import (
    Action,
    OrderEvent,
    OrderEventType,
    decide,
    priority,
)
from tests.conftest import START

T = OrderEventType
LATER = START + timedelta(days=8)


def hold(state: str) -> Hold:
    """A ¥100.00 hold in a named state (deadline: START + 7 days)."""
    base = Hold(
        id="hold_1",
        account_id="acct_1",
        merchant_id="mer_1",
        order_id="o1",
        amount=Money(10_000),
        captured=Money(0),
        released=Money(0),
        refunded=Money(0),
        forced=Money(0),
        status=HoldStatus.PENDING,
        created_at=START,
        expires_at=START + timedelta(days=7),
    )
    parts = {
        "pending": {},
        "partly_shipped": {"captured": Money(4_000)},
        "captured": {"captured": Money(10_000), "status": HoldStatus.CAPTURED},
        "partly_refunded": {
            "captured": Money(10_000),
            "refunded": Money(3_000),
            "status": HoldStatus.CAPTURED,
        },
        "fully_refunded": {
            "captured": Money(10_000),
            "refunded": Money(10_000),
            "status": HoldStatus.CAPTURED,
        },
        "released": {"released": Money(10_000), "status": HoldStatus.RELEASED},
        "expired": {"released": Money(10_000), "status": HoldStatus.EXPIRED},
        "expired_after_shipping": {
            "captured": Money(4_000),
            "released": Money(6_000),
            "status": HoldStatus.EXPIRED,
        },
    }
    return replace(base, **parts[state])  # type: ignore[arg-type]


def event(kind: OrderEventType, fen: int | None = None) -> OrderEvent:
    return OrderEvent(
        platform_id="plat_1",
        event_id="e1",
        type=kind,
        order_id="o1",
        occurred_at=START,
        amount=None if fen is None else Money(fen),
    )


ROWS = [
    # event, amount, hold state, now, → action, outcome, amount
    (T.SHIPPED, None, "pending", START, Action.CAPTURE_FINAL, "captured", 10_000),
    (T.SHIPPED, 4_000, "pending", START, Action.CAPTURE, "captured", 4_000),
    (T.SHIPPED, 10_001, "pending", START, Action.DEAD_LETTER, "shipped_exceeds_hold", None),
    (T.SHIPPED, 2_000, "pending", LATER, Action.FORCE_CAPTURE, "force_captured", 2_000),
    (T.SHIPPED, None, "expired", START, Action.FORCE_CAPTURE, "force_captured", 10_000),
    (T.SHIPPED, None, "captured", START, Action.NOTHING, "already_settled", None),
    (T.SHIPPED, 1_000, "released", START, Action.DEAD_LETTER, "shipped_after_cancel", None),
    (T.DELIVERED, None, "pending", START, Action.CAPTURE_FINAL, "captured", 10_000),
    (T.DELIVERED, None, "partly_shipped", START, Action.SETTLE, "settled", None),
    (T.DELIVERED, 7_000, "partly_shipped", START, Action.CAPTURE_FINAL, "captured", 3_000),
    (
        T.DELIVERED,
        11_000,
        "partly_shipped",
        START,
        Action.DEAD_LETTER,
        "delivered_amount_mismatch",
        None,
    ),
    (T.COMPLETED, None, "pending", LATER, Action.FORCE_CAPTURE, "force_captured", 10_000),
    (T.DELIVERED, None, "expired_after_shipping", START, Action.NOTHING, "already_released", None),
    (T.DELIVERED, None, "captured", START, Action.NOTHING, "already_settled", None),
    (T.DELIVERED, None, "released", START, Action.DEAD_LETTER, "delivered_after_cancel", None),
    (T.CANCELLED, None, "pending", START, Action.RELEASE, "released", None),
    (T.CANCELLED, None, "partly_shipped", START, Action.RELEASE, "released", None),
    (T.CANCELLED, None, "pending", LATER, Action.NOTHING, "already_released", None),
    (T.CANCELLED, None, "released", START, Action.NOTHING, "already_released", None),
    (T.CANCELLED, None, "captured", START, Action.REFUND, "refunded", 10_000),
    (T.CANCELLED, None, "fully_refunded", START, Action.NOTHING, "already_released", None),
    (T.RETURNED, None, "captured", START, Action.REFUND, "refunded", 10_000),
    (T.RETURNED, None, "partly_refunded", START, Action.REFUND, "refunded", 7_000),
    (T.PARTIALLY_RETURNED, 2_500, "captured", START, Action.REFUND, "refunded", 2_500),
    (
        T.PARTIALLY_RETURNED,
        8_000,
        "partly_refunded",
        START,
        Action.DEAD_LETTER,
        "return_exceeds_captured",
        None,
    ),
    (T.RETURNED, None, "pending", START, Action.RELEASE, "released", None),
    (T.RETURNED, None, "released", START, Action.NOTHING, "nothing_to_refund", None),
    (T.RETURNED, None, "fully_refunded", START, Action.NOTHING, "nothing_to_refund", None),
    (T.PARTIALLY_RETURNED, 1_000, "partly_shipped", START, Action.REFUND, "refunded", 1_000),
    (T.RETURNED, None, "expired", START, Action.NOTHING, "nothing_to_refund", None),
    (T.RETURNED, None, "expired_after_shipping", START, Action.REFUND, "refunded", 4_000),
]


@pytest.mark.parametrize(("kind", "fen", "state", "now", "action", "outcome", "amount"), ROWS)
def test_every_event_in_every_state_has_one_answer(
    kind: OrderEventType,
    fen: int | None,
    state: str,
    now: object,
    action: Action,
    outcome: str,
    amount: int | None,
) -> None:
    decision = decide(event(kind, fen), hold(state), now)  # type: ignore[arg-type]
    assert (decision.action, decision.outcome) == (action, outcome)
    assert (None if decision.amount is None else decision.amount.fen) == amount
    assert decision.reason


@pytest.mark.parametrize("kind", list(OrderEventType))
def test_an_unknown_order_is_a_dead_letter_for_every_event(kind: OrderEventType) -> None:
    decision = decide(event(kind, 100), None, START)
    assert (decision.action, decision.outcome) == (Action.DEAD_LETTER, "unknown_order")


def test_the_table_covers_every_type_in_every_effective_state() -> None:
    covered = {(row[0], hold(row[2]).effective_status(row[3])) for row in ROWS}
    for kind in (T.SHIPPED, T.DELIVERED, T.CANCELLED, T.RETURNED):
        for state in HoldStatus:
            assert (kind, state) in covered, (kind, state)


def test_priority_puts_cheap_safe_releases_first() -> None:
    def key(kind: OrderEventType, fen: int, trusted: bool) -> tuple[int, int, int]:
        return priority(event(kind, fen), held=None, trusted=trusted)

    ranked = sorted(
        [
            ("ship big", key(T.SHIPPED, 90_000, False)),
            ("cancel big", key(T.CANCELLED, 90_000, False)),
            ("return", key(T.RETURNED, 5_000, False)),
            ("cancel small trusted", key(T.CANCELLED, 900, True)),
            ("cancel small", key(T.CANCELLED, 900, False)),
            ("ship small", key(T.SHIPPED, 100, False)),
        ],
        key=lambda pair: pair[1],
    )
    assert [name for name, _ in ranked] == [
        "cancel small trusted",
        "cancel small",
        "cancel big",
        "return",
        "ship small",
        "ship big",
    ]
    assert priority(event(T.CANCELLED), held=Money(500), trusted=False) < priority(
        event(T.CANCELLED), held=Money(600), trusted=False
    )


ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_table_names_every_outcome() -> None:
    """docs/ORDER_EVENTS.md is the contract: every outcome the code can record is in it."""
    source = (ROOT / "src/creditline/domain/order_events.py").read_text()
    codes = set(re.findall(r'(?:_nothing|_dead)\(\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'Decision\(\s*Action\.[A-Z_]+,\s*"([a-z_]+)"', source))
    assert {"unknown_order", "settled", "force_captured", "shipped_after_cancel"} <= codes
    docs = (ROOT / "docs/ORDER_EVENTS.md").read_text()
    missing = sorted(code for code in codes if f"`{code}`" not in docs)
    assert not missing, f"outcomes not documented in docs/ORDER_EVENTS.md: {missing}"
