"""A small time-limited cache for rows that are read on every request and rarely change."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

CACHE_ENTRIES_MAX = 10_000


class TtlCache(Generic[K, V]):
    """A small thread-safe LRU map whose entries are forgotten after `ttl_s` seconds."""

    def __init__(
        self,
        ttl_s: float,
        *,
        entries_max: int = CACHE_ENTRIES_MAX,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._entries_max = entries_max
        self._monotonic = monotonic
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < self._monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: K, value: V) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            self._items[key] = (self._monotonic() + self._ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self._entries_max:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
