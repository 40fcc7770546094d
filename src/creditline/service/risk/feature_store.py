"""Keyed windowed risk features behind one interface, with two stores.

An observation is (key, time, amount, tag): an attempt on `acct:<id>:attempt`, a
purchase on `acct:<id>:purchase` (amount), a device on `acct:<id>:device` (tag). A store
only records observations and returns them — newest first — for a window or the last N,
any number of such queries in one round trip;
`summarize` computes count, sum, distinct tags and last seen from them, the same code
for every store, so the stores agree by construction where it matters. The database
store is the embedded default; the Redis store is shared by many API processes. One
test suite runs against both (tests/integration/test_features.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

FEATURE_RETENTION_S = 40 * 86_400
"""Observations older than this are pruned (the longest window is a month)."""
RECENT_MAX = 100
"""The most observations a query for the last N returns."""
WINDOW_MAX = 1_000
"""The most observations one query returns (a window's count is capped here)."""


@dataclass(frozen=True, slots=True)
class Observation:
    at: datetime
    amount: int = 0
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    total: int
    distinct: int
    """Distinct non-empty tags."""
    last_at: datetime | None


def summarize(observations: Sequence[Observation]) -> Window:
    return Window(
        count=len(observations),
        total=sum(o.amount for o in observations),
        distinct=len({o.tag for o in observations if o.tag}),
        last_at=max((o.at for o in observations), default=None),
    )


@dataclass(frozen=True, slots=True)
class Query:
    """The newest observations of `key`: those at or after `since` (if given), at most
    `limit` of them. A window's count is exact up to `limit`; rules compare it with
    maxima far below that."""

    key: str
    since: datetime | None = None
    limit: int = WINDOW_MAX

    def __post_init__(self) -> None:
        assert 1 <= self.limit <= WINDOW_MAX, self


class FeatureStore(Protocol):
    def record(self, items: Sequence[tuple[str, Observation]]) -> None:
        """Record observations under their keys, in one round trip."""
        ...

    def read(self, queries: Sequence[Query]) -> list[list[Observation]]:
        """Each query's observations, newest first, all in one round trip."""
        ...

    def prefetch(self, queries: Sequence[Query]) -> None:
        """A hint: these queries will be read soon. The database store sends them with the
        unit of work's next read (the account's), saving a round trip; others ignore it."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget observations older than `before`; how many went (Redis: expiry does it)."""
        ...
