"""`verify` recomputes balances from the journal and holds and names every mismatch."""

from __future__ import annotations

from sqlalchemy import update

from creditline.adapters.db.schema import credit_account, hold
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.verify import verify
from tests.conftest import World


def setup_activity(world: World) -> tuple[str, str]:
    account_id = world.open_account(100_000)
    captured = world.authorize(account_id, 30_000)
    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=captured.id, amount=Money(10_000))
    )
    world.runtime.bus.execute(
        world.platform, commands.Repay(account_id=account_id, amount=Money(4_000))
    )
    return account_id, captured.id


def test_a_consistent_database_verifies_clean(world: World) -> None:
    setup_activity(world)
    report = verify(world.runtime.uow_factory, page_size=1)
    assert report.ok
    assert (report.accounts, report.holds, report.entries) == (1, 1, 2)


def test_tampered_balances_are_reported(world: World) -> None:
    account_id, _ = setup_activity(world)
    with world.runtime.engine.begin() as conn:
        conn.execute(
            update(credit_account)
            .where(credit_account.c.id == account_id)
            .values(used=credit_account.c.used + 1, locked=credit_account.c.locked - 2)
        )
    report = verify(world.runtime.uow_factory)
    found = {(p.kind, p.object_id, p.expected, p.actual) for p in report.problems}
    assert found == {
        ("used_mismatch", account_id, 6_000, 6_001),
        ("locked_mismatch", account_id, 20_000, 19_998),
    }


def test_tampered_holds_are_reported(world: World) -> None:
    _, hold_id = setup_activity(world)
    with world.runtime.engine.begin() as conn:
        conn.execute(update(hold).where(hold.c.id == hold_id).values(refunded=1))
    kinds = {p.kind for p in verify(world.runtime.uow_factory).problems}
    assert kinds == {"hold_refunded_events", "hold_refunded_journal"}


def test_over_limit_without_a_forced_capture_is_reported(world: World) -> None:
    account_id, _ = setup_activity(world)
    with world.runtime.engine.begin() as conn:
        conn.execute(
            update(credit_account).where(credit_account.c.id == account_id).values(credit_limit=1)
        )
    kinds = {p.kind for p in verify(world.runtime.uow_factory).problems}
    assert kinds == {"over_limit_unflagged"}
