"""The tables of risk control: observations behind the features, decisions, challenges."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from creditline.adapters.db.schema.base import UtcDateTime, metadata

risk_observation = Table(
    "risk_observation",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tag", Text, nullable=True),
    Index("ix_risk_observation_key_at_id", "key", "at", "id"),
    Index("ix_risk_observation_at", "at", postgresql_using="brin"),
)
"""Keyed observations behind the risk features (attempts, purchases, places, devices).
The first index serves `ORDER BY at DESC, id DESC LIMIT n` of one key by a backward
scan; the second lets pruning find rows past the retention (BRIN on PostgreSQL)."""


risk_decision = Table(
    "risk_decision",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("credit_account.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("codes", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("merchant_id", String(40), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("policy_version", String(16), nullable=False),
    Column("latency_us", Integer, nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("challenge_id", String(40), nullable=True),
    Column("detail", Text, nullable=False),
    CheckConstraint(
        "action IN ('approve', 'flag', 'challenge', 'decline')", name="ck_risk_decision_action"
    ),
    Index("ix_risk_decision_account_id", "account_id", "id"),
)
"""Every risk decision: request, features, hits (JSON in `detail`), action, policy version.
Listed per account newest first by id (time-ordered), which the index serves directly."""


risk_challenge = Table(
    "risk_challenge",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("credit_account.id"), nullable=False),
    Column("merchant_id", String(40), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("decision_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("passed_at", UtcDateTime, nullable=True),
    CheckConstraint("status IN ('pending', 'passed', 'failed')", name="ck_risk_challenge_status"),
)
"""Step-up verifications asked for by a `challenge` decision; single use."""
