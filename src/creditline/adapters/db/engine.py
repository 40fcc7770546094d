"""Engines for SQLite and PostgreSQL, set up so that every commit is durable and locks wait
a bounded time.

SQLite (embedded default): WAL journal with synchronous=FULL (a commit survives power
loss), foreign keys on, a busy timeout. pysqlite's own implicit transactions are turned
off and we emit BEGIN ourselves: BEGIN IMMEDIATE for writes, so a writer takes the
database's single write lock before reading the row it will change (SQLite's form of
SELECT … FOR UPDATE); a plain deferred BEGIN for reads, which see one WAL snapshot.

PostgreSQL: psycopg 3, READ COMMITTED (writers serialize on row locks), REPEATABLE READ
only for reads that ask for one snapshot (`verify`), synchronous_commit left on, and
lock_timeout / statement_timeout set once per connection, not per transaction: changing
connection settings per transaction would cost a round trip each time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry

from creditline.config import Settings

WRITE_OPTION = "creditline_write"


def make_engine(settings: Settings, *, pool_size: int | None = None) -> Engine:
    size = settings.db_pool_size if pool_size is None else pool_size
    if settings.is_sqlite:
        return _sqlite_engine(settings, size)
    return _postgres_engine(settings, size)


def _sqlite_engine(settings: Settings, pool_size: int) -> Engine:
    engine = create_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: this runs for every unit of work.
        driver_connection: Any = connection.connection.driver_connection
        driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(settings: Settings, pool_size: int) -> Engine:
    options = (
        f"-c lock_timeout={int(settings.db_lock_timeout_ms)} "
        f"-c statement_timeout={int(settings.db_statement_timeout_ms)} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    return create_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"options": options, "application_name": "creditline"},
    )


def begin_options(engine: Engine, *, write: bool, snapshot: bool) -> dict[str, Any]:
    """Execution options for a unit of work's connection (none: the engine's defaults)."""
    if engine.dialect.name == "sqlite":
        return {WRITE_OPTION: True} if write else {}
    return {"isolation_level": "REPEATABLE READ"} if snapshot and not write else {}
