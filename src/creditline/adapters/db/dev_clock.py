"""The development clock: the wall clock plus an offset kept in the database.

In development mode (`CREDITLINE_CLOCK=movable`) every process of a deployment — the
server, its sweeper and billing run, the workers, the command line — reads time from
here, so an operator can move a line's life forward (`creditline clock advance --days
30`, or `POST /v1/clock`) and see statements issued, interest accrue and holds expire
through the real API in seconds. Time still flows: the offset is added to the wall
clock, never a frozen instant. It only moves forward (the offset never shrinks), so no
record is ever dated before one written earlier.

A process re-reads the offset at most every `REFRESH_S`; the one that moved the clock
sees it at once, the others within that time. Outside development mode this clock does
not exist: `Settings.production_problems` refuses the setting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from creditline.adapters.db.schema import dev_clock

REFRESH_S = 0.1
"""How stale another process's move may be when this process reads the time."""
MICROS = 1_000_000


class MovableClock:
    def __init__(self, engine: Engine, *, refresh_s: float = REFRESH_S) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._offset_us = 0
        self._read_at = float("-inf")

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(microseconds=self._offset())

    def offset(self) -> timedelta:
        """How far ahead of the wall clock this clock runs."""
        return timedelta(microseconds=self._offset())

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (never back); the new time."""
        micros = delta // timedelta(microseconds=1)
        if micros < 0:
            raise ValueError("the clock only moves forward")
        with self._engine.begin() as conn:
            self._ensure_row(conn)
            conn.execute(
                update(dev_clock)
                .where(dev_clock.c.id == 1)
                .values(offset_us=dev_clock.c.offset_us + micros, updated_at=datetime.now(UTC))
            )
        self._read_at = float("-inf")
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Move forward to `moment`; refused if it is not ahead of the clock's time."""
        if moment.tzinfo is None:
            raise ValueError("give the time with a time zone, e.g. 2027-01-01T09:00:00+08:00")
        ahead = moment - self.now()
        if ahead < timedelta(0):
            raise ValueError(f"{moment.isoformat()} is before the clock's {self.now().isoformat()}")
        return self.advance(ahead)

    def _offset(self) -> int:
        if time.monotonic() - self._read_at >= self._refresh_s:
            with self._lock, self._engine.connect() as conn:
                found = conn.execute(select(dev_clock.c.offset_us)).scalar_one_or_none()
                self._offset_us = int(found or 0)
                self._read_at = time.monotonic()
        return self._offset_us

    def _ensure_row(self, conn: Connection) -> None:
        values = {"id": 1, "offset_us": 0, "updated_at": datetime.now(UTC)}
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        conn.execute(insert(dev_clock).values(**values).on_conflict_do_nothing())
