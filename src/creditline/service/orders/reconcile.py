"""Reconciliation: ask the platform's order system about holds that have waited too long.

An order event can be lost on the platform's side (a crash before it was sent, a
misconfigured hook). So old pending holds are checked against the order system itself,
and what it says becomes an ordinary order event with a deterministic id —
`reconcile:<hold>:shipped:<total>`, `reconcile:<hold>:delivered`,
`reconcile:<hold>:cancelled` — applied through the same handler, inbox and outcome table.
Running reconciliation twice, or alongside the real event arriving late, therefore
changes nothing twice. Every correction is written to the audit log and the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from creditline.domain.hold import Hold
from creditline.domain.order_events import OrderEvent, OrderEventType
from creditline.domain.parties import Platform
from creditline.service.audit import audit
from creditline.service.orders.events import ContextFactory, Received, process_events
from creditline.service.orders.ports import OrderStatus, OrderSystem, OrderSystemUnavailable
from creditline.service.ports import UnitOfWorkFactory

RECONCILE_BATCH = 200
"""Orders asked about in one call to the order system."""
RECONCILE_HOLDS_MAX = 10_000
"""Holds looked at in one run; the next run continues."""


@dataclass
class ReconcileReport:
    checked: int = 0
    corrected: int = 0
    unchanged: int = 0
    not_configured: int = 0
    failures: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)


def event_for(
    hold: Hold, platform_id: str, status: OrderStatus, now: datetime
) -> OrderEvent | None:
    """What the order system's answer means for the hold, as an order event (or nothing)."""
    kind: OrderEventType
    amount = status.shipped_amount
    if status.state == "cancelled":
        kind, event_id, amount = OrderEventType.CANCELLED, f"reconcile:{hold.id}:cancelled", None
    elif status.state == "delivered":
        kind, event_id = OrderEventType.DELIVERED, f"reconcile:{hold.id}:delivered"
    elif status.state == "shipped" and amount is not None and amount > hold.captured:
        kind, event_id = OrderEventType.SHIPPED, f"reconcile:{hold.id}:shipped:{amount.fen}"
        amount = amount - hold.captured
    else:
        return None
    return OrderEvent(
        platform_id=platform_id,
        event_id=event_id,
        type=kind,
        order_id=hold.order_id,
        occurred_at=now,
        amount=amount,
    )


def reconcile(
    uow_factory: UnitOfWorkFactory,
    context: ContextFactory,
    order_system: OrderSystem,
    *,
    now: datetime,
    older_than_s: float,
    holds_max: int = RECONCILE_HOLDS_MAX,
) -> ReconcileReport:
    report = ReconcileReport()
    with uow_factory(write=False) as uow:
        candidates = uow.holds.pending_created_before(
            now - timedelta(seconds=older_than_s), holds_max
        )
        by_platform: dict[str, list[Hold]] = defaultdict(list)
        for hold, platform_id in candidates:
            by_platform[platform_id].append(hold)
        platforms = {pid: uow.directory.get_platform(pid) for pid in by_platform}
    for platform_id, held in by_platform.items():
        platform = platforms[platform_id]
        if platform is None or platform.order_status_url is None:
            report.not_configured += len(held)
            continue
        for start in range(0, len(held), RECONCILE_BATCH):
            _reconcile_batch(
                uow_factory,
                context,
                order_system,
                platform,
                held[start : start + RECONCILE_BATCH],
                now,
                report,
            )
    return report


def _reconcile_batch(
    uow_factory: UnitOfWorkFactory,
    context: ContextFactory,
    order_system: OrderSystem,
    platform: Platform,
    holds: Sequence[Hold],
    now: datetime,
    report: ReconcileReport,
) -> None:
    try:
        statuses = order_system.statuses(platform, [h.order_id for h in holds])
    except OrderSystemUnavailable as error:
        report.failures.append(f"{platform.id}: {error}")
        return
    report.checked += len(holds)
    events: list[tuple[Hold, Received]] = []
    for hold in holds:
        status = statuses.get(hold.order_id)
        event = None if status is None else event_for(hold, platform.id, status, now)
        if event is None:
            report.unchanged += 1
        else:
            events.append((hold, Received(event, now, "reconcile")))
    results = process_events(uow_factory, context, [received for _, received in events])
    ctx = context(False)
    with uow_factory(write=True) as uow:
        for (hold, received), result in zip(events, results, strict=True):
            line = (
                f"hold {hold.id} order {hold.order_id}: order system says "
                f"{received.event.type.value} → {result.status} ({result.outcome})"
            )
            if result.status == "applied":
                report.corrected += 1
                report.corrections.append(line)
                audit(uow, ctx, "reconcile.correction", hold.id, line, received.event.event_id)
            elif result.status == "dead_lettered":
                report.failures.append(f"{line}: {result.detail}")
            else:
                report.unchanged += 1
        uow.commit()
