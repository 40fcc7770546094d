"""Demo data: a platform, a merchant, three consumers and holds in every state.

`creditline demo` loads it once; running it again finds it and only prints the keys.
The demo keys are fixed strings so the README's curl examples work as written. They are
for a laptop: never load the demo into a database that faces the internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from creditline.adapters.clock import FixedClock
from creditline.bootstrap import Runtime
from creditline.domain.account import AccountAction
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.service import commands, directory
from creditline.service.access import SYSTEM, Actor, Role
from creditline.service.accounts.queries import AccountView
from creditline.service.bus import CommandBus
from creditline.service.directory import find_actor
from creditline.service.holds.expiry import sweep
from creditline.service.ports import IdGenerator

PLATFORM_ID = "plat_demo"
MERCHANT_ID = "mer_demo"
PLATFORM_KEY = "clk_demo_platform"
MERCHANT_KEY = "clk_demo_merchant"
OPERATOR_KEY = "clk_demo_operator"
CONSUMER_KEY = "clk_demo_consumer_alice"
DEMO_ACCOUNT_IDS = {"alice": "acct_demoalice", "bob": "acct_demobob", "carol": "acct_democarol"}


@dataclass(frozen=True, slots=True)
class DemoData:
    created: bool
    keys: dict[str, str]
    accounts: dict[str, str]


def active_demo_keys(runtime: Runtime) -> list[str]:
    """The ids of the demo's fixed keys that still work in this database."""
    with runtime.uow_factory(write=False) as uow:
        found = [find_actor(uow, key) for key in _keys().values()]
    return [actor.key_id for actor in found if actor is not None]


def load_demo(runtime: Runtime) -> DemoData:
    now = runtime.clock.now()
    with runtime.uow_factory(write=False) as uow:
        exists = uow.directory.get_platform(PLATFORM_ID) is not None
    if exists:
        with runtime.uow_factory(write=False) as uow:
            found = [
                uow.accounts.find_by_external_ref(PLATFORM_ID, ref)
                for ref in ("alice", "bob", "carol")
            ]
        accounts = {a.external_ref: a.id for a in found if a is not None}
        return DemoData(created=False, keys=_keys(), accounts=accounts)
    _directory(runtime, now)
    bus = CommandBus(runtime.uow_factory, runtime.clock, _DemoIds(runtime.new_id))
    platform = Actor(key_id="demo", role=Role.PLATFORM, platform_id=PLATFORM_ID, name="demo")
    merchant = Actor(
        key_id="demo",
        role=Role.MERCHANT,
        platform_id=PLATFORM_ID,
        merchant_id=MERCHANT_ID,
        name="demo-merchant",
    )
    alice = _open(bus, platform, "alice", 500_000)
    bob = _open(bus, platform, "bob", 200_000)
    carol = _open(bus, platform, "carol", 100_000)
    _consumer_key(runtime, alice.account.id, now)
    # Alice: one pending hold, one partly shipped order, one cancelled.
    _hold(bus, merchant, alice.account.id, "order-1001", 129_900, "Headphones")
    shipped = _hold(bus, merchant, alice.account.id, "order-1002", 80_000, "Two books")
    bus.execute(merchant, commands.Capture(hold_id=shipped.id, amount=Money(35_000)))
    cancelled = _hold(bus, merchant, alice.account.id, "order-1003", 25_000, "Phone case")
    bus.execute(merchant, commands.Release(hold_id=cancelled.id, reason="order cancelled"))
    # Bob: a delivered order, part of it repaid and part refunded.
    delivered = _hold(bus, merchant, bob.account.id, "order-2001", 60_000, "Rice cooker")
    bus.execute(merchant, commands.Capture(hold_id=delivered.id, amount=Money(60_000), final=True))
    bus.execute(
        platform,
        commands.Repay(
            account_id=bob.account.id, amount=Money(20_000), reference="demo-wechat-0001"
        ),
    )
    bus.execute(
        merchant,
        commands.Refund(hold_id=delivered.id, amount=Money(5_000), reason="one item returned"),
    )
    # Carol: a hold that expired last week (the merchant never shipped), and frozen.
    _expired_hold(runtime, merchant, carol.account.id, now)
    bus.execute(
        SYSTEM,
        commands.ChangeAccountStatus(
            account_id=carol.account.id, action=AccountAction.FREEZE, reason="demo: overdue"
        ),
    )
    accounts = {"alice": alice.account.id, "bob": bob.account.id, "carol": carol.account.id}
    return DemoData(created=True, keys=_keys(), accounts=accounts)


class _DemoIds:
    """Fixed, readable ids for the demo accounts (so the README's tour can name them)."""

    def __init__(self, fallback: IdGenerator) -> None:
        self._accounts = iter(DEMO_ACCOUNT_IDS.values())
        self._fallback = fallback

    def __call__(self, prefix: str) -> str:
        if prefix == "acct":
            return next(self._accounts)
        return self._fallback(prefix)


def _keys() -> dict[str, str]:
    return {
        "platform": PLATFORM_KEY,
        "merchant": MERCHANT_KEY,
        "consumer (alice)": CONSUMER_KEY,
        "operator": OPERATOR_KEY,
    }


def _directory(runtime: Runtime, now: datetime) -> None:
    with runtime.uow_factory(write=True) as uow:
        directory.create_platform(uow, name="Demo Shop", now=now, platform_id=PLATFORM_ID)
        directory.create_merchant(
            uow, platform_id=PLATFORM_ID, name="Demo Merchant", now=now, merchant_id=MERCHANT_ID
        )
        bindings = [
            (
                PLATFORM_KEY,
                Actor(
                    key_id="-", role=Role.PLATFORM, platform_id=PLATFORM_ID, name="demo-platform"
                ),
            ),
            (
                MERCHANT_KEY,
                Actor(
                    key_id="-",
                    role=Role.MERCHANT,
                    platform_id=PLATFORM_ID,
                    merchant_id=MERCHANT_ID,
                    name="demo-merchant",
                ),
            ),
            (OPERATOR_KEY, Actor(key_id="-", role=Role.OPERATOR, name="demo-operator")),
        ]
        for key, binding in bindings:
            directory.issue_api_key(uow, binding=binding, now=now, new_id=runtime.new_id, key=key)
        uow.commit()


def _consumer_key(runtime: Runtime, account_id: str, now: datetime) -> None:
    with runtime.uow_factory(write=True) as uow:
        binding = Actor(key_id="-", role=Role.CONSUMER, account_id=account_id, name="alice")
        directory.issue_api_key(
            uow, binding=binding, now=now, new_id=runtime.new_id, key=CONSUMER_KEY
        )
        uow.commit()


def _open(bus: CommandBus, platform: Actor, ref: str, limit_fen: int) -> AccountView:
    view = bus.execute(
        platform, commands.OpenAccount(external_ref=ref, credit_limit=Money(limit_fen))
    )
    assert isinstance(view, AccountView)
    return view


def _hold(
    bus: CommandBus, merchant: Actor, account_id: str, order: str, fen: int, description: str
) -> Hold:
    hold = bus.execute(
        merchant,
        commands.Authorize(
            account_id=account_id, order_id=order, amount=Money(fen), description=description
        ),
    )
    assert isinstance(hold, Hold)
    return hold


def _expired_hold(runtime: Runtime, merchant: Actor, account_id: str, now: datetime) -> None:
    past = FixedClock(now - timedelta(days=9))
    bus = CommandBus(runtime.uow_factory, past, runtime.new_id)
    _hold(bus, merchant, account_id, "order-3001", 45_000, "Gift box (never shipped)")
    sweep(runtime.uow_factory, now=now, new_id=runtime.new_id)
