"""Identifiers: a type prefix and a monotonic ULID ("hold_01JD3…"), sortable by creation.

The time part comes from the wall clock, not the business clock: ids order rows for
pagination and index locality, they carry no business meaning. 48 bits of milliseconds
and 80 random bits make collisions practically impossible; within one millisecond the
random part is incremented, so ids made by one process sort in the order they were made
(two events of one command, such as a final capture and the release of its rest, keep
their order in a timeline).
"""

from __future__ import annotations

import base64
import os
import threading
import time

_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
_ULID_CHARS = 26
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_PAD_BITS = 30
"""128 bits shifted into 160 (20 bytes, whole base32 groups): the first 26 characters are
the ULID, its two leading bits zero."""


class _Monotonic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def next(self) -> int:
        now_ms = time.time_ns() // 1_000_000
        with self._lock:
            if now_ms <= self._last_ms and self._last_random < _RANDOM_MAX:
                now_ms = self._last_ms
                random_part = self._last_random + 1
            else:
                random_part = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms = now_ms
            self._last_random = random_part
        return now_ms << _RANDOM_BITS | random_part


_generator = _Monotonic()


def ulid() -> str:
    packed = (_generator.next() << _PAD_BITS).to_bytes(20, "big")
    return base64.b32encode(packed)[:_ULID_CHARS].decode().translate(_CROCKFORD)


def new_id(prefix: str) -> str:
    assert prefix.isalpha(), prefix
    assert prefix.islower(), prefix
    return f"{prefix}_{ulid()}"
