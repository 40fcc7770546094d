"""Applying order events: inbox, outcome table, dead letters, priority, group commit.

Every way in — the HTTP batch endpoint, the JetStream worker, reconciliation and an
operator's replay — ends in `apply_event`, inside a unit of work:

1. find the order's hold (its pending one, else its latest) and account;
2. `decide` (domain/order_events.py) what the event does given the hold's state;
3. persist the change (capture, release, refund, forced capture — with its journal entry
   and notifications), or a dead letter, or nothing;
4. insert the event into the inbox with its outcome. The inbox's primary key makes a
   second delivery of the event a `WriteConflict(EVENT_SEEN)`: exactly-once effect.

`process_events` takes a batch: it drops events already in the inbox (one query),
orders the rest by `priority` across orders (never within an order), and applies them
`EVENTS_PER_TRANSACTION` at a time in one transaction each — group commit, because one
transaction per event cannot drain a burst of thousands in a second. Inside a
transaction the events run in account order, so concurrent batches lock accounts in one
order. If a batch transaction loses any race, its events are rolled back and applied
again one per transaction (the second try of each locks first, like the command bus).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from creditline.domain import hold as holds
from creditline.domain.account import Account
from creditline.domain.errors import CreditlineError, DeadLetterNotReplayable
from creditline.domain.hold import Hold, HoldChange, Stamp
from creditline.domain.money import Money
from creditline.domain.order_events import (
    Action,
    Decision,
    OrderEvent,
    OrderEventType,
    decide,
    priority,
)
from creditline.domain.refund import refund
from creditline.service.context import Context
from creditline.service.holds.expiry import persist_hold_change
from creditline.service.orders.ports import DeadLetter, InboxRecord
from creditline.service.ports import (
    ConflictKind,
    OrderContext,
    StoreUnavailable,
    UnitOfWork,
    UnitOfWorkFactory,
    WriteConflict,
)

INVALID_MESSAGE = "invalid_message"
"""The dead letters of messages that could not be read: fixed by resending, not replay."""
EVENTS_PER_TRANSACTION = 50
EVENTS_PER_BATCH_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Received:
    """An event as it arrived: when, and through which door."""

    event: OrderEvent
    received_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class EventResult:
    event_id: str
    status: str
    """applied, ignored (changed nothing: see outcome), dead_lettered or duplicate."""
    outcome: str
    detail: str
    hold_id: str | None = None


def event_json(event: OrderEvent) -> str:
    return json.dumps(
        {
            "platform_id": event.platform_id,
            "event_id": event.event_id,
            "type": event.type.value,
            "order_id": event.order_id,
            "occurred_at": event.occurred_at.isoformat(),
            "amount": None if event.amount is None else event.amount.fen,
        },
        separators=(",", ":"),
    )


def event_from_json(text: str) -> OrderEvent:
    """An event as `event_json` wrote it; ValueError for anything else (the payload of a
    dead letter is only trusted this far)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    texts = [data.get(name) for name in ("platform_id", "event_id", "type", "order_id")]
    if not all(isinstance(value, str) and value for value in texts):
        raise ValueError("platform_id, event_id, type and order_id must be text")
    amount = data.get("amount")
    if amount is not None and (type(amount) is not int or amount <= 0):
        raise ValueError("amount must be a positive integer of fen")
    occurred_at = datetime.fromisoformat(str(data["occurred_at"]))
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at has no time zone")
    return OrderEvent(
        platform_id=data["platform_id"],
        event_id=data["event_id"],
        type=OrderEventType(data["type"]),
        order_id=data["order_id"],
        occurred_at=occurred_at,
        amount=None if amount is None else Money(amount),
    )


def apply_event(
    uow: UnitOfWork, ctx: Context, received: Received, *, replay: bool = False
) -> EventResult:
    """Apply one event inside the caller's transaction (see the module docstring)."""
    event = received.event
    found = _hold_of(uow, ctx, event)
    hold, account = found if found is not None else (None, None)
    decision = decide(event, hold, ctx.now)
    status = {Action.DEAD_LETTER: "dead_lettered", Action.NOTHING: "ignored"}.get(
        decision.action, "applied"
    )
    if hold is not None and account is not None and status == "applied":
        try:
            change = _change(account, hold, decision, ctx, received)
        except CreditlineError as refusal:  # decide() should make this impossible
            decision = Decision(Action.DEAD_LETTER, f"refused_{refusal.code}", refusal.detail)
            status = "dead_lettered"
        else:
            persist_hold_change(uow, account, change, now=ctx.now, new_id=ctx.new_id)
    if status == "dead_lettered" and not replay:
        uow.dead_letters.add(
            DeadLetter(
                id=ctx.new_id("dlq"),
                kind="order_event",
                platform_id=event.platform_id,
                ref=event.event_id,
                reason=decision.outcome,
                detail=decision.reason,
                payload=event_json(event),
                created_at=ctx.now,
            )
        )
    record = InboxRecord(
        platform_id=event.platform_id,
        event_id=event.event_id,
        type=event.type.value,
        order_id=event.order_id,
        amount=event.amount,
        occurred_at=event.occurred_at,
        received_at=received.received_at,
        applied_at=ctx.now,
        source=received.source,
        outcome=decision.outcome,
        detail=decision.reason,
        hold_id=None if hold is None else hold.id,
        account_id=None if account is None else account.id,
    )
    if replay:
        uow.inbox.record_replay(record)
    else:
        uow.inbox.add(record)
    return EventResult(
        event.event_id, status, decision.outcome, decision.reason, None if hold is None else hold.id
    )


def _hold_of(uow: UnitOfWork, ctx: Context, event: OrderEvent) -> tuple[Hold, Account] | None:
    found = uow.holds.for_order(event.platform_id, event.order_id)
    if found is None or not ctx.careful:
        return found
    account = uow.accounts.lock_holding(found[0].id)
    hold = uow.holds.get(found[0].id)
    assert account is not None, found
    assert hold is not None, found
    return hold, account


def _change(
    account: Account, hold: Hold, decision: Decision, ctx: Context, received: Received
) -> HoldChange:
    event = received.event
    stamp = Stamp(
        ctx.now,
        actor=f"order-events:{received.source}",
        reason=f"{event.type.value} ({event.event_id})",
    )
    match decision.action:
        case Action.CAPTURE | Action.CAPTURE_FINAL | Action.FORCE_CAPTURE:
            assert decision.amount is not None, decision
            return holds.capture(
                account,
                hold,
                amount=decision.amount,
                final=decision.action is Action.CAPTURE_FINAL,
                force=decision.action is Action.FORCE_CAPTURE,
                stamp=stamp,
                ids=ctx.event_ids(),
            )
        case Action.RELEASE:
            return holds.release(account, hold, stamp=stamp, event_id=ctx.new_id("hev"))
        case Action.SETTLE:
            return holds.settle(account, hold, stamp=stamp, event_id=ctx.new_id("hev"))
        case Action.REFUND:
            assert decision.amount is not None, decision
            return refund(
                account,
                hold,
                amount=decision.amount,
                stamp=stamp,
                event_id=ctx.new_id("hev"),
                entry_id=ctx.new_id("je"),
            )
    raise AssertionError(f"no change for {decision}")


ContextFactory = Callable[[bool], Context]
"""Makes a handler context; the argument says whether to be careful (lock first)."""


def process_events(
    uow_factory: UnitOfWorkFactory,
    context: ContextFactory,
    batch: Sequence[Received],
    *,
    per_transaction: int = EVENTS_PER_TRANSACTION,
) -> list[EventResult]:
    """Apply a batch exactly once each, highest priority first; results in input order."""
    assert len(batch) <= EVENTS_PER_BATCH_MAX, len(batch)
    results: dict[int, EventResult] = {}
    fresh: list[int] = []
    with uow_factory(write=False) as uow:
        known: set[tuple[str, str]] = set()
        for platform_id in {r.event.platform_id for r in batch}:
            ids = [r.event.event_id for r in batch if r.event.platform_id == platform_id]
            known |= {(platform_id, e) for e in uow.inbox.seen(platform_id, ids)}
        for index, received in enumerate(batch):
            key = (received.event.platform_id, received.event.event_id)
            if key in known:
                results[index] = _duplicate(received.event)
            else:
                known.add(key)
                fresh.append(index)
        contexts = _order_contexts(uow, [batch[i] for i in fresh])
    ordered = _by_priority(fresh, batch, contexts)
    for start in range(0, len(ordered), per_transaction):
        chunk = ordered[start : start + per_transaction]
        chunk.sort(key=lambda i: _account_key(batch[i].event, contexts))
        try:
            with uow_factory(write=True) as uow:
                ctx = context(False)
                done = {i: apply_event(uow, ctx, batch[i]) for i in chunk}
                uow.commit()
            results.update(done)
        except (WriteConflict, StoreUnavailable):
            for index in chunk:  # lost a race: one event per transaction, carefully
                results[index] = apply_one(uow_factory, context, batch[index])
    return [results[index] for index in range(len(batch))]


def apply_one(
    uow_factory: UnitOfWorkFactory, context: ContextFactory, received: Received
) -> EventResult:
    """One event in its own transaction; a second, careful attempt after a lost race."""
    for careful in (False, True):
        with uow_factory(write=True) as uow:
            try:
                result = apply_event(uow, context(careful), received)
                uow.commit()
            except WriteConflict as conflict:
                if conflict.kind is ConflictKind.EVENT_SEEN:
                    return _duplicate(received.event)
                if careful:
                    raise
                continue
        return result
    raise AssertionError("unreachable: the careful attempt returns or raises")


def _duplicate(event: OrderEvent) -> EventResult:
    return EventResult(
        event.event_id,
        "duplicate",
        "duplicate",
        "this event id was received before; nothing changed",
    )


def _order_contexts(
    uow: UnitOfWork, batch: Sequence[Received]
) -> dict[tuple[str, str], OrderContext]:
    contexts: dict[tuple[str, str], OrderContext] = {}
    for platform_id in {r.event.platform_id for r in batch}:
        orders = list({r.event.order_id for r in batch if r.event.platform_id == platform_id})
        for order_id, found in uow.holds.order_context(platform_id, orders).items():
            contexts[(platform_id, order_id)] = found
    return contexts


def _by_priority(
    indexes: Sequence[int],
    batch: Sequence[Received],
    contexts: dict[tuple[str, str], OrderContext],
) -> list[int]:
    """Orders sorted by the priority of their first event; each order keeps its sequence."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index in indexes:
        event = batch[index].event
        groups.setdefault((event.platform_id, event.order_id), []).append(index)

    def rank(members: list[int]) -> tuple[int, int, int]:
        first = batch[members[0]].event
        found = contexts.get((first.platform_id, first.order_id))
        return priority(
            first,
            held=None if found is None else found.held,
            trusted=found is not None and found.trusted,
        )

    return [index for members in sorted(groups.values(), key=rank) for index in members]


def _account_key(event: OrderEvent, contexts: dict[tuple[str, str], OrderContext]) -> str:
    found = contexts.get((event.platform_id, event.order_id))
    return "" if found is None else found.account_id


@dataclass(frozen=True, slots=True)
class ReplayResult:
    letter_id: str
    resolved: bool
    result: EventResult


def replay_dead_letter(
    uow_factory: UnitOfWorkFactory, context: ContextFactory, letter_id: str, now: datetime
) -> ReplayResult | None:
    """Apply a dead-lettered order event again; resolve the letter if it now applies."""
    with uow_factory(write=False) as uow:
        letter = uow.dead_letters.get(letter_id)
    if letter is None or letter.kind != "order_event" or letter.resolved_at is not None:
        return None
    try:
        if letter.reason == INVALID_MESSAGE:
            raise ValueError(letter.reason)  # refused at the door: nothing to apply
        event = event_from_json(letter.payload)
    except (ValueError, KeyError, TypeError, OverflowError):
        raise DeadLetterNotReplayable(
            f"dead letter {letter_id} holds a malformed message ({letter.reason}): the sender "
            "must fix it and send it again",
            letter_id=letter_id,
        ) from None
    received = Received(event, now, "replay")
    with uow_factory(write=True) as uow:
        result = apply_event(uow, context(True), received, replay=True)
        if result.status == "dead_lettered":
            uow.dead_letters.attempted(letter_id, detail=result.detail)
        else:
            uow.dead_letters.resolve(
                letter_id, at=now, resolution=f"replayed: {result.status} ({result.outcome})"
            )
        uow.commit()
    return ReplayResult(letter_id, result.status != "dead_lettered", result)
