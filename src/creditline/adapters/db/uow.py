"""The SQL unit of work: one connection, one transaction, rolled back unless committed.

Hot writes are batched by the `Driver` and flushed before the next read and at commit
(see driver.py), so `commit()` may raise `WriteConflict`; the transaction is then rolled
back when the unit of work exits.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction

from creditline.adapters.db.accounts import SqlAccountStore
from creditline.adapters.db.driver import Driver
from creditline.adapters.db.engine import begin_options
from creditline.adapters.db.events import SqlDeadLetterStore, SqlInboxStore, SqlOutboxStore
from creditline.adapters.db.holds import SqlHoldStore
from creditline.adapters.db.journal import SqlJournalStore
from creditline.adapters.db.records import (
    DirectoryCache,
    SqlAuditStore,
    SqlDirectoryStore,
    SqlIdempotencyStore,
)
from creditline.adapters.db.risk import SqlRiskStore
from creditline.adapters.db.verification import SqlVerificationStore
from creditline.adapters.features import SqlFeatureStore
from creditline.service.notifications.ports import OutboxStore
from creditline.service.orders.ports import DeadLetterStore, InboxStore
from creditline.service.ports import (
    AccountStore,
    AuditStore,
    DirectoryStore,
    HoldStore,
    IdempotencyStore,
    JournalStore,
    StoreUnavailable,
    VerificationStore,
)
from creditline.service.risk.feature_store import FeatureStore
from creditline.service.risk.ports import RiskStore


class SqlUnitOfWork:
    def __init__(
        self,
        engine: Engine,
        cache: DirectoryCache,
        *,
        write: bool,
        snapshot: bool,
        writer_lock: WriterLock | None = None,
    ) -> None:
        self._engine = engine
        self._cache = cache
        self._writer_lock = writer_lock
        self._write = write
        self._snapshot = snapshot
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._driver: Driver | None = None

    def __enter__(self) -> Self:
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            return self._begin()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise

    def _begin(self) -> Self:
        connection = self._engine.connect()
        options = begin_options(self._engine, write=self._write, snapshot=self._snapshot)
        if options:
            connection.execution_options(**options)
        self._connection = connection
        self._transaction = connection.begin()
        driver = self._driver = Driver(connection)
        self.accounts: AccountStore = SqlAccountStore(connection, driver)
        self.holds: HoldStore = SqlHoldStore(connection, driver)
        self.journal: JournalStore = SqlJournalStore(connection, driver)
        self.idempotency: IdempotencyStore = SqlIdempotencyStore(driver)
        self.directory: DirectoryStore = SqlDirectoryStore(connection, driver, self._cache)
        self.audit: AuditStore = SqlAuditStore(connection, driver)
        self.verification: VerificationStore = SqlVerificationStore(connection)
        self.inbox: InboxStore = SqlInboxStore(connection, driver)
        self.dead_letters: DeadLetterStore = SqlDeadLetterStore(connection, driver)
        self.outbox: OutboxStore = SqlOutboxStore(connection, driver)
        self.risk: RiskStore = SqlRiskStore(connection, driver)
        self.features: FeatureStore = SqlFeatureStore.within(driver)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        assert self._transaction is not None
        assert self._driver is not None
        try:
            self._driver.close()
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self._connection.close()
            if self._writer_lock is not None:
                self._writer_lock.release()

    def commit(self) -> None:
        assert self._transaction is not None
        assert self._driver is not None
        self._driver.flush()
        self._transaction.commit()

    def rollback(self) -> None:
        assert self._transaction is not None
        assert self._driver is not None
        self._driver.discard()
        self._transaction.rollback()


class WriterLock:
    """SQLite has one writer. Threads of one process queue here, in order, instead of in
    SQLite's busy handler, which sleeps up to 100 ms between attempts and makes the tail
    latency of a busy embedded server terrible. Other processes still meet the busy
    handler (bounded by the same timeout)."""

    def __init__(self, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    def acquire(self) -> None:
        if not self._lock.acquire(timeout=self._timeout_s):
            raise StoreUnavailable(f"no write slot within {self._timeout_s:g} s")

    def release(self) -> None:
        self._lock.release()


class SqlUnitOfWorkFactory:
    """Makes units of work on one engine; holds the engine's per-process caches."""

    def __init__(self, engine: Engine, *, cache_ttl_s: float, busy_timeout_s: float = 5.0) -> None:
        self.engine = engine
        self.cache = DirectoryCache(cache_ttl_s)
        sqlite = engine.dialect.name == "sqlite"
        self._writer_lock = WriterLock(busy_timeout_s) if sqlite else None
        self.serialized_writes = sqlite
        """SQLite: a write unit of work holds the only write lock (BEGIN IMMEDIATE) from
        its first statement, so every read inside it is current."""

    def __call__(self, *, write: bool, snapshot: bool = False) -> SqlUnitOfWork:
        lock = self._writer_lock if write else None
        return SqlUnitOfWork(
            self.engine, self.cache, write=write, snapshot=snapshot, writer_lock=lock
        )
