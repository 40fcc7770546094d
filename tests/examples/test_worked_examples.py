"""Worked examples: short stories of real use, with every figure computed by hand.

Each story runs against the real engine (SQLite and PostgreSQL) through the command bus,
and ends with `verify`: the books still balance.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline.adapters.clock import FixedClock
from creditline.domain.errors import CreditlineError, OrderHasOpenHold
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.accounts.queries import get_account
from creditline.service.bus import IdempotencyKey, Outcome
from creditline.service.holds.expiry import sweep
from creditline.service.holds.queries import get_hold
from creditline.service.verify import verify
from tests.conftest import World


def yuan(text: str) -> Money:
    return Money.from_yuan(text)


def balances(world: World, account_id: str) -> dict[str, Money]:
    with world.runtime.uow_factory(write=False) as uow:
        view = get_account(uow, world.operator, account_id, world.runtime.clock.now())
    return {
        "used": view.account.used,
        "locked": view.locked,
        "available": view.available,
        "credit_balance": view.account.credit_balance,
        "over_limit": view.over_limit,
    }


def test_alice_buys_headphones_that_ship_in_two_parcels(world: World) -> None:
    """Alice has a ¥5,000.00 line. She pays ¥1,299.00 for headphones and a case.

    - The payment locks ¥1,299.00: available 5,000 − 1,299 = ¥3,701.00.
    - The headphones ship first: the merchant captures ¥800.00. Used ¥800, locked ¥499.
    - The case ships with a ¥99.00 discount: a final capture of ¥400.00. The remaining
      499 − 400 = ¥99.00 is released. Used 800 + 400 = ¥1,200.00, locked ¥0.
    - Alice repays ¥1,200.00: used ¥0, available back to ¥5,000.00.
    """
    bus = world.runtime.bus
    alice = world.open_account(yuan("5000").fen)
    hold = world.authorize(alice, yuan("1299").fen, order="order-headphones")
    assert balances(world, alice)["available"] == yuan("3701")

    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=yuan("800")))
    assert balances(world, alice)["used"] == yuan("800")
    assert balances(world, alice)["locked"] == yuan("499")

    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=yuan("400"), final=True))
    after_shipping = balances(world, alice)
    assert after_shipping["used"] == yuan("1200")
    assert after_shipping["locked"] == Money(0)
    assert after_shipping["available"] == yuan("3800")

    bus.execute(world.consumer(alice), commands.Repay(account_id=alice, amount=yuan("1200")))
    assert balances(world, alice)["available"] == yuan("5000")

    with world.runtime.uow_factory(write=False) as uow:
        entries = uow.journal.list_for_account(alice, None, 10).items
        view = get_hold(uow, world.merchant, hold.id, world.runtime.clock.now())
    assert [(e.kind.value, e.amount) for e in entries] == [
        ("repayment", yuan("1200")),
        ("capture", yuan("400")),
        ("capture", yuan("800")),
    ]
    assert view.hold.released == yuan("99")
    assert verify(world.runtime.uow_factory).ok


def test_the_order_that_never_ships_unlocks_on_its_own(world: World, clock: FixedClock) -> None:
    """Bob (¥1,000.00 line) pays ¥450.00; the merchant never ships. Holds last 7 days.

    - Day 0: locked ¥450.00, available ¥550.00.
    - Day 7, before any sweeper runs: every read already shows the hold expired and the
      full ¥1,000.00 available; the consumer is never stuck.
    - The sweeper then releases it for good. Bob spends ¥900.00 elsewhere.
    - Day 9 the merchant ships after all and force-captures ¥450.00 (with a reason): it
      is not lost; used 900 + 450 = ¥1,350.00 exceeds the limit by ¥350.00 and the
      account is flagged.
    """
    bus = world.runtime.bus
    bob = world.open_account(yuan("1000").fen)
    late = world.authorize(bob, yuan("450").fen, order="order-gift")
    assert balances(world, bob)["available"] == yuan("550")

    clock.advance(timedelta(days=7))
    assert balances(world, bob)["available"] == yuan("1000")

    assert (
        sweep(world.runtime.uow_factory, now=clock.now(), new_id=world.runtime.new_id).expired == 1
    )
    other = world.authorize(bob, yuan("900").fen, order="order-tv")
    bus.execute(world.merchant, commands.Capture(hold_id=other.id, amount=yuan("900")))

    clock.advance(timedelta(days=2))
    bus.execute(
        world.merchant,
        commands.Capture(
            hold_id=late.id, amount=yuan("450"), force=True, reason="courier found the parcel"
        ),
    )
    end = balances(world, bob)
    assert end["used"] == yuan("1350")
    assert end["over_limit"] == yuan("350")
    assert end["available"] == Money(0)
    assert verify(world.runtime.uow_factory).ok


def test_a_refund_after_repayment_is_owed_back(world: World) -> None:
    """Carol buys a ¥600.00 jacket, repays ¥200.00, then returns it for ¥500.00.

    - After capture and repayment she owes 600 − 200 = ¥400.00.
    - The ¥500.00 refund first clears the ¥400.00 she owes; the other ¥100.00 is money we
      owe her (credit balance), to go back to her original payment method.
    - Journal: Dr merchant payable 500 / Cr receivable 400, Cr consumer credit 100.
    """
    bus = world.runtime.bus
    carol = world.open_account(yuan("2000").fen)
    hold = world.authorize(carol, yuan("600").fen)
    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=yuan("600")))
    bus.execute(world.platform, commands.Repay(account_id=carol, amount=yuan("200")))
    bus.execute(
        world.merchant,
        commands.Refund(hold_id=hold.id, amount=yuan("500"), reason="jacket returned"),
    )
    end = balances(world, carol)
    assert end["used"] == Money(0)
    assert end["credit_balance"] == yuan("100")
    with world.runtime.uow_factory(write=False) as uow:
        refund_entry = uow.journal.list_for_account(carol, None, 1).items[0]
    assert sorted((p.ledger_account.value, p.amount.fen) for p in refund_entry.postings) == [
        ("consumer_credit", -10_000),
        ("merchant_payable", 50_000),
        ("receivable", -40_000),
    ]
    assert verify(world.runtime.uow_factory).ok


def test_a_double_clicked_checkout_locks_once(world: World) -> None:
    """Dan's browser submits the same ¥300.00 checkout twice.

    - Same Idempotency-Key: the second request gets the first answer back (one hold).
    - A new key for the same order (the shop retried on its own): refused with
      `order_has_open_hold`, naming the hold that is already open — credit is locked
      once, not twice.
    """
    dan = world.open_account(yuan("1000").fen)
    command = commands.Authorize(account_id=dan, order_id="order-42", amount=yuan("300"))
    key = IdempotencyKey(scope="merchant:mer_one", key="click-1", fingerprint="checkout-42")

    def render(hold: object) -> Outcome:
        assert isinstance(hold, Hold)
        return Outcome(201, hold.id.encode())

    def render_error(error: CreditlineError) -> Outcome:
        return Outcome(409, error.code.encode())

    clicks = [
        world.runtime.bus.execute_idempotent(world.merchant, command, key, render, render_error)
        for _ in range(2)
    ]
    assert clicks[0].body == clicks[1].body
    assert clicks[1].replayed
    first_id = clicks[0].body.decode()
    with pytest.raises(OrderHasOpenHold) as refused:
        world.authorize(dan, yuan("300").fen, order="order-42")
    assert refused.value.params["hold_id"] == first_id
    assert balances(world, dan)["locked"] == yuan("300")
    assert verify(world.runtime.uow_factory).ok
