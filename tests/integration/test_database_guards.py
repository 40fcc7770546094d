"""The database itself refuses what the domain already refuses (hordak's paired checks):
unbalanced or reopened journal entries, edits of immutable rows, impossible balances."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from creditline.adapters.db.schema import credit_account, hold_event, journal_entry, posting
from creditline.domain.money import Money
from creditline.service import commands
from tests.conftest import START, World


def _entry(entry_id: str, account_id: str, amount: int) -> dict[str, object]:
    return {
        "id": entry_id,
        "account_id": account_id,
        "kind": "capture",
        "amount": amount,
        "hold_id": None,
        "forced": False,
        "memo": None,
        "at": START,
    }


def _posting(entry_id: str, account_id: str, line: int, amount: int) -> dict[str, object]:
    return {
        "entry_id": entry_id,
        "line": line,
        "account_id": account_id,
        "ledger_account": "receivable",
        "counterparty": None,
        "amount": amount,
    }


def seal(world: World, entry: dict[str, object], lines: list[dict[str, object]]) -> None:
    with world.runtime.engine.begin() as conn:
        conn.execute(insert(posting), lines)
        conn.execute(insert(journal_entry), entry)


def test_an_unbalanced_entry_cannot_be_sealed(world: World) -> None:
    account_id = world.open_account()
    lines = [_posting("je_x", account_id, 1, 100), _posting("je_x", account_id, 2, -99)]
    with pytest.raises(DBAPIError, match="unbalanced"):
        seal(world, _entry("je_x", account_id, 100), lines)


def test_an_entry_whose_amount_is_not_its_debits_is_refused(world: World) -> None:
    account_id = world.open_account()
    lines = [_posting("je_y", account_id, 1, 100), _posting("je_y", account_id, 2, -100)]
    with pytest.raises(DBAPIError, match="unbalanced"):
        seal(world, _entry("je_y", account_id, 50), lines)


def test_postings_without_an_entry_cannot_commit(world: World) -> None:
    account_id = world.open_account()
    with pytest.raises(IntegrityError), world.runtime.engine.begin() as conn:
        conn.execute(
            insert(posting),
            [_posting("je_z", account_id, 1, 100), _posting("je_z", account_id, 2, -100)],
        )


def test_sealed_entries_and_events_are_immutable(world: World) -> None:
    account_id = world.open_account()
    hold = world.authorize(account_id, 1_000)
    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=hold.id, amount=Money(1_000))
    )
    attempts = [
        update(posting).values(amount=5),
        delete(posting),
        update(journal_entry).values(amount=5),
        delete(journal_entry),
        update(hold_event).values(amount=5),
        delete(hold_event),
    ]
    for attempt in attempts:
        with pytest.raises(DBAPIError, match="immutable"), world.runtime.engine.begin() as conn:
            conn.execute(attempt)
    with world.runtime.engine.connect() as conn:
        entry_id = conn.execute(text("SELECT id FROM journal_entry")).scalar_one()
    with pytest.raises(DBAPIError, match="sealed"), world.runtime.engine.begin() as conn:
        conn.execute(insert(posting), _posting(entry_id, account_id, 3, 1))


def test_balances_cannot_go_negative_in_the_database(world: World) -> None:
    account_id = world.open_account()
    for column in ("used", "locked", "credit_balance", "credit_limit"):
        with pytest.raises(IntegrityError), world.runtime.engine.begin() as conn:
            conn.execute(
                update(credit_account).where(credit_account.c.id == account_id).values({column: -1})
            )
