"""Keyed windowed risk features behind one interface, with two stores.

An observation is (key, time, amount, tag): an attempt on `acct:<id>:attempt`, a
purchase on `acct:<id>:purchase` (amount), a device on `acct:<id>:device` (tag). A store
only records observations and returns them — newest first — for a window or the last N;
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
"""The most observations a `latest` call returns."""


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


class FeatureStore(Protocol):
    def record(self, key: str, observation: Observation) -> None: ...

    def since(self, key: str, start: datetime) -> list[Observation]:
        """Observations at or after `start`, newest first."""
        ...

    def latest(self, key: str, count: int) -> list[Observation]:
        """The last `count` observations (at most `RECENT_MAX`), newest first."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget observations older than `before`; how many went (Redis: expiry does it)."""
        ...
