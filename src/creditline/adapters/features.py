"""The two feature stores: the database (embedded default) and Redis (shared, fast).

Database: one row per observation in `risk_observation`, indexed by (key, at); each
call is its own short transaction. Redis: one sorted set per key, scored by time in
microseconds, members carrying the observation as JSON (with a unique id so equal
observations stay distinct), and an expiry of `FEATURE_RETENTION_S` refreshed on each
write — so Redis prunes itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import Engine, delete, insert, select

from creditline.adapters.db.schema import risk_observation
from creditline.adapters.ids import new_id
from creditline.service.features import FEATURE_RETENTION_S, RECENT_MAX, Observation

MICROS = 1_000_000


class SqlFeatureStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, key: str, observation: Observation) -> None:
        row = {
            "id": new_id("obs"),
            "key": key,
            "at": observation.at,
            "amount": observation.amount,
            "tag": observation.tag,
        }
        with self._engine.begin() as conn:
            conn.execute(insert(risk_observation), [row])

    def _select(self, key: str) -> Any:
        c = risk_observation.c
        return select(c.at, c.amount, c.tag).where(c.key == key).order_by(c.at.desc(), c.id.desc())

    def since(self, key: str, start: datetime) -> list[Observation]:
        query = self._select(key).where(risk_observation.c.at >= start)
        with self._engine.connect() as conn:
            return [Observation(r.at, r.amount, r.tag) for r in conn.execute(query)]

    def latest(self, key: str, count: int) -> list[Observation]:
        query = self._select(key).limit(min(count, RECENT_MAX))
        with self._engine.connect() as conn:
            return [Observation(r.at, r.amount, r.tag) for r in conn.execute(query)]

    def prune(self, before: datetime) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(delete(risk_observation).where(risk_observation.c.at < before))
        return int(result.rowcount)


class RedisFeatureStore:
    def __init__(self, client: redis.Redis, prefix: str = "creditline:features:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "creditline:features:") -> RedisFeatureStore:
        return cls(redis.Redis.from_url(url), prefix)

    def record(self, key: str, observation: Observation) -> None:
        name = self._prefix + key
        member = json.dumps(
            [new_id("obs"), observation.at.isoformat(), observation.amount, observation.tag]
        )
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(name, {member: _score(observation.at)})
        pipe.expire(name, FEATURE_RETENTION_S)
        pipe.execute()

    def since(self, key: str, start: datetime) -> list[Observation]:
        members = self._redis.zrevrangebyscore(self._prefix + key, "+inf", _score(start))
        return _observations(members)

    def latest(self, key: str, count: int) -> list[Observation]:
        members = self._redis.zrevrange(self._prefix + key, 0, min(count, RECENT_MAX) - 1)
        return _observations(members)

    def prune(self, before: datetime) -> int:
        removed = 0
        for name in self._redis.scan_iter(match=self._prefix + "*"):
            removed += int(self._redis.zremrangebyscore(name, "-inf", f"({_score(before)}"))
        return removed

    def close(self) -> None:
        self._redis.close()


def _score(at: datetime) -> int:
    return round(at.timestamp() * MICROS)


def _observations(members: Any) -> list[Observation]:
    found = []
    for member in members:
        _id, at, amount, tag = json.loads(member)
        found.append(Observation(datetime.fromisoformat(at).astimezone(UTC), int(amount), tag))
    return found
