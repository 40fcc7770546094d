"""The core engine's state machine, with order events interleaved at random (Hypothesis).

Every rule of `test_stateful.Engine` still runs (authorize, captures, releases, refunds,
repayments, clock jumps, sweeps, retries), and order events join them: batches of one to
three events of any type for one order, in any order (cancelled before shipped,
delivered before shipped, events after expiry), a duplicate inside the batch, resent
batches (reversed: reordered duplicates), events for unknown orders. The same
invariants are checked after every step: `verify` is clean and every balance and hold
equals the model.

The model asks the outcome table (`decide`, tested on its own row by row in
tests/unit/test_order_events.py) what an event means for the hold as the model sees it,
then applies that decision with its own arithmetic; the engine must report the same
outcome and end in the same state — once per event id, however often it arrives.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from creditline.domain.hold import Hold, HoldStatus
from creditline.domain.money import Money
from creditline.domain.order_events import (
    AMOUNT_REQUIRED,
    Action,
    Decision,
    OrderEvent,
    OrderEventType,
    decide,
)
from creditline.service.orders.events import Received, process_events
from tests.integration.test_stateful import Engine, ModelHold, run_machine

EVENT_TYPES = list(OrderEventType)


class EngineWithEvents(Engine):
    sent_batches: list[list[OrderEvent]]

    def _events(self, batch: list[OrderEvent]) -> list[tuple[str, str]]:
        bus = self.runtime.bus
        now = self.clock.now()
        results = process_events(
            self.runtime.uow_factory,
            lambda careful: bus.context(self.world.platform, careful=careful),
            [Received(event, now, "test") for event in batch],
        )
        return [(r.status, r.outcome) for r in results]

    def _stored(self, hold_id: str) -> Hold:
        with self.runtime.uow_factory(write=False) as uow:
            stored = uow.holds.get(hold_id)
        assert stored is not None
        return stored

    def _as_domain(self, stored: Hold, hold: ModelHold) -> Hold:
        return replace(
            stored,
            captured=Money(hold.captured),
            released=Money(hold.released),
            refunded=Money(hold.refunded),
            forced=Money(hold.forced),
            status=HoldStatus(hold.status),
        )

    def _apply_decision(self, hold: ModelHold, decision: Decision) -> None:
        match decision.action:
            case Action.CAPTURE | Action.CAPTURE_FINAL | Action.FORCE_CAPTURE:
                assert decision.amount is not None
                final = decision.action is Action.CAPTURE_FINAL
                self._apply_capture(hold, decision.amount.fen, final)
            case Action.RELEASE | Action.SETTLE:
                hold.released += hold.open
                hold.status = "captured" if decision.action is Action.SETTLE else "released"
            case Action.REFUND:
                assert decision.amount is not None
                self._apply_refund(hold, decision.amount.fen)
            case Action.NOTHING | Action.DEAD_LETTER:
                pass

    @precondition(lambda self: bool(self.model.holds))
    @rule(
        hold_id=Engine.holds,
        kinds=st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=3),
        fractions=st.lists(st.one_of(st.none(), st.integers(1, 110)), min_size=3, max_size=3),
        duplicate=st.booleans(),
    )
    def order_events(
        self,
        hold_id: str,
        kinds: list[OrderEventType],
        fractions: list[int | None],
        duplicate: bool,
    ) -> None:
        self._send_events(hold_id, kinds, fractions, duplicate)

    @precondition(lambda self: bool(self.model.holds))
    @rule(
        hold_id=Engine.holds,
        then=st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2),
        fractions=st.lists(st.one_of(st.none(), st.integers(10, 60)), min_size=3, max_size=3),
    )
    def partial_shipment_then_events(
        self, hold_id: str, then: list[OrderEventType], fractions: list[int | None]
    ) -> None:
        """The common life of an order: a part ships, then anything may follow."""
        self._send_events(hold_id, [OrderEventType.SHIPPED, *then], [30, *fractions], False)

    def _send_events(
        self,
        hold_id: str,
        kinds: list[OrderEventType],
        fractions: list[int | None],
        duplicate: bool,
    ) -> None:
        if hold_id not in self.model.holds:
            return
        model_hold = self.model.holds[hold_id]
        stored = self._stored(hold_id)
        batch = []
        for kind, fraction in zip(kinds, fractions, strict=False):
            amount = None if fraction is None else max(1, model_hold.amount * fraction // 100)
            if kind in AMOUNT_REQUIRED and amount is None:
                amount = 1
            self.counter += 1
            batch.append(
                OrderEvent(
                    platform_id="plat_test",
                    event_id=f"ev{self.counter}",
                    type=kind,
                    order_id=stored.order_id,
                    occurred_at=self.clock.now(),
                    amount=None if amount is None else Money(amount),
                )
            )
        expected = []
        for event in batch:
            decision = decide(event, self._as_domain(stored, model_hold), self.clock.now())
            status = {Action.DEAD_LETTER: "dead_lettered", Action.NOTHING: "ignored"}
            expected.append((status.get(decision.action, "applied"), decision.outcome))
            self._apply_decision(model_hold, decision)
        if duplicate:
            batch.append(batch[0])
            expected.append(("duplicate", "duplicate"))
        assert self._events(batch) == expected
        self.sent_batches = [*getattr(self, "sent_batches", []), batch]

    @precondition(lambda self: bool(getattr(self, "sent_batches", None)))
    @rule(index=st.integers(0, 10_000), reverse=st.booleans())
    def resend_events(self, index: int, reverse: bool) -> None:
        """A platform retrying a batch, possibly in another order: nothing happens twice."""
        batch = self.sent_batches[index % len(self.sent_batches)]
        again = list(reversed(batch)) if reverse else batch
        assert {status for status, _ in self._events(again)} == {"duplicate"}

    @rule(kind=st.sampled_from(EVENT_TYPES))
    def event_for_an_unknown_order(self, kind: OrderEventType) -> None:
        self.counter += 1
        event = OrderEvent(
            platform_id="plat_test",
            event_id=f"ev{self.counter}",
            type=kind,
            order_id="never-authorized",
            occurred_at=self.clock.now(),
            amount=Money(100),
        )
        assert self._events([event]) == [("dead_lettered", "unknown_order")]


def test_random_sequences_with_order_events_keep_every_invariant(
    database_url: str, tmp_path: Path
) -> None:
    run_machine(EngineWithEvents, database_url, tmp_path)
