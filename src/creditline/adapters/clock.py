"""Clocks: the system clock for running, a settable one for tests and simulations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None, "use an aware UTC datetime"
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        assert delta >= timedelta(0), "time only moves forward"
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            assert moment >= self._now, "time only moves forward"
            self._now = moment
