"""The command bus: runs one command in one transaction, idempotently when asked.

`execute` runs a command and commits (CLI, demo loader, tests). `execute_idempotent`
is what every API write uses:

1. Do the work and render the answer, in one transaction.
2. In the same transaction insert the idempotency record (scope, key, fingerprint,
   answer). Its primary key is the guarantee: of two concurrent requests with one key,
   exactly one commits.
3. Committed → answer. The key was taken (`WriteConflict`) → someone used it first: the
   work is rolled back and their stored answer replayed (or `idempotency_key_reused` if
   their request was a different one).

A refusal (a typed `CreditlineError`) is stored the same way in a transaction of its
own, after the work is rolled back, so a declined payment stays declined on retry even
if credit has been freed since. Checking the key after the work costs nothing on the
common path (one insert, sent with the command's other writes) and needs no second
round trip to look the key up first.

A command that loses a race — its account changed after it was read (optimistic
concurrency), or another uniqueness rule was hit (an order's one pending hold) — is run
once more with `careful=True`: the handler then locks before it reads and checks before
it writes, so the second attempt cannot lose the same way.

A refusal is only ever decided on current state. The first attempt reads without a lock,
and a write's version check catches a stale read — but a refusal writes nothing, so a
stale read would go unnoticed: a payment refused for credit that another transaction
had just freed (expired holds it released first), and that refusal then replayed for
its idempotency key forever. So a refusal that depends on state
(`CreditlineError.decided_on_state`) from the unlocked attempt is decided once more,
carefully, under the account's lock, and only that answer is given and stored. Where
writers are serialized (SQLite: a write transaction holds the only write lock from its
first statement) every read is current and the refusal stands at once.

A step-up challenge is answered under the same key: the request that was answered
`challenge_required` is sent again with `challenge_id` and the verifier's token (which
the fingerprint leaves out, so it is still the same request), and because the stored
answer asks for exactly that challenge, the retry is run and its answer replaces the
stored one (`IdempotencyKey.answers`; a guarded update, so of two concurrent retries one
wins and the other replays its answer). Any other answer stays final.

A refusal may keep some writes (`Context.keep`): a payment the risk rules decline is
still logged, with its observations, in the refusal's transaction. Writes outside the
database (`Context.after_commit`) run once the outcome is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from creditline.domain.errors import CreditlineError, IdempotencyKeyReused
from creditline.service.access import Actor
from creditline.service.commands import Command
from creditline.service.context import Context
from creditline.service.handlers import HANDLERS
from creditline.service.ports import (
    Clock,
    ConflictKind,
    IdempotencyRecord,
    IdGenerator,
    UnitOfWork,
    UnitOfWorkFactory,
    WriteConflict,
)

if TYPE_CHECKING:
    from creditline.service.risk.engine import RiskEngine


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    scope: str
    """Whose keys these are: keys of different callers never collide."""
    key: str
    fingerprint: str
    """A hash of the request (operation and body): same key, other request → conflict."""
    answers: str | None = None
    """The step-up challenge this request answers: if the key's stored answer asks for
    exactly that challenge, this request is run and its answer replaces it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A rendered answer, as stored and as replayed."""

    status: int
    body: bytes
    replayed: bool = False
    challenge_id: str | None = None
    """A challenge this answer asks the caller to pass (or refused an answer to)."""


class CommandBus:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        new_id: IdGenerator,
        risk: RiskEngine | None = None,
        *,
        serialized_writes: bool = False,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.new_id = new_id
        self.risk = risk
        self.serialized_writes = serialized_writes
        """Write transactions run one at a time (SQLite), so their reads are current."""

    def _decide_again(self, refusal: CreditlineError, careful: bool) -> bool:
        """Whether a refusal from the unlocked attempt must be decided again, locked."""
        return not careful and not self.serialized_writes and refusal.decided_on_state

    def context(self, actor: Actor, *, careful: bool = False) -> Context:
        return Context(
            actor=actor, now=self.clock.now(), new_id=self.new_id, careful=careful, risk=self.risk
        )

    def execute(self, actor: Actor, command: Command) -> object:
        """Run a command and commit; a refusal raises and changes nothing but what the
        handler kept (a declined payment's decision log)."""
        handler = HANDLERS[type(command)]
        for careful in (False, True):
            ctx = self.context(actor, careful=careful)
            refusal: CreditlineError | None = None
            with self.uow_factory(write=True) as uow:
                try:
                    result = handler(uow, ctx, command)
                    uow.commit()
                except WriteConflict:
                    if careful:
                        raise
                    continue
                except CreditlineError as error:
                    if self._decide_again(error, careful):
                        continue
                    refusal = error
            if refusal is not None:
                if ctx.kept:
                    self._keep(ctx)
                raise refusal
            ctx.finished()
            return result
        raise AssertionError("unreachable: the careful attempt returns or raises")

    def _keep(self, ctx: Context) -> None:
        with self.uow_factory(write=True) as uow:
            for write in ctx.kept:
                write(uow)
            uow.commit()
        ctx.finished()

    def execute_idempotent(
        self,
        actor: Actor,
        command: Command,
        key: IdempotencyKey,
        render: Callable[[object], Outcome],
        render_error: Callable[[CreditlineError], Outcome],
    ) -> Outcome:
        handler = HANDLERS[type(command)]
        supersedes = None
        if key.answers is not None:
            with self.uow_factory(write=False) as uow:
                stored = uow.idempotency.get(key.scope, key.key)
            asks = stored is not None and stored.challenge_id == key.answers
            if stored is not None and (not asks or stored.fingerprint != key.fingerprint):
                return self._replay(key)  # answered already, or another request: as ever
            supersedes = None if stored is None else key.answers
        refused: Outcome | None = None
        for careful in (False, True):
            ctx = self.context(actor, careful=careful)
            with self.uow_factory(write=True) as uow:
                try:
                    outcome = render(handler(uow, ctx, command))
                    _store(uow, _record(key, outcome, ctx), supersedes)
                    uow.commit()
                    ctx.finished()
                    return outcome
                except CreditlineError as refusal:
                    if self._decide_again(refusal, careful):
                        continue  # decided on a read that may be stale: again, locked
                    refused = render_error(refusal)
                except WriteConflict as conflict:
                    if conflict.kind is ConflictKind.IDEMPOTENCY_KEY_TAKEN:
                        return self._replay(key)
                    if careful:
                        raise
                    continue  # lost a race or hit an order's one pending hold: once more, carefully
            break
        assert refused is not None
        return self._store_refusal(key, refused, ctx, supersedes)

    def _store_refusal(
        self, key: IdempotencyKey, refused: Outcome, ctx: Context, supersedes: str | None
    ) -> Outcome:
        with self.uow_factory(write=True) as uow:
            for write in ctx.kept:
                write(uow)
            _store(uow, _record(key, refused, ctx), supersedes)
            try:
                uow.commit()
            except WriteConflict as conflict:
                if conflict.kind is not ConflictKind.IDEMPOTENCY_KEY_TAKEN:
                    raise
                return self._replay(key)
        ctx.finished()
        return refused

    def _replay(self, key: IdempotencyKey) -> Outcome:
        with self.uow_factory(write=False) as uow:
            stored = uow.idempotency.get(key.scope, key.key)
        assert stored is not None, key
        if stored.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key.key!r} was first used for a different request; "
                "use a new key for a new request",
                idempotency_key=key.key,
            )
        return Outcome(status=stored.status, body=stored.body, replayed=True)


def _record(key: IdempotencyKey, outcome: Outcome, ctx: Context) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=key.scope,
        key=key.key,
        fingerprint=key.fingerprint,
        status=outcome.status,
        body=outcome.body,
        created_at=ctx.now,
        challenge_id=outcome.challenge_id,
    )


def _store(uow: UnitOfWork, record: IdempotencyRecord, supersedes: str | None) -> None:
    """The answer under its key: a new record, or in place of the one asking for the
    challenge this request answered (a concurrent retry that replaced it first wins)."""
    if supersedes is None:
        uow.idempotency.add(record)
    else:
        uow.idempotency.supersede(record, supersedes)
