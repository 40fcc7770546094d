"""The outside world as the service layer sees it: small storage interfaces and a clock.

`adapters/` implements these for SQLite and PostgreSQL (SQLAlchemy Core). Handlers only
talk to a `UnitOfWork`: one transaction that rolls back unless `commit()` is called.

Concurrency rule (DESIGN.md, "Concurrency"): a command reads its account (and hold)
without a lock and writes the account back only if its `version` is unchanged; every
change to a hold bumps its account's version, so that one check covers the aggregate.
A failed check is `WriteConflict(STALE_READ)` and the command runs again in careful
mode, which locks the account row first (`accounts.lock` / `accounts.lock_holding`).
Writers always write the account row before its holds, so row locks are taken in one
order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from creditline.domain.account import Account
from creditline.domain.hold import Hold, HoldEvent, HoldStatus
from creditline.domain.ledger import JournalEntry
from creditline.domain.money import Money
from creditline.domain.parties import Merchant, Platform
from creditline.service.access import Actor
from creditline.service.notifications.ports import OutboxStore
from creditline.service.orders.ports import DeadLetterStore, InboxStore
from creditline.service.pages import Page
from creditline.service.risk.feature_store import FeatureStore
from creditline.service.risk.ports import RiskStore


class ConflictKind(StrEnum):
    """Uniqueness rules whose violation is an expected outcome, not a bug."""

    ORDER_HAS_PENDING_HOLD = "order_has_pending_hold"
    """An account may have only one pending hold per order."""
    IDEMPOTENCY_KEY_TAKEN = "idempotency_key_taken"
    """Someone stored an answer under this idempotency key first."""
    STALE_READ = "stale_read"
    """The account changed after this transaction read it without a lock."""
    EVENT_SEEN = "event_seen"
    """The inbox already holds this order event: it was applied before."""


class WriteConflict(Exception):
    """A write broke a uniqueness rule; the transaction is lost and must be rolled back.

    Writes may be batched until commit, so this can surface from `commit()` as well as
    from the write itself.
    """

    def __init__(self, kind: ConflictKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


class StoreUnavailable(Exception):
    """The database could not do it now (lock or statement timeout, busy, disconnected).

    Nothing was written: the transaction is rolled back. Retrying with the same
    idempotency key is safe.
    """


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


IdGenerator = Callable[[str], str]
"""Makes a new unique id with the given prefix, e.g. "hold" → "hold_01J…"."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    status: int
    body: bytes
    created_at: datetime
    challenge_id: str | None = None
    """The step-up challenge this answer asks the caller to pass (or refused an answer to):
    a retry under the same key that answers it may replace the answer (`supersede`)."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    key_hash: str
    actor: Actor
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    at: datetime
    actor_key_id: str
    actor_role: str
    actor_name: str
    action: str
    target_id: str
    reason: str
    details: str = ""


@dataclass(frozen=True, slots=True)
class OrderContext:
    account_id: str
    held: Money
    trusted: bool


class AccountStore(Protocol):
    def add(self, account: Account) -> None: ...
    def get(self, account_id: str) -> Account | None: ...
    def lock(self, account_id: str, *, skip_locked: bool = False) -> Account | None: ...
    def lock_holding(self, hold_id: str) -> Account | None:
        """Lock the account that the hold belongs to."""
        ...

    def save(self, before: Account, after: Account) -> None:
        """Write `after` over `before`: WriteConflict(STALE_READ) if the row moved on."""
        ...

    def find_by_external_ref(self, platform_id: str, external_ref: str) -> Account | None: ...
    def list(self, platform_id: str | None, after: str | None, limit: int) -> Page[Account]: ...


class HoldStore(Protocol):
    def add(self, hold: Hold) -> None:
        """Insert; WriteConflict(ORDER_HAS_PENDING_HOLD) if the order already has one."""
        ...

    def get(self, hold_id: str) -> Hold | None: ...
    def get_with_account(self, hold_id: str) -> tuple[Hold, Account] | None:
        """The hold and its account, read together in one snapshot, without locks."""
        ...

    def save(self, hold: Hold) -> None: ...
    def add_events(self, events: Sequence[HoldEvent]) -> None: ...
    def events(self, hold_ids: Sequence[str]) -> dict[str, tuple[HoldEvent, ...]]:
        """Each hold's events, oldest first."""
        ...

    def pending_for_order(self, account_id: str, order_id: str) -> Hold | None: ...
    def past_deadline(self, account_id: str, now: datetime) -> list[Hold]: ...
    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(hold id, account id) of pending holds past their deadline, earliest first."""
        ...

    def expired_open_totals(self, account_ids: Sequence[str], now: datetime) -> dict[str, Money]:
        """Per account: what pending holds past their deadline still lock (absent: zero)."""
        ...

    def for_order(self, platform_id: str, order_id: str) -> tuple[Hold, Account] | None:
        """The order's hold — its pending one, else its latest — with its account."""
        ...

    def order_context(self, platform_id: str, order_ids: Sequence[str]) -> dict[str, OrderContext]:
        """Per order with a pending hold: its account, what it still holds, whether its
        merchant is trusted (to order a backlog)."""
        ...

    def pending_created_before(self, cutoff: datetime, limit: int) -> list[tuple[Hold, str]]:
        """Pending holds created before `cutoff`, oldest first, with their platform id."""
        ...

    def list_for_account(
        self,
        account_id: str,
        *,
        status: HoldStatus | None,
        merchant_id: str | None,
        after: str | None,
        limit: int,
        now: datetime,
    ) -> Page[Hold]:
        """Newest first; `status` filters by the effective status at `now`."""
        ...


class JournalStore(Protocol):
    def append(self, entry: JournalEntry) -> None: ...
    def list_for_account(
        self, account_id: str, after: str | None, limit: int
    ) -> Page[JournalEntry]: ...


class IdempotencyStore(Protocol):
    def add(self, record: IdempotencyRecord) -> None:
        """Insert; WriteConflict(IDEMPOTENCY_KEY_TAKEN) if the scope already has this key."""
        ...

    def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    def supersede(self, record: IdempotencyRecord, challenge_id: str) -> None:
        """Replace the answer under the record's key if it still asks for `challenge_id`;
        WriteConflict(IDEMPOTENCY_KEY_TAKEN) if another answer replaced it first."""
        ...


class DirectoryStore(Protocol):
    """Platforms, merchants and API keys: read often, changed rarely."""

    def add_platform(self, platform: Platform) -> None: ...
    def get_platform(self, platform_id: str) -> Platform | None: ...
    def update_platform(self, platform: Platform) -> None: ...
    def add_merchant(self, merchant: Merchant) -> None: ...
    def get_merchant(self, merchant_id: str) -> Merchant | None: ...
    def set_merchant_trusted(self, merchant_id: str, trusted: bool) -> None: ...
    def add_api_key(self, record: ApiKeyRecord) -> None: ...
    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...
    def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        """Mark a key revoked; False if there is no such unrevoked key."""
        ...


class AuditStore(Protocol):
    def add(self, record: AuditRecord) -> None: ...
    def list_for_target(self, target_id: str) -> list[AuditRecord]: ...


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """An account row beside what its journal and holds say it should hold."""

    account: Account
    journal_receivable: Money
    journal_consumer_credit: Money
    open_holds: Money


@dataclass(frozen=True, slots=True)
class HoldTotals:
    """A hold's stored amounts beside the sums of its events and journal entries."""

    hold_id: str
    captured: Money
    released: Money
    refunded: Money
    forced: Money
    event_captured: Money
    event_released: Money
    event_refunded: Money
    event_forced: Money
    journal_captured: Money
    journal_refunded: Money


@dataclass(frozen=True, slots=True)
class EntryProblem:
    entry_id: str
    detail: str


class VerificationStore(Protocol):
    """Aggregates for `creditline verify`, streamed in id order in one snapshot.

    Each method reads one statement through a server-side cursor, `batch` rows per
    round trip, so memory does not grow with the database. `account_id` narrows every
    read to that account, its holds and its entries; None reads everything.
    """

    def account_totals(self, account_id: str | None, batch: int) -> Iterator[AccountTotals]: ...
    def hold_totals(self, account_id: str | None, batch: int) -> Iterator[HoldTotals]: ...
    def entry_problems(self, account_id: str | None, batch: int) -> Iterator[EntryProblem]:
        """Entries whose postings do not sum to zero, whose size is not their debits or
        that have fewer than two postings; then postings without a sealed entry."""
        ...

    def entry_count(self, account_id: str | None) -> int: ...


class UnitOfWork(Protocol):
    accounts: AccountStore
    holds: HoldStore
    journal: JournalStore
    idempotency: IdempotencyStore
    directory: DirectoryStore
    audit: AuditStore
    verification: VerificationStore
    inbox: InboxStore
    dead_letters: DeadLetterStore
    outbox: OutboxStore
    risk: RiskStore
    features: FeatureStore
    """The database feature store, in this unit of work's transaction."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool, snapshot: bool = False) -> UnitOfWork:
        """A new unit of work.

        `write=True` takes the database's write lock up front (SQLite); `snapshot=True`
        makes every read of a read-only unit see one consistent snapshot (PostgreSQL
        REPEATABLE READ; SQLite read transactions always do).
        """
        ...
