"""The development clock's one row."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    PrimaryKeyConstraint,
    Table,
)

from creditline.adapters.db.schema.base import UtcDateTime, metadata

dev_clock = Table(
    "dev_clock",
    metadata,
    Column("id", Integer, nullable=False),
    Column("offset_us", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("id = 1", name="ck_dev_clock_one_row"),
    CheckConstraint("offset_us >= 0", name="ck_dev_clock_forward"),
    PrimaryKeyConstraint("id", name="pk_dev_clock"),
)
"""The movable development clock: how far it runs ahead of the wall clock (one row)."""
