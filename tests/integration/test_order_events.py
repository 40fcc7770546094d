"""Order events against a real database: exactly once, any order, dead letters, priority."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

from sqlalchemy import func, select

from creditline.adapters.clock import FixedClock
from creditline.adapters.db.schema import hold_event, order_event, outbox
from creditline.domain.hold import HoldStatus
from creditline.domain.money import Money
from creditline.domain.order_events import OrderEvent, OrderEventType
from creditline.service.orders.events import (
    EventResult,
    Received,
    process_events,
    replay_dead_letter,
)
from creditline.service.verify import verify
from tests.conftest import World

T = OrderEventType
_ids = count()


def ev(
    world: World,
    kind: OrderEventType,
    order: str,
    fen: int | None = None,
    event_id: str | None = None,
) -> Received:
    event = OrderEvent(
        platform_id="plat_test",
        event_id=event_id or f"ev-{next(_ids)}",
        type=kind,
        order_id=order,
        occurred_at=world.runtime.clock.now(),
        amount=None if fen is None else Money(fen),
    )
    return Received(event, world.runtime.clock.now(), "test")


def send(world: World, *events: Received, per_transaction: int = 50) -> list[EventResult]:
    bus = world.runtime.bus
    return process_events(
        world.runtime.uow_factory,
        lambda careful: bus.context(world.platform, careful=careful),
        list(events),
        per_transaction=per_transaction,
    )


def outcomes(results: list[EventResult]) -> list[tuple[str, str]]:
    return [(r.status, r.outcome) for r in results]


def test_a_partly_shipped_then_delivered_order(world: World) -> None:
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 30_000, order="o-1")
    results = send(world, ev(world, T.SHIPPED, "o-1", 10_000), ev(world, T.DELIVERED, "o-1"))
    assert outcomes(results) == [("applied", "captured"), ("applied", "settled")]
    with world.runtime.uow_factory(write=False) as uow:
        settled = uow.holds.get(hold.id)
    assert settled is not None
    # Delivered: the order is complete, so the hold reads captured; the rest was released.
    assert (settled.status, settled.captured, settled.released) == (
        HoldStatus.CAPTURED,
        Money(10_000),
        Money(20_000),
    )
    account = world.account(account_id)
    assert (account.used, account.locked) == (Money(10_000), Money(0))
    assert verify(world.runtime.uow_factory).ok


def test_every_event_is_applied_once_however_often_it_arrives(world: World) -> None:
    account_id = world.open_account(100_000)
    world.authorize(account_id, 30_000, order="o-1")
    ship = ev(world, T.SHIPPED, "o-1", 10_000, event_id="ship-1")
    first = send(world, ship, ship)
    again = send(world, ship)
    assert outcomes(first) == [("applied", "captured"), ("duplicate", "duplicate")]
    assert outcomes(again) == [("duplicate", "duplicate")]
    assert world.account(account_id).used == Money(10_000)
    with world.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(order_event)).scalar_one() == 1
    assert verify(world.runtime.uow_factory).ok


def test_out_of_order_events_have_defined_outcomes(world: World, clock: FixedClock) -> None:
    account_id = world.open_account(100_000)
    for order in ("cancel-first", "deliver-first", "late", "expired"):
        ttl_s = 3_600 if order == "expired" else None
        world.authorize(account_id, 10_000, order=order, ttl_s=ttl_s)
    results = send(
        world,
        ev(world, T.CANCELLED, "cancel-first"),
        ev(world, T.SHIPPED, "cancel-first", 10_000),
        ev(world, T.DELIVERED, "deliver-first"),
        ev(world, T.SHIPPED, "deliver-first", 4_000),
        ev(world, T.SHIPPED, "no-such-order", 100),
    )
    assert outcomes(results) == [
        ("applied", "released"),
        ("dead_lettered", "shipped_after_cancel"),
        ("applied", "captured"),
        ("ignored", "already_settled"),
        ("dead_lettered", "unknown_order"),
    ]
    clock.advance(timedelta(hours=2))
    late = send(world, ev(world, T.SHIPPED, "expired"), ev(world, T.CANCELLED, "late"))
    assert outcomes(late) == [("applied", "force_captured"), ("applied", "released")]
    account = world.account(account_id)
    assert account.used == Money(20_000)  # deliver-first and the forced capture
    assert account.last_forced_capture_at == clock.now()
    with world.runtime.uow_factory(write=False) as uow:
        letters = uow.dead_letters.open(kind="order_event", after=None, limit=10).items
    assert sorted(letter.reason for letter in letters) == ["shipped_after_cancel", "unknown_order"]
    assert verify(world.runtime.uow_factory).ok


def test_a_dead_letter_applies_once_its_order_exists(world: World) -> None:
    account_id = world.open_account(100_000)
    early = send(world, ev(world, T.SHIPPED, "o-early", 5_000, event_id="early-ship"))
    assert outcomes(early) == [("dead_lettered", "unknown_order")]
    world.authorize(account_id, 5_000, order="o-early")
    with world.runtime.uow_factory(write=False) as uow:
        (letter,) = uow.dead_letters.open(kind="order_event", after=None, limit=10).items
    bus = world.runtime.bus
    replayed = replay_dead_letter(
        world.runtime.uow_factory,
        lambda careful: bus.context(world.operator, careful=careful),
        letter.id,
        world.runtime.clock.now(),
    )
    assert replayed is not None
    assert replayed.resolved
    assert (replayed.result.status, replayed.result.outcome) == ("applied", "captured")
    with world.runtime.uow_factory(write=False) as uow:
        assert uow.dead_letters.open(kind=None, after=None, limit=10).items == []
        inbox = uow.inbox.get("plat_test", "early-ship")
    assert inbox is not None
    assert (inbox.outcome, inbox.source) == ("captured", "replay")
    assert world.account(account_id).used == Money(5_000)
    resent = send(world, ev(world, T.SHIPPED, "o-early", 5_000, event_id="early-ship"))
    assert outcomes(resent) == [("duplicate", "duplicate")]
    assert verify(world.runtime.uow_factory).ok


def test_a_long_queue_releases_cheap_safe_orders_first(world: World) -> None:
    """With a backlog, cancellations go first (trusted merchants, small amounts first),
    then returns, then captures — and each order keeps its own sequence."""
    account_id = world.open_account(10_000_000)
    plan = {  # order: (merchant, amount)
        "big-ship": ("mer_one", 900_000),
        "small-cancel": ("mer_one", 1_000),
        "big-cancel": ("mer_one", 800_000),
        "trusted-cancel": ("mer_two", 5_000),
        "ship-then-cancel": ("mer_one", 2_000),
    }
    with world.runtime.uow_factory(write=True) as uow:
        uow.directory.set_merchant_trusted("mer_two", True)
        uow.commit()
    for order, (merchant, fen) in plan.items():
        actor = world.other_merchant if merchant == "mer_two" else world.merchant
        world.authorize(account_id, fen, order=order, merchant=actor)
    queue = [
        ev(world, T.SHIPPED, "big-ship"),
        ev(world, T.SHIPPED, "ship-then-cancel", 1_000),
        ev(world, T.CANCELLED, "big-cancel"),
        ev(world, T.CANCELLED, "small-cancel"),
        ev(world, T.CANCELLED, "ship-then-cancel"),
        ev(world, T.CANCELLED, "trusted-cancel"),
    ]
    send(world, *queue, per_transaction=1)
    with world.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(hold_event.c.kind, order_event.c.order_id)
            .join(order_event, order_event.c.hold_id == hold_event.c.hold_id)
            .order_by(hold_event.c.id)
        ).all()
    applied = list(dict.fromkeys(order for _, order in rows))
    assert applied == [
        "trusted-cancel",
        "small-cancel",
        "big-cancel",
        "ship-then-cancel",
        "big-ship",
    ]
    assert world.account(account_id).used == Money(901_000)
    assert verify(world.runtime.uow_factory).ok


def test_every_change_writes_its_notification_in_the_same_transaction(world: World) -> None:
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 30_000, order="o-1")
    send(world, ev(world, T.SHIPPED, "o-1", 10_000), ev(world, T.CANCELLED, "o-1"))
    with world.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.type, outbox.c.payload, outbox.c.status)
            .where(outbox.c.hold_id == hold.id)
            .order_by(outbox.c.id)
        ).all()
    assert [row.type for row in rows] == ["hold.created", "hold.captured", "hold.released"]
    assert {row.status for row in rows} == {"no_webhook"}
    captured = json.loads(rows[1].payload)
    assert captured["type"] == "hold.captured"
    assert captured["data"]["amount"] == 10_000
    assert captured["data"]["hold"]["status"] == HoldStatus.PENDING.value
