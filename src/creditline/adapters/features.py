"""The two feature stores: the database (embedded default) and Redis (shared, fast).

Database: one row per observation in `risk_observation`, indexed by (key, at, id), and
by time for pruning: `serve` forgets rows past `FEATURE_RETENTION_S` every
`CREDITLINE_RISK_PRUNE_INTERVAL_S` (or `creditline risk prune`), in batches. A
decision's queries go as one statement (a UNION ALL of one indexed, limited subquery per
query) on the bare driver (see db/driver.py). Inside a unit of work (`within`) the
store reads and writes in the authorization's own transaction, so a payment's
observations commit or roll back with its hold; on its own (`SqlFeatureStore(engine)`,
for tools and benches) each call is a short transaction.

Redis: one sorted set per key, scored by time in microseconds (exact), members carrying
the rest of the observation as `id|amount|tag` (the unique id keeps equal observations
distinct), and an
expiry of `FEATURE_RETENTION_S` refreshed on each write — so Redis prunes itself. A
decision's queries are one pipeline (one round trip); so are its writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import redis
from sqlalchemy import Engine, delete, select

from creditline.adapters.db.driver import Driver, Sql
from creditline.adapters.db.schema import risk_observation
from creditline.adapters.ids import new_id
from creditline.service.ports import StoreUnavailable
from creditline.service.risk.feature_store import FEATURE_RETENTION_S, Observation, Query

MICROS = 1_000_000
REDIS_TIMEOUT_S = 2.0
"""A Redis that does not answer within this is unavailable (the payment gets a 503)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRUNE_BATCH_ROWS = 5_000
"""Observations one pruning transaction deletes (the database store)."""


@cache
def _union(shape: tuple[tuple[bool, int], ...]) -> Sql:
    """One statement for queries of this shape: (has a window start, limit) each."""
    parts = []
    for n, (windowed, limit) in enumerate(shape):
        where = "key = {p} AND at >= {p}" if windowed else "key = {p}"
        parts.append(
            f"SELECT * FROM (SELECT {n} AS q, at, amount, tag FROM risk_observation "  # noqa: S608 (ints and a fixed clause)
            f"WHERE {where} ORDER BY at DESC, id DESC LIMIT {limit}) AS s{n}"
        )
    return Sql(" UNION ALL ".join(parts))


def _statement(db: Driver, queries: Sequence[Query]) -> tuple[Sql, list[Any]]:
    params: list[Any] = []
    for query in queries:
        params.append(query.key)
        if query.since is not None:
            params.append(db.to_db(query.since))
    return _union(tuple((q.since is not None, q.limit) for q in queries)), params


class SqlFeatureStore:
    def __init__(self, engine: Engine | None = None, *, driver: Driver | None = None) -> None:
        assert (engine is None) != (driver is None), "an engine or a unit of work's driver"
        self._engine = engine
        self._driver = driver

    @classmethod
    def within(cls, driver: Driver) -> SqlFeatureStore:
        """The store inside a unit of work: its reads and writes are that transaction's."""
        return cls(driver=driver)

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[Driver]:
        if self._driver is not None:
            yield self._driver
            return
        assert self._engine is not None
        with self._engine.begin() if write else self._engine.connect() as conn:
            driver = Driver(conn)
            try:
                yield driver
                driver.flush()
            finally:
                driver.close()

    def record(self, items: Sequence[tuple[str, Observation]]) -> None:
        if not items:
            return
        batch = new_id("obs")  # one id per call, numbered: ids cost ~20 µs each
        rows = [
            {"id": f"{batch}.{n}", "key": key, "at": o.at, "amount": o.amount, "tag": o.tag}
            for n, (key, o) in enumerate(items)
        ]
        with self._db(write=True) as db:
            db.defer_insert(risk_observation, rows)

    def prefetch(self, queries: Sequence[Query]) -> None:
        if queries and self._driver is not None:
            self._driver.prefetch(*_statement(self._driver, queries))

    def read(self, queries: Sequence[Query]) -> list[list[Observation]]:
        if not queries:
            return []
        found: list[list[Observation]] = [[] for _ in queries]
        with self._db(write=False) as db:
            for n, at, amount, tag in db.all(*_statement(db, queries)):
                when = db.from_db(at)
                assert when is not None
                found[n].append(Observation(when, amount, tag))
        for observations in found:  # UNION ALL keeps no order: each list newest first
            observations.sort(key=lambda o: o.at, reverse=True)
        return found

    def prune(self, before: datetime, *, batch_rows: int = PRUNE_BATCH_ROWS) -> int:
        """In batches, each its own short transaction: payments keep recording meanwhile."""
        assert self._engine is not None, "prune runs on its own, not inside a unit of work"
        c = risk_observation.c
        oldest = select(c.id).where(c.at < before).limit(batch_rows).scalar_subquery()
        removed = 0
        while True:
            with self._engine.begin() as conn:
                batch = int(conn.execute(delete(risk_observation).where(c.id.in_(oldest))).rowcount)
            removed += batch
            if batch < batch_rows:
                return removed


class RedisFeatureStore:
    def __init__(self, client: redis.Redis, prefix: str = "creditline:features:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "creditline:features:") -> RedisFeatureStore:
        return cls(redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S), prefix)

    def record(self, items: Sequence[tuple[str, Observation]]) -> None:
        if not items:
            return
        pipe = self._redis.pipeline(transaction=True)
        batch = new_id("obs")
        for n, (key, o) in enumerate(items):
            name = self._prefix + key
            member = _member(f"{batch}.{n}", o)
            pipe.zadd(name, {member: _score(o.at)})
            pipe.expire(name, FEATURE_RETENTION_S)
        pipe.execute()

    def prefetch(self, queries: Sequence[Query]) -> None:
        """Nothing to gain: Redis is read in its own round trip."""

    def read(self, queries: Sequence[Query]) -> list[list[Observation]]:
        pipe = self._redis.pipeline(transaction=False)
        for q in queries:
            name = self._prefix + q.key
            if q.since is None:
                pipe.zrevrange(name, 0, q.limit - 1, withscores=True)
            else:
                pipe.zrevrangebyscore(
                    name, "+inf", _score(q.since), start=0, num=q.limit, withscores=True
                )
        try:
            replies = pipe.execute()
        except redis.RedisError as error:  # the payment is not decided: 503, retry
            raise StoreUnavailable(f"the Redis feature store is unavailable: {error}") from error
        return [_observations(members) for members in replies]

    def prune(self, before: datetime) -> int:
        removed = 0
        for name in self._redis.scan_iter(match=self._prefix + "*"):
            removed += int(self._redis.zremrangebyscore(name, "-inf", f"({_score(before)}"))
        return removed

    def close(self) -> None:
        self._redis.close()


def _score(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def _member(unique: str, o: Observation) -> str:
    """`id|amount` or `id|amount|tag` (the tag may hold `|`; the time is the score)."""
    head = f"{unique}|{o.amount}"
    return head if o.tag is None else f"{head}|{o.tag}"


def _observations(scored: Any) -> list[Observation]:
    found = []
    for member, score in scored:
        _id, amount, *tag = member.decode().split("|", 2)
        at = EPOCH + timedelta(microseconds=int(score))  # exact: no float seconds
        found.append(Observation(at, int(amount), tag[0] if tag else None))
    return found
