"""What `creditline bench release` sends: per order, a scenario of events and the hold's
expected state afterwards, so the run can check that every event was applied once.

Scenarios (order number mod 6), each hold ¥100.00:

    0  cancelled                         → released in full
    1  shipped (all)                     → captured in full
    2  shipped ¥10, shipped ¥20, delivered → captured ¥30, the rest released (settled)
    3  delivered, then shipped ¥40       → captured in full; the late shipment is ignored
    4  cancelled, then shipped ¥10       → released; the late shipment is dead-lettered
    5  shipped ¥10                       → still pending with ¥10 captured

Every `DUPLICATE_EVERY`-th order's events are sent a second time at the end of its path's
stream (late duplicates). Each order's events travel one path, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditline.domain.hold import HoldStatus

HOLD_FEN = 10_000
DUPLICATE_EVERY = 10
SCENARIOS = 6


@dataclass(frozen=True, slots=True)
class Expected:
    status: HoldStatus
    captured: int
    released: int


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    event_id: str
    type: str
    order_id: str
    amount: int | None

    def body(self, occurred_at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "type": self.type,
            "order_id": self.order_id,
            "occurred_at": occurred_at.isoformat(),
        }
        if self.amount is not None:
            body["amount"] = self.amount
        return body

    def json(self, occurred_at: datetime) -> bytes:
        return json.dumps(self.body(occurred_at), separators=(",", ":")).encode()


def scenario(order_id: str, number: int) -> tuple[list[PlannedEvent], Expected]:
    def ev(n: int, kind: str, amount: int | None = None) -> PlannedEvent:
        return PlannedEvent(f"{order_id}:{n}", kind, order_id, amount)

    match number % SCENARIOS:
        case 0:
            return [ev(0, "cancelled")], Expected(HoldStatus.RELEASED, 0, HOLD_FEN)
        case 1:
            return [ev(0, "shipped")], Expected(HoldStatus.CAPTURED, HOLD_FEN, 0)
        case 2:
            events = [ev(0, "shipped", 1_000), ev(1, "shipped", 2_000), ev(2, "delivered")]
            return events, Expected(HoldStatus.CAPTURED, 3_000, HOLD_FEN - 3_000)
        case 3:
            events = [ev(0, "delivered"), ev(1, "shipped", 4_000)]
            return events, Expected(HoldStatus.CAPTURED, HOLD_FEN, 0)
        case 4:
            events = [ev(0, "cancelled"), ev(1, "shipped", 1_000)]
            return events, Expected(HoldStatus.RELEASED, 0, HOLD_FEN)
        case _:
            return [ev(0, "shipped", 1_000)], Expected(HoldStatus.PENDING, 1_000, 0)


@dataclass
class PathPlan:
    """The orders one path (direct, broker or HTTP) carries, and their events in order."""

    name: str
    orders: list[tuple[str, int]]
    """(order id, scenario number)"""

    def batches(self) -> Iterator[list[PlannedEvent]]:
        """Each order's events together; late duplicates at the end."""
        duplicates: list[PlannedEvent] = []
        for order_id, number in self.orders:
            events, _ = scenario(order_id, number)
            if number % DUPLICATE_EVERY == 0:
                duplicates += events
            yield events
        yield duplicates

    def events(self) -> list[PlannedEvent]:
        return [e for batch in self.batches() for e in batch]

    def distinct(self) -> int:
        return len({e.event_id for e in self.events()})


def orders_for(events_wanted: int, name: str, first: int) -> PathPlan:
    """Enough orders (numbered from `first`) for about `events_wanted` events."""
    per_order = sum(len(scenario("x", n)[0]) for n in range(SCENARIOS)) / SCENARIOS
    per_order *= 1 + 1 / DUPLICATE_EVERY
    count = max(SCENARIOS, round(events_wanted / per_order))
    return PathPlan(name, [(f"{name}-{first + n}", first + n) for n in range(count)])


def grouped(plan: PathPlan, size: int) -> tuple[list[list[PlannedEvent]], list[list[PlannedEvent]]]:
    """Batches of at most `size` events that never split an order's events; then the
    late duplicates in batches of their own (to send after everything else)."""
    *orders, duplicates = list(plan.batches())
    batches: list[list[PlannedEvent]] = [[]]
    for events in orders:
        if len(batches[-1]) + len(events) > size:
            batches.append([])
        batches[-1].extend(events)
    late = [duplicates[start : start + size] for start in range(0, len(duplicates), size)]
    return [batch for batch in batches if batch], late
