"""Reconciliation: old pending holds are checked against the platform's order system.

The in-process fake answers for the service tests; the HTTP adapter is checked against a
real local server speaking the documented protocol.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from creditline.adapters.clock import FixedClock
from creditline.adapters.db.schema import audit_log
from creditline.adapters.order_system import FakeOrderSystem, HttpOrderSystem
from creditline.domain.hold import HoldStatus
from creditline.domain.money import Money
from creditline.domain.parties import Platform
from creditline.service import directory
from creditline.service.access import SYSTEM
from creditline.service.orders.ports import OrderStatus, OrderSystemUnavailable
from creditline.service.orders.reconcile import ReconcileReport, reconcile
from creditline.service.verify import verify
from tests.conftest import START, OrderServer, World

DAY_S = 86_400.0


def set_status_url(world: World, url: str = "http://orders.invalid/status") -> None:
    with world.runtime.uow_factory(write=True) as uow:
        directory.configure_platform(uow, "plat_test", order_status_url=url)
        uow.commit()


def run(world: World, system: FakeOrderSystem, older_than_s: float = DAY_S) -> ReconcileReport:
    rt = world.runtime
    return reconcile(
        rt.uow_factory,
        lambda careful: rt.bus.context(SYSTEM, careful=careful),
        system,
        now=rt.clock.now(),
        older_than_s=older_than_s,
    )


def status(world: World, hold_id: str) -> tuple[HoldStatus, int, int]:
    with world.runtime.uow_factory(write=False) as uow:
        hold = uow.holds.get(hold_id)
    assert hold is not None
    return hold.status, hold.captured.fen, hold.released.fen


def test_what_the_order_system_says_is_applied_once_and_audited(
    world: World, clock: FixedClock
) -> None:
    set_status_url(world)
    account_id = world.open_account(1_000_000)
    shipped = world.authorize(account_id, 30_000, order="o-shipped")
    partly = world.authorize(account_id, 30_000, order="o-partly")
    cancelled = world.authorize(account_id, 20_000, order="o-cancelled")
    delivered = world.authorize(account_id, 10_000, order="o-delivered")
    still_open = world.authorize(account_id, 10_000, order="o-open")
    unknown = world.authorize(account_id, 10_000, order="o-unknown")
    clock.advance(timedelta(hours=2))
    young = world.authorize(account_id, 10_000, order="o-young")
    system = FakeOrderSystem()
    system.orders = {
        "o-shipped": OrderStatus("shipped", Money(30_000)),
        "o-partly": OrderStatus("shipped", Money(12_000)),
        "o-cancelled": OrderStatus("cancelled"),
        "o-delivered": OrderStatus("delivered"),
        "o-open": OrderStatus("open"),
        "o-young": OrderStatus("cancelled"),
    }
    report = run(world, system, older_than_s=3_600)
    assert (report.checked, report.corrected, report.unchanged) == (6, 4, 2)
    assert report.failures == []
    assert status(world, shipped.id) == (HoldStatus.CAPTURED, 30_000, 0)
    assert status(world, partly.id) == (HoldStatus.PENDING, 12_000, 0)
    assert status(world, cancelled.id) == (HoldStatus.RELEASED, 0, 20_000)
    assert status(world, delivered.id) == (HoldStatus.CAPTURED, 10_000, 0)
    assert status(world, still_open.id)[0] is HoldStatus.PENDING
    assert status(world, unknown.id)[0] is HoldStatus.PENDING
    assert status(world, young.id)[0] is HoldStatus.PENDING  # not old enough to ask about
    assert all("o-young" not in asked for asked in system.asked)
    with world.runtime.engine.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.target_id).where(audit_log.c.action == "reconcile.correction")
        ).all()
    assert sorted(r.target_id for r in audited) == sorted(
        [shipped.id, partly.id, cancelled.id, delivered.id]
    )

    # Running it again changes nothing: the synthetic events have deterministic ids.
    again = run(world, system, older_than_s=3_600)
    assert again.corrected == 0
    assert status(world, partly.id) == (HoldStatus.PENDING, 12_000, 0)
    # The order ships more: only the difference is captured.
    system.orders["o-partly"] = OrderStatus("shipped", Money(25_000))
    assert run(world, system, older_than_s=3_600).corrected == 1
    assert status(world, partly.id) == (HoldStatus.PENDING, 25_000, 0)
    assert verify(world.runtime.uow_factory).ok


def test_an_unreachable_order_system_is_reported_and_changes_nothing(
    world: World, clock: FixedClock
) -> None:
    set_status_url(world)
    hold = world.authorize(world.open_account(), 10_000, order="o-1")
    clock.advance(timedelta(days=2))
    system = FakeOrderSystem()
    system.orders["o-1"] = OrderStatus("cancelled")
    system.down = True
    report = run(world, system)
    assert report.corrected == 0
    assert len(report.failures) == 1
    assert "down" in report.failures[0]
    # Two days old, inside its 7-day lifetime: still pending and untouched.
    assert status(world, hold.id)[0] is HoldStatus.PENDING


def test_platforms_without_an_order_status_url_are_counted_not_asked(
    world: World, clock: FixedClock
) -> None:
    world.authorize(world.open_account(), 10_000, order="o-1")
    clock.advance(timedelta(days=2))
    system = FakeOrderSystem()
    report = run(world, system)
    assert (report.checked, report.not_configured) == (0, 1)
    assert system.asked == []


def test_the_http_adapter_speaks_the_documented_protocol(order_server: OrderServer) -> None:
    order_server.orders["o-1"] = {"state": "shipped", "shipped_amount": 500}
    system = HttpOrderSystem(timeout_s=5.0)
    try:
        platform = Platform("p", "P", START, order_status_url=order_server.url)
        answer = system.statuses(platform, ["o-1", "o-2"])
        assert answer == {"o-1": OrderStatus("shipped", Money(500))}
        assert order_server.asked == [["o-1", "o-2"]]
        order_server.orders["o-1"] = {"state": "teleported"}
        broken = Platform("p", "P", START, order_status_url=order_server.url)
        with pytest.raises(OrderSystemUnavailable, match="teleported"):
            system.statuses(broken, ["o-1"])
        gone = Platform("p", "P", START, order_status_url="http://127.0.0.1:9/none")
        with pytest.raises(OrderSystemUnavailable):
            system.statuses(gone, ["o-1"])
    finally:
        system.close()
