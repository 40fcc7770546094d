"""Order events from the platform, and what each one does to its order's hold.

`decide` is the whole outcome table (docs/ORDER_EVENTS.md prints it): an event and the
hold's *effective* state at `now` give exactly one `Decision`. Every combination has an
answer — an action on the hold, nothing (the event changes nothing, and says why), or
the dead-letter table (an operator must look) — so no event raises and none is lost.

    shipped(amount?)        capture `amount` (all that is still held if absent)
    delivered/completed     final capture: capture up to `amount` (the order's delivered
                            total) or, if nothing was captured yet, everything; release
                            the rest
    cancelled               release what is still held; after a capture, refund it
    returned(amount?)       refund `amount` (all that is refundable if absent)
    partially_returned(amount)  refund `amount`

A hold past its deadline is expired even before the sweeper runs (`Hold.effective_status`):
shipping or delivering it is a forced capture (flagged, never lost); cancelling it changes
nothing (the credit is already back).

`priority` orders a backlog: releases first (they give credit back), then refunds, then
captures; within each, trusted merchants and small amounts first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from creditline.domain.hold import Hold, HoldStatus
from creditline.domain.money import ZERO, Money


class OrderEventType(StrEnum):
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    PARTIALLY_RETURNED = "partially_returned"


AMOUNT_REQUIRED = frozenset({OrderEventType.PARTIALLY_RETURNED})
"""Event types that make no sense without an amount."""

EVENT_FUTURE_SKEW_S_DEFAULT = 300
"""How far ahead of our clock an event may say it happened (the platform's clock drift)."""
EVENT_AGE_S_MAX_DEFAULT = 400 * 86_400
"""How long ago an event may say it happened: past a year's returns, nothing is held."""


def implausible_time(
    at: datetime, *, now: datetime, future_skew_s: float, age_s_max: float
) -> str | None:
    """Why `at` cannot be when an order event happened (None: it can): a time of day
    with no zone, one outside the calendar in UTC, or outside the plausible window."""
    if at.tzinfo is None or at.utcoffset() is None:
        return "needs a time zone, e.g. 2026-11-22T10:00:00+08:00"
    try:
        moment = at.astimezone(UTC)
    except OverflowError:
        return "is outside the calendar once converted to UTC"
    if moment > now + timedelta(seconds=future_skew_s):
        return (
            f"is {(moment - now).total_seconds():,.0f} s after now ({now.isoformat()}); "
            f"events may be at most {future_skew_s:,.0f} s ahead of our clock"
        )
    if moment < now - timedelta(seconds=age_s_max):
        days = age_s_max / 86_400
        return f"is more than {days:,.0f} days before now ({now.isoformat()})"
    return None


class Action(StrEnum):
    CAPTURE = "capture"
    CAPTURE_FINAL = "capture_final"
    FORCE_CAPTURE = "force_capture"
    RELEASE = "release"
    SETTLE = "settle"
    """Close a partly captured hold: release the rest; the hold reads captured."""
    REFUND = "refund"
    NOTHING = "nothing"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    platform_id: str
    event_id: str
    type: OrderEventType
    order_id: str
    occurred_at: datetime
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    outcome: str
    """Stable code recorded in the inbox: what the event did (or why it did nothing)."""
    reason: str
    amount: Money | None = None
    """For captures and refunds: how much; for a final capture it may be zero."""


def decide(event: OrderEvent, hold: Hold | None, now: datetime) -> Decision:
    """The outcome table: one decision for every event and hold state."""
    if hold is None:
        return Decision(
            Action.DEAD_LETTER,
            "unknown_order",
            f"no hold for order {event.order_id} on this platform",
        )
    state = hold.effective_status(now)
    match event.type:
        case OrderEventType.SHIPPED:
            return _shipped(event, hold, state)
        case OrderEventType.DELIVERED | OrderEventType.COMPLETED:
            return _delivered(event, hold, state)
        case OrderEventType.CANCELLED:
            return _cancelled(hold, state)
        case OrderEventType.RETURNED | OrderEventType.PARTIALLY_RETURNED:
            return _returned(event, hold, state)


def _shipped(event: OrderEvent, hold: Hold, state: HoldStatus) -> Decision:
    if state is HoldStatus.CAPTURED:
        return _nothing("already_settled", "the hold was already captured in full")
    if state is HoldStatus.RELEASED:
        return _dead("shipped_after_cancel", "the order shipped after its hold was released")
    if state is HoldStatus.EXPIRED:
        uncaptured = hold.amount - hold.captured
        amount = uncaptured if event.amount is None else event.amount
        if amount > uncaptured:
            return _dead("shipped_exceeds_hold", f"shipped {amount}, the hold had {uncaptured}")
        return Decision(
            Action.FORCE_CAPTURE,
            "force_captured",
            "shipped after the hold expired: captured anyway, flagged",
            amount,
        )
    if event.amount is None:
        return Decision(Action.CAPTURE_FINAL, "captured", "shipped in full", hold.open_amount)
    if event.amount > hold.open_amount:
        return _dead(
            "shipped_exceeds_hold",
            f"shipped {event.amount}, the hold still holds {hold.open_amount}",
        )
    return Decision(Action.CAPTURE, "captured", "shipped", event.amount)


def _delivered(event: OrderEvent, hold: Hold, state: HoldStatus) -> Decision:
    if state is HoldStatus.CAPTURED:
        return _nothing("already_settled", "the hold was already captured in full")
    if state is HoldStatus.RELEASED:
        return _dead(
            "delivered_after_cancel", "the order was delivered after its hold was released"
        )
    if event.amount is not None:
        owed = event.amount - hold.captured
        if owed.is_negative() or owed > hold.amount - hold.captured:
            return _dead(
                "delivered_amount_mismatch",
                f"delivered total {event.amount} does not fit the hold "
                f"({hold.captured} captured of {hold.amount})",
            )
    elif hold.captured.is_zero():
        owed = hold.amount  # delivered before any shipment: the whole order shipped
    else:
        owed = ZERO  # shipments already captured: the rest is released
    if state is HoldStatus.EXPIRED:
        if owed.is_zero():
            return _nothing("already_released", "the hold expired; nothing more is owed")
        return Decision(
            Action.FORCE_CAPTURE,
            "force_captured",
            "delivered after the hold expired: captured anyway, flagged",
            owed,
        )
    if owed.is_zero() and hold.captured.is_zero():
        return Decision(Action.RELEASE, "released", "delivered with nothing to charge")
    if owed.is_zero():
        return Decision(
            Action.SETTLE, "settled", "delivered: shipments captured, the rest is released"
        )
    return Decision(Action.CAPTURE_FINAL, "captured", "delivered: final capture", owed)


def _cancelled(hold: Hold, state: HoldStatus) -> Decision:
    if state is HoldStatus.PENDING:
        return Decision(Action.RELEASE, "released", "cancelled")
    refundable = hold.captured - hold.refunded
    if state is HoldStatus.CAPTURED and refundable.is_positive():
        return Decision(Action.REFUND, "refunded", "cancelled after capture: refunded", refundable)
    return _nothing("already_released", "nothing is held or owed for this order any more")


def _returned(event: OrderEvent, hold: Hold, state: HoldStatus) -> Decision:
    refundable = hold.captured - hold.refunded
    if refundable.is_zero():
        if state is HoldStatus.PENDING:
            return Decision(Action.RELEASE, "released", "returned before anything was charged")
        return _nothing("nothing_to_refund", "nothing captured is left to refund")
    amount = refundable if event.amount is None else event.amount
    if amount > refundable:
        return _dead("return_exceeds_captured", f"returned {amount}, refundable {refundable}")
    return Decision(Action.REFUND, "refunded", "returned", amount)


def _nothing(outcome: str, reason: str) -> Decision:
    return Decision(Action.NOTHING, outcome, reason)


def _dead(outcome: str, reason: str) -> Decision:
    return Decision(Action.DEAD_LETTER, outcome, reason)


_CLASS = {
    OrderEventType.CANCELLED: 0,
    OrderEventType.RETURNED: 1,
    OrderEventType.PARTIALLY_RETURNED: 1,
    OrderEventType.SHIPPED: 2,
    OrderEventType.DELIVERED: 2,
    OrderEventType.COMPLETED: 2,
}


def priority(event: OrderEvent, *, held: Money | None, trusted: bool) -> tuple[int, int, int]:
    """Sort key for a backlog (smaller first): releases, then refunds, then captures;
    trusted merchants before others; small amounts before large ones."""
    amount = event.amount if event.amount is not None else held
    return (_CLASS[event.type], 0 if trusted else 1, amount.fen if amount is not None else 0)
