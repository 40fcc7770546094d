"""Small supporting pieces: settings from the environment, ids, the TTL cache."""

from __future__ import annotations

import threading

import pytest

from creditline.adapters.cache import TtlCache
from creditline.adapters.ids import new_id, ulid
from creditline.config import Settings


def test_settings_read_the_environment_with_types() -> None:
    settings = Settings.from_env(
        {
            "CREDITLINE_PORT": "9000",
            "CREDITLINE_ACCESS_LOG": "off",
            "CREDITLINE_SWEEP_INTERVAL_S": "0.5",
        }
    )
    assert settings.port == 9000
    assert settings.access_log is False
    assert settings.sweep_interval_s == 0.5
    assert Settings.from_env({}).database_url == "sqlite:///./creditline.db"


def test_a_malformed_setting_names_the_variable() -> None:
    with pytest.raises(ValueError, match="CREDITLINE_PORT='eighty' is not a valid int"):
        Settings.from_env({"CREDITLINE_PORT": "eighty"})
    with pytest.raises(ValueError, match="CREDITLINE_ACCESS_LOG"):
        Settings.from_env({"CREDITLINE_ACCESS_LOG": "maybe"})


def test_ids_are_prefixed_unique_and_sorted_by_creation() -> None:
    made: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        batch = [ulid() for _ in range(2_000)]
        assert batch == sorted(batch)
        with lock:
            made.extend(batch)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == len(made)
    assert new_id("hold").startswith("hold_")
    assert len(new_id("hold")) == len("hold_") + 26


def test_ttl_cache_forgets_after_its_lifetime_and_bounds_its_size() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(10.0, entries_max=2, monotonic=lambda: now[0])
    cache.put("a", 1)
    assert cache.get("a") == 1
    now[0] = 10.5
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None
    assert cache.get("c") == 3
    off: TtlCache[str, int] = TtlCache(0.0)
    off.put("a", 1)
    assert off.get("a") is None
