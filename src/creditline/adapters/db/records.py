"""Idempotency records, the directory (platforms, merchants, API keys) and the audit log.

Merchants are read by every authorization and change rarely, so they are cached per
process for a short, configured time (`TtlCache`); a changed hold lifetime takes effect
within that time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from creditline.adapters.cache import TtlCache
from creditline.adapters.db.schema import (
    api_key,
    audit_log,
    idempotency_record,
    merchant,
    platform,
)
from creditline.domain.parties import Merchant, Platform
from creditline.service.access import Actor, Role
from creditline.service.ports import ApiKeyRecord, AuditRecord, IdempotencyRecord


class DirectoryCache:
    """The per-process cache of merchants shared by every unit of work of one engine."""

    def __init__(self, ttl_s: float) -> None:
        self.merchants: TtlCache[str, Merchant] = TtlCache(ttl_s)


def _idempotency_insert(dialect_name: str) -> Any:
    module: Any = postgresql if dialect_name == "postgresql" else sqlite
    return (
        module.insert(idempotency_record)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(idempotency_record.c.key)
    )


_IDEMPOTENCY_INSERTS = {name: _idempotency_insert(name) for name in ("postgresql", "sqlite")}
_IDEMPOTENCY_GET = select(idempotency_record).where(
    idempotency_record.c.scope == bindparam("scope"),
    idempotency_record.c.key == bindparam("key"),
)


class SqlIdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._insert = _IDEMPOTENCY_INSERTS[connection.dialect.name]

    def add(self, record: IdempotencyRecord) -> bool:
        result = self._conn.execute(
            self._insert,
            {
                "scope": record.scope,
                "key": record.key,
                "fingerprint": record.fingerprint,
                "status": record.status,
                "body": record.body,
                "created_at": record.created_at,
            },
        )
        # RETURNING tells whether the row went in; rowcount is not reliable for INSERT.
        return result.first() is not None

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = self._conn.execute(_IDEMPOTENCY_GET, {"scope": scope, "key": key}).mappings().first()
        if row is None:
            return None
        return IdempotencyRecord(
            scope=row["scope"],
            key=row["key"],
            fingerprint=row["fingerprint"],
            status=row["status"],
            body=bytes(row["body"]),
            created_at=row["created_at"],
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
    def __init__(self, connection: Connection, cache: DirectoryCache) -> None:
        self._conn = connection
        self._cache = cache

    def add_platform(self, value: Platform) -> None:
        self._conn.execute(
            insert(platform),
            {
                "id": value.id,
                "name": value.name,
                "created_at": value.created_at,
            },
        )

    def get_platform(self, platform_id: str) -> Platform | None:
        row = (
            self._conn.execute(select(platform).where(platform.c.id == platform_id))
            .mappings()
            .first()
        )
        return None if row is None else Platform(row["id"], row["name"], row["created_at"])

    def add_merchant(self, value: Merchant) -> None:
        self._conn.execute(
            insert(merchant),
            {
                "id": value.id,
                "platform_id": value.platform_id,
                "name": value.name,
                "hold_ttl_s": value.hold_ttl_s,
                "created_at": value.created_at,
            },
        )

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

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = self._conn.execute(_API_KEY, {"key_hash": key_hash}).mappings().first()
        return None if row is None else _api_key_from_row(row)


class SqlAuditStore:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def add(self, record: AuditRecord) -> None:
        self._conn.execute(
            insert(audit_log),
            {
                "id": record.id,
                "at": record.at,
                "actor_key_id": record.actor_key_id,
                "actor_role": record.actor_role,
                "actor_name": record.actor_name,
                "action": record.action,
                "target_id": record.target_id,
                "reason": record.reason,
                "details": record.details,
            },
        )

    def list_for_target(self, target_id: str) -> list[AuditRecord]:
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
