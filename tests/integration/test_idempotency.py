"""Idempotency keys: replay the first answer, refuse another request, keep declines declined."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from creditline.adapters.db.schema import idempotency_record
from creditline.domain.errors import CreditlineError, IdempotencyKeyReused
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.bus import IdempotencyKey, Outcome
from creditline.service.verify import verify
from tests.conftest import START, World
from tests.integration.dbsnapshot import snapshot


def render(result: object) -> Outcome:
    assert isinstance(result, Hold)
    return Outcome(201, json.dumps({"id": result.id, "amount": result.amount.fen}).encode())


def render_error(error: CreditlineError) -> Outcome:
    return Outcome(402, json.dumps({"code": error.code}).encode())


def authorize_once(world: World, account_id: str, fen: int, key: str, order: str) -> Outcome:
    command = commands.Authorize(account_id=account_id, order_id=order, amount=Money(fen))
    idem = IdempotencyKey(scope="merchant:mer_one", key=key, fingerprint=f"{order}:{fen}")
    return world.runtime.bus.execute_idempotent(world.merchant, command, idem, render, render_error)


def test_same_key_same_request_replays_the_first_answer(world: World) -> None:
    account_id = world.open_account(100_000)
    first = authorize_once(world, account_id, 10_000, "k1", "o1")
    before = snapshot(world.runtime.engine)
    again = authorize_once(world, account_id, 10_000, "k1", "o1")
    assert again.body == first.body
    assert again.status == 201
    assert again.replayed
    assert not first.replayed
    assert snapshot(world.runtime.engine) == before


def test_same_key_other_request_is_a_conflict(world: World) -> None:
    account_id = world.open_account(100_000)
    authorize_once(world, account_id, 10_000, "k1", "o1")
    before = snapshot(world.runtime.engine)
    with pytest.raises(IdempotencyKeyReused):
        authorize_once(world, account_id, 10_001, "k1", "o1")
    assert snapshot(world.runtime.engine) == before


def test_a_declined_payment_stays_declined_on_retry(world: World) -> None:
    account_id = world.open_account(10_000)
    blocker = world.authorize(account_id, 9_000)
    declined = authorize_once(world, account_id, 5_000, "k-declined", "o2")
    assert json.loads(declined.body) == {"code": "insufficient_credit"}
    world.runtime.bus.execute(world.merchant, commands.Release(hold_id=blocker.id))
    retried = authorize_once(world, account_id, 5_000, "k-declined", "o2")
    assert retried.body == declined.body
    assert retried.replayed
    fresh = authorize_once(world, account_id, 5_000, "k-new", "o2")
    assert fresh.status == 201


def test_concurrent_retries_with_one_key_place_one_hold(world: World) -> None:
    account_id = world.open_account(1_000_000)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        outcome = authorize_once(world, account_id, 1_000, "k-race", "o-race")
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({o.body for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    account = world.account(account_id)
    assert account.locked == Money(1_000)
    assert verify(world.runtime.uow_factory).ok


def test_the_database_enforces_one_answer_per_key(world: World) -> None:
    row = {
        "scope": "s",
        "key": "k",
        "fingerprint": "f",
        "status": 201,
        "body": b"{}",
        "created_at": START,
    }
    with world.runtime.engine.begin() as conn:
        conn.execute(insert(idempotency_record), row)
    with pytest.raises(IntegrityError), world.runtime.engine.begin() as conn:
        conn.execute(insert(idempotency_record), {**row, "fingerprint": "other"})
