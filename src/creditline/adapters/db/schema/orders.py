"""The tables of the order lifecycle: the event inbox, dead letters, the notification
outbox."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from creditline.adapters.db.schema.base import UtcDateTime, metadata

order_event = Table(
    "order_event",
    metadata,
    Column("platform_id", String(40), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("account_id", String(40), nullable=True),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("platform_id", "event_id", name="pk_order_event"),
    Index("ix_order_event_order", "platform_id", "order_id"),
    Index("ix_order_event_applied", "applied_at"),
)
"""The inbox: every order event ever received, once, with what it did."""


dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("platform_id", String(40), nullable=True),
    Column("ref", String(128), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    CheckConstraint("kind IN ('order_event', 'webhook')", name="ck_dead_letter_kind"),
    Index(
        "ix_dead_letter_open",
        "created_at",
        sqlite_where=text("resolved_at IS NULL"),
        postgresql_where=text("resolved_at IS NULL"),
    ),
    Index("uq_dead_letter_ref", "kind", "platform_id", "ref", unique=True),
)
"""What could not be applied or delivered, with its reason, until an operator replays it."""


outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("platform_id", String(40), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("type", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    CheckConstraint(
        "status IN ('pending', 'delivered', 'dead', 'no_webhook')", name="ck_outbox_status"
    ),
    Index("ix_outbox_account", "account_id", "id"),
    Index(
        "ix_outbox_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)
"""Notifications, written in the same transaction as the change they announce."""
