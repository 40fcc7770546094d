"""Random sequences against a real database, checked after every step (Hypothesis).

A small reference model re-states the rules (available credit, hold lifecycle, expiry,
forced capture, refund split, repayment). Hypothesis drives the engine with authorize,
partial and final capture, release, forced capture, refund, repay, clock jumps, sweeps
and duplicated retries, on SQLite and on PostgreSQL. After every step:

- `verify` is clean: postings sum to zero, used equals the journal, locked equals the
  open holds, every hold equals its events and entries;
- each account's effective balances equal the model's, and available credit is never
  negative unless a forced capture is on record;
- a retried request returns exactly its first answer and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from creditline.adapters.clock import FixedClock
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.errors import CreditlineError, IdempotencyKeyReused
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.accounts.handlers import Repayment
from creditline.service.accounts.queries import get_account
from creditline.service.bus import IdempotencyKey, Outcome
from creditline.service.holds.expiry import sweep
from creditline.service.holds.queries import get_hold
from creditline.service.verify import verify
from tests.conftest import START, World, make_world, truncate_all

LIMIT = 100_000
TTLS = (3_600, 86_400, 3 * 86_400)


@dataclass
class ModelHold:
    account: int
    amount: int
    expires_at: object
    captured: int = 0
    released: int = 0
    refunded: int = 0
    forced: int = 0
    status: str = "pending"

    def effective(self, now: object) -> str:
        return "expired" if self.status == "pending" and now >= self.expires_at else self.status  # type: ignore[operator]

    @property
    def open(self) -> int:
        return self.amount - self.captured if self.status == "pending" else 0


@dataclass
class ModelAccount:
    used: int = 0
    credit_balance: int = 0
    forced: bool = False


@dataclass
class Sent:
    command: commands.Command
    key: IdempotencyKey
    outcome: Outcome


@dataclass
class Model:
    accounts: list[ModelAccount] = field(default_factory=list)
    holds: dict[str, ModelHold] = field(default_factory=dict)

    def locked(self, account: int, now: object) -> int:
        return sum(
            h.open
            for h in self.holds.values()
            if h.account == account and h.effective(now) == "pending"
        )

    def expire_due(self, now: object) -> None:
        for hold in self.holds.values():
            if hold.effective(now) == "expired" and hold.status == "pending":
                hold.released += hold.open
                hold.status = "expired"


def render(result: object) -> Outcome:
    if isinstance(result, Hold):
        body = {"hold": result.id, "captured": result.captured.fen, "status": result.status}
    else:
        assert isinstance(result, Repayment)
        body = {"used": result.account.account.used.fen}
    return Outcome(200, json.dumps(body).encode())


def render_error(error: CreditlineError) -> Outcome:
    return Outcome(409, json.dumps({"code": error.code}).encode())


class Engine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self, runtime: Runtime, clock: FixedClock) -> None:
        super().__init__()
        self.runtime = runtime
        self.clock = clock
        self.world: World = make_world(runtime)
        self.model = Model()
        self.account_ids = [self.world.open_account(LIMIT) for _ in range(2)]
        self.model.accounts = [ModelAccount() for _ in self.account_ids]
        self.sent: list[Sent] = []
        self.counter = 0

    # -- sending -------------------------------------------------------------------------

    def send(self, command: commands.Command) -> dict[str, object]:
        self.counter += 1
        key = IdempotencyKey(
            scope="merchant:mer_one",
            key=f"k{self.counter}",
            fingerprint=hashlib.sha256(repr(command).encode()).hexdigest(),
        )
        actor = self.world.platform if isinstance(command, commands.Repay) else self.world.merchant
        outcome = self.runtime.bus.execute_idempotent(actor, command, key, render, render_error)
        assert not outcome.replayed
        self.sent.append(Sent(command, key, outcome))
        parsed: dict[str, object] = json.loads(outcome.body)
        return parsed

    def expect_refusal(self, answer: dict[str, object], code: str | None) -> bool:
        """True if the engine accepted; checks it refused exactly when the model says."""
        assert answer.get("code") == code, (answer, code)
        return code is None

    # -- rules ---------------------------------------------------------------------------

    @rule(
        target=holds,
        account=st.integers(0, 1),
        amount=st.integers(1, LIMIT),
        ttl=st.sampled_from(TTLS),
    )
    def authorize(self, account: int, amount: int, ttl: int) -> str:
        now = self.clock.now()
        model = self.model.accounts[account]
        available = LIMIT - model.used - self.model.locked(account, now)
        answer = self.send(
            commands.Authorize(
                account_id=self.account_ids[account],
                order_id=f"o{self.counter}",
                amount=Money(amount),
                ttl_s=ttl,
            )
        )
        if self.expect_refusal(answer, None if amount <= available else "insufficient_credit"):
            hold_id = str(answer["hold"])
            self.model.holds[hold_id] = ModelHold(account, amount, now + timedelta(seconds=ttl))
            return hold_id
        return "declined"

    @precondition(lambda self: bool(self.model.holds))
    @rule(hold_id=holds, fraction=st.integers(1, 100), final=st.booleans(), force=st.booleans())
    def capture(self, hold_id: str, fraction: int, final: bool, force: bool) -> None:
        if hold_id not in self.model.holds:
            return
        hold = self.model.holds[hold_id]
        amount = max(1, hold.amount * fraction // 90)  # sometimes more than is left
        expected = self._capture_outcome(hold, amount, final, force)
        answer = self.send(
            commands.Capture(
                hold_id=hold_id,
                amount=Money(amount),
                final=final,
                force=force,
                reason="test" if force else None,
            )
        )
        if self.expect_refusal(answer, expected):
            self._apply_capture(hold, amount, final)

    def _capture_outcome(
        self, hold: ModelHold, amount: int, final: bool, force: bool
    ) -> str | None:
        now = self.clock.now()
        if hold.status in ("captured", "released"):
            return f"hold_already_{hold.status}"
        if hold.effective(now) == "expired":
            if not force:
                return "hold_expired"
            return "capture_exceeds_hold" if amount > hold.amount - hold.captured else None
        return "capture_exceeds_hold" if amount > hold.open else None

    def _apply_capture(self, hold: ModelHold, amount: int, final: bool) -> None:
        account = self.model.accounts[hold.account]
        account.used += amount
        if hold.effective(self.clock.now()) == "expired":
            if hold.status == "pending":
                hold.released += hold.open
            hold.captured += amount
            hold.forced += amount
            hold.status = "captured"
            account.forced = True
            return
        is_final = final or amount == hold.open
        rest = hold.open - amount if is_final else 0
        hold.captured += amount
        hold.released += rest
        if is_final:
            hold.status = "captured"

    @precondition(lambda self: bool(self.model.holds))
    @rule(hold_id=holds)
    def release(self, hold_id: str) -> None:
        if hold_id not in self.model.holds:
            return
        hold = self.model.holds[hold_id]
        state = hold.effective(self.clock.now())
        answer = self.send(commands.Release(hold_id=hold_id))
        if self.expect_refusal(answer, None if state == "pending" else f"hold_already_{state}"):
            hold.released += hold.open
            hold.status = "released"

    @precondition(lambda self: bool(self.model.holds))
    @rule(hold_id=holds, fraction=st.integers(1, 110))
    def refund(self, hold_id: str, fraction: int) -> None:
        if hold_id not in self.model.holds:
            return
        hold = self.model.holds[hold_id]
        amount = max(1, hold.captured * fraction // 100)
        refundable = hold.captured - hold.refunded
        answer = self.send(commands.Refund(hold_id=hold_id, amount=Money(amount)))
        if self.expect_refusal(answer, None if amount <= refundable else "refund_exceeds_captured"):
            self._apply_refund(hold, amount)

    def _apply_refund(self, hold: ModelHold, amount: int) -> None:
        account = self.model.accounts[hold.account]
        principal = min(amount, account.used)
        account.used -= principal
        account.credit_balance += amount - principal
        hold.refunded += amount

    @rule(account=st.integers(0, 1), fraction=st.integers(1, 120))
    def repay(self, account: int, fraction: int) -> None:
        model = self.model.accounts[account]
        amount = max(1, model.used * fraction // 100)
        answer = self.send(
            commands.Repay(account_id=self.account_ids[account], amount=Money(amount))
        )
        if self.expect_refusal(
            answer, None if amount <= model.used else "repayment_exceeds_balance"
        ):
            model.used -= amount

    @rule(hours=st.integers(1, 60))
    def advance_clock(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def run_sweeper(self) -> None:
        sweep(
            self.runtime.uow_factory, now=self.clock.now(), new_id=self.runtime.new_id, batch_size=3
        )
        # A batch of 3 may leave more; reads and decisions do not depend on it.
        self.model_sweep_partial()

    def model_sweep_partial(self) -> None:
        with self.runtime.uow_factory(write=False) as uow:
            for hold_id, model_hold in self.model.holds.items():
                stored = uow.holds.get(hold_id)
                assert stored is not None
                if stored.status.value == "expired" and model_hold.status == "pending":
                    model_hold.released += model_hold.open
                    model_hold.status = "expired"

    @precondition(lambda self: bool(self.sent))
    @rule(index=st.integers(0, 10_000), same_body=st.booleans())
    def retry(self, index: int, same_body: bool) -> None:
        first = self.sent[index % len(self.sent)]
        actor = (
            self.world.platform
            if isinstance(first.command, commands.Repay)
            else self.world.merchant
        )
        if same_body:
            again = self.runtime.bus.execute_idempotent(
                actor, first.command, first.key, render, render_error
            )
            assert again.replayed
            assert again.body == first.outcome.body
            return
        other = IdempotencyKey(first.key.scope, first.key.key, first.key.fingerprint[::-1])
        with pytest.raises(IdempotencyKeyReused):
            self.runtime.bus.execute_idempotent(actor, first.command, other, render, render_error)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        report = verify(self.runtime.uow_factory)
        assert report.ok, report.problems

    @invariant()
    def balances_match_the_model(self) -> None:
        now = self.clock.now()
        with self.runtime.uow_factory(write=False) as uow:
            for index, account_id in enumerate(self.account_ids):
                view = get_account(uow, self.world.operator, account_id, now)
                model = self.model.accounts[index]
                locked = self.model.locked(index, now)
                assert view.account.used.fen == model.used
                assert view.locked.fen == locked
                assert view.account.credit_balance.fen == model.credit_balance
                assert view.available.fen == max(0, LIMIT - model.used - locked)
                if view.over_limit.is_positive():
                    assert model.forced
            for hold_id, model_hold in self.model.holds.items():
                hold_view = get_hold(uow, self.world.operator, hold_id, now)
                assert hold_view.status.value == model_hold.effective(now)
                assert hold_view.hold.captured.fen == model_hold.captured
                assert hold_view.hold.refunded.fen == model_hold.refunded
                assert hold_view.hold.forced.fen == model_hold.forced


STATEFUL_SETTINGS = settings(
    # CREDITLINE_STATEFUL_EXAMPLES=500 for a long hunt; the default keeps CI quick.
    max_examples=int(os.environ.get("CREDITLINE_STATEFUL_EXAMPLES", "20")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def run_machine(machine: type[Engine], database_url: str, tmp_path: Path) -> None:
    """Run a state machine with a fresh database per example (a copy, or truncated)."""
    copies = iter(range(1_000_000))

    def fresh_machine() -> Engine:
        url = database_url
        if database_url.startswith("sqlite"):
            source = Path(database_url.removeprefix("sqlite:///"))
            copy = tmp_path / f"example-{next(copies)}.db"
            shutil.copy(source, copy)
            url = f"sqlite:///{copy}"
        else:
            truncate_all(database_url)
        clock = FixedClock(START)
        runtime = bootstrap(
            Settings(database_url=url, sweep_interval_s=0, risk_policy="observe"), clock=clock
        )
        engine = machine(runtime, clock)
        engine.teardown = runtime.close  # type: ignore[method-assign]
        return engine

    run_state_machine_as_test(fresh_machine, settings=STATEFUL_SETTINGS)  # type: ignore[arg-type]


def test_random_sequences_keep_every_invariant(database_url: str, tmp_path: Path) -> None:
    run_machine(Engine, database_url, tmp_path)
