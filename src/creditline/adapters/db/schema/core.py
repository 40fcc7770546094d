"""The tables money touches: platforms, merchants, accounts, holds and their events, the
journal, idempotency answers, API keys and the audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from creditline.adapters.db.schema.base import UtcDateTime, metadata

HOLD_STATUSES = "('pending', 'captured', 'released', 'expired')"


ACCOUNT_STATUSES = "('active', 'frozen', 'suspended', 'closed')"


platform = Table(
    "platform",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_secret", Text, nullable=True),
    Column("order_status_url", Text, nullable=True),
)


merchant = Table(
    "merchant",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("platform_id", String(40), ForeignKey("platform.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("hold_ttl_s", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("trusted", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("hold_ttl_s > 0", name="ck_merchant_hold_ttl_positive"),
)


credit_account = Table(
    "credit_account",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("platform_id", String(40), ForeignKey("platform.id"), nullable=False),
    Column("external_ref", Text, nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False),
    Column("locked", BigInteger, nullable=False),
    Column("credit_balance", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("last_forced_capture_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("tier", String(32), nullable=False, server_default="standard"),
    Column("real_name_verified", Boolean, nullable=False, server_default=text("true")),
    Column("spend_day", String(10), nullable=True),
    Column("spend_day_amount", BigInteger, nullable=False, server_default="0"),
    Column("spend_day_count", Integer, nullable=False, server_default="0"),
    Column("spend_month", String(10), nullable=True),
    Column("spend_month_amount", BigInteger, nullable=False, server_default="0"),
    Column("spend_month_count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("platform_id", "external_ref", name="uq_credit_account_external_ref"),
    CheckConstraint("credit_limit >= 0", name="ck_credit_account_limit"),
    CheckConstraint("used >= 0", name="ck_credit_account_used"),
    CheckConstraint("locked >= 0", name="ck_credit_account_locked"),
    CheckConstraint("credit_balance >= 0", name="ck_credit_account_credit_balance"),
    CheckConstraint(f"status IN {ACCOUNT_STATUSES}", name="ck_credit_account_status"),
)


hold = Table(
    "hold",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("credit_account.id"), nullable=False),
    Column("merchant_id", String(40), ForeignKey("merchant.id"), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("released", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("forced", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    CheckConstraint("amount > 0", name="ck_hold_amount"),
    CheckConstraint(
        "captured >= 0 AND released >= 0 AND forced >= 0 AND forced <= captured",
        name="ck_hold_parts",
    ),
    CheckConstraint("refunded >= 0 AND refunded <= captured", name="ck_hold_refunded"),
    CheckConstraint("captured - forced + released <= amount", name="ck_hold_settled"),
    CheckConstraint(
        "(status = 'pending') = (captured - forced + released < amount)",
        name="ck_hold_status_matches_amounts",
    ),
    CheckConstraint(f"status IN {HOLD_STATUSES}", name="ck_hold_status"),
    Index("ix_hold_account", "account_id", "id"),
    Index(
        "ix_hold_pending_expiry",
        "expires_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_hold_order", "order_id"),
    Index(
        "ix_hold_pending_created",
        "created_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "uq_hold_pending_order",
        "account_id",
        "order_id",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)


hold_event = Table(
    "hold_event",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("hold_id", String(40), ForeignKey("hold.id"), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("entry_id", String(40), nullable=True),
    Column("actor", Text, nullable=True),
    Column("reason", Text, nullable=True),
    CheckConstraint("amount >= 0", name="ck_hold_event_amount"),
    Index("ix_hold_event_hold", "hold_id", "at"),
)


journal_entry = Table(
    "journal_entry",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("credit_account.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("forced", Boolean, nullable=False),
    Column("memo", Text, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("amount > 0", name="ck_journal_entry_amount"),
    Index("ix_journal_entry_account", "account_id", "id"),
    Index("ix_journal_entry_hold", "hold_id"),
)


posting = Table(
    "posting",
    metadata,
    Column(
        "entry_id",
        String(40),
        ForeignKey("journal_entry.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("line", Integer, nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("ledger_account", String(32), nullable=False),
    Column("counterparty", String(40), nullable=True),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("entry_id", "line", name="pk_posting"),
    CheckConstraint("amount <> 0", name="ck_posting_amount"),
    Index("ix_posting_account", "account_id", "ledger_account"),
)


idempotency_record = Table(
    "idempotency_record",
    metadata,
    Column("scope", String(80), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("challenge_id", String(40), nullable=True),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_record"),
)


api_key = Table(
    "api_key",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("platform_id", String(40), ForeignKey("platform.id"), nullable=True),
    Column("merchant_id", String(40), ForeignKey("merchant.id"), nullable=True),
    Column("account_id", String(40), ForeignKey("credit_account.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    CheckConstraint(
        "role IN ('platform', 'merchant', 'consumer', 'operator')", name="ck_api_key_role"
    ),
)


audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_key_id", String(40), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("actor_name", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_id", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", Text, nullable=False),
    Index("ix_audit_log_target", "target_id", "at"),
)
