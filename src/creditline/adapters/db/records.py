"""Idempotency records, the directory (platforms, merchants, API keys) and the audit log.

Merchants (read by every authorization) and platforms (read whenever a notification is
written) change rarely, so they are cached per process for a short, configured time
(`TtlCache`); a change made through this process clears the cache, and other processes
see it within that time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update

from creditline.adapters.cache import TtlCache
from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import (
    api_key,
    audit_log,
    idempotency_record,
    merchant,
    platform,
)
from creditline.domain.parties import Merchant, Platform
from creditline.service.access import Actor, Role
from creditline.service.ports import ApiKeyRecord, AuditRecord, ConflictKind, IdempotencyRecord


class DirectoryCache:
    """The per-process caches of merchants and platforms shared by every unit of work."""

    def __init__(self, ttl_s: float) -> None:
        self.merchants: TtlCache[str, Merchant] = TtlCache(ttl_s)
        self.platforms: TtlCache[str, Platform] = TtlCache(ttl_s)


_IDEMPOTENCY_GET = Sql(
    f"SELECT {columns(idempotency_record)} FROM idempotency_record WHERE scope = {{p}} "
    "AND key = {p}"
)
_IDEMPOTENCY_SUPERSEDE = Sql(
    "UPDATE idempotency_record SET fingerprint = {p}, status = {p}, body = {p}, "
    "created_at = {p}, challenge_id = {p} WHERE scope = {p} AND key = {p} AND challenge_id = {p}"
)


def _platform_row(value: Platform) -> dict[str, Any]:
    return {
        "id": value.id,
        "name": value.name,
        "created_at": value.created_at,
        "webhook_url": value.webhook_url,
        "webhook_secret": value.webhook_secret,
        "order_status_url": value.order_status_url,
    }


class SqlIdempotencyStore:
    def __init__(self, driver: Driver) -> None:
        self._db = driver

    def add(self, record: IdempotencyRecord) -> None:
        row = {
            "scope": record.scope,
            "key": record.key,
            "fingerprint": record.fingerprint,
            "status": record.status,
            "body": record.body,
            "created_at": record.created_at,
            "challenge_id": record.challenge_id,
        }
        self._db.defer_insert(idempotency_record, [row])

    def supersede(self, record: IdempotencyRecord, challenge_id: str) -> None:
        db = self._db
        db.defer(
            _IDEMPOTENCY_SUPERSEDE,
            (
                record.fingerprint,
                record.status,
                record.body,
                db.to_db(record.created_at),
                record.challenge_id,
                record.scope,
                record.key,
                challenge_id,
            ),
            rows=1,
            stale=True,
            conflict=ConflictKind.IDEMPOTENCY_KEY_TAKEN,
        )

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        found = self._db.one(_IDEMPOTENCY_GET, (scope, key))
        if found is None:
            return None
        row = self._db.decode(idempotency_record, found)
        return IdempotencyRecord(
            scope=row["scope"],
            key=row["key"],
            fingerprint=row["fingerprint"],
            status=row["status"],
            body=bytes(row["body"]),
            created_at=row["created_at"],
            challenge_id=row["challenge_id"],
        )


_MERCHANT = select(merchant).where(merchant.c.id == bindparam("merchant_id"))
_API_KEY = select(api_key).where(api_key.c.key_hash == bindparam("key_hash"))


def _api_key_from_row(row: RowMapping) -> ApiKeyRecord:
    actor = Actor(
        key_id=row["id"],
        role=Role(row["role"]),
        platform_id=row["platform_id"],
        merchant_id=row["merchant_id"],
        account_id=row["account_id"],
        name=row["name"],
    )
    return ApiKeyRecord(
        id=row["id"],
        key_hash=row["key_hash"],
        actor=actor,
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class SqlDirectoryStore:
    """Rare writes and cached reads, on SQLAlchemy Core (pending hot writes flush first)."""

    def __init__(self, connection: Connection, driver: Driver, cache: DirectoryCache) -> None:
        self._db = driver
        self._cache = cache
        self._raw_conn = connection

    @property
    def _conn(self) -> Connection:
        self._db.flush()
        return self._raw_conn

    def add_platform(self, value: Platform) -> None:
        self._conn.execute(insert(platform), _platform_row(value))

    def update_platform(self, value: Platform) -> None:
        self._conn.execute(
            update(platform).where(platform.c.id == value.id).values(**_platform_row(value))
        )
        self._cache.platforms.clear()

    def get_platform(self, platform_id: str) -> Platform | None:
        cached = self._cache.platforms.get(platform_id)
        if cached is not None:
            return cached
        query = select(platform).where(platform.c.id == platform_id)
        row = self._conn.execute(query).mappings().first()
        if row is None:
            return None
        found = Platform(
            id=row["id"],
            name=row["name"],
            created_at=row["created_at"],
            webhook_url=row["webhook_url"],
            webhook_secret=row["webhook_secret"],
            order_status_url=row["order_status_url"],
        )
        self._cache.platforms.put(platform_id, found)
        return found

    def add_merchant(self, value: Merchant) -> None:
        self._conn.execute(
            insert(merchant),
            {
                "id": value.id,
                "platform_id": value.platform_id,
                "name": value.name,
                "hold_ttl_s": value.hold_ttl_s,
                "created_at": value.created_at,
                "trusted": value.trusted,
            },
        )

    def set_merchant_trusted(self, merchant_id: str, trusted: bool) -> None:
        self._conn.execute(
            update(merchant).where(merchant.c.id == merchant_id).values(trusted=trusted)
        )
        self._cache.merchants.clear()

    def get_merchant(self, merchant_id: str) -> Merchant | None:
        cached = self._cache.merchants.get(merchant_id)
        if cached is not None:
            return cached
        row = self._conn.execute(_MERCHANT, {"merchant_id": merchant_id}).mappings().first()
        if row is None:
            return None
        found = Merchant(
            id=row["id"],
            platform_id=row["platform_id"],
            name=row["name"],
            hold_ttl_s=row["hold_ttl_s"],
            created_at=row["created_at"],
            trusted=row["trusted"],
        )
        self._cache.merchants.put(merchant_id, found)
        return found

    def add_api_key(self, record: ApiKeyRecord) -> None:
        actor = record.actor
        self._conn.execute(
            insert(api_key),
            {
                "id": record.id,
                "key_hash": record.key_hash,
                "role": actor.role.value,
                "name": actor.name,
                "platform_id": actor.platform_id,
                "merchant_id": actor.merchant_id,
                "account_id": actor.account_id,
                "created_at": record.created_at,
                "revoked_at": record.revoked_at,
            },
        )

    def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        result = self._conn.execute(
            update(api_key)
            .where(api_key.c.id == key_id, api_key.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = self._conn.execute(_API_KEY, {"key_hash": key_hash}).mappings().first()
        return None if row is None else _api_key_from_row(row)


class SqlAuditStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def add(self, record: AuditRecord) -> None:
        row = {
            "id": record.id,
            "at": record.at,
            "actor_key_id": record.actor_key_id,
            "actor_role": record.actor_role,
            "actor_name": record.actor_name,
            "action": record.action,
            "target_id": record.target_id,
            "reason": record.reason,
            "details": record.details,
        }
        self._db.defer_insert(audit_log, [row])

    def list_for_target(self, target_id: str) -> list[AuditRecord]:
        self._db.flush()
        query = (
            select(audit_log)
            .where(audit_log.c.target_id == target_id)
            .order_by(audit_log.c.at, audit_log.c.id)
        )
        return [
            AuditRecord(
                id=row["id"],
                at=row["at"],
                actor_key_id=row["actor_key_id"],
                actor_role=row["actor_role"],
                actor_name=row["actor_name"],
                action=row["action"],
                target_id=row["target_id"],
                reason=row["reason"],
                details=row["details"],
            )
            for row in self._conn.execute(query).mappings()
        ]
