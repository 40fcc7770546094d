"""risk decisions: account tier, real-name status and period spend; decision log; challenges;
observations indexed for newest-first reads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_observation_key_at")
        batch_op.create_index("ix_risk_observation_key_at_id", ["key", "at", "id"], unique=False)
    with op.batch_alter_table("credit_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tier", sa.String(length=32), server_default="standard", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "real_name_verified", sa.Boolean(), server_default=sa.text("true"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("spend_day", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("spend_day_amount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("spend_day_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("spend_month", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("spend_month_amount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("spend_month_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "risk_decision",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("codes", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(length=16), nullable=False),
        sa.Column("latency_us", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.String(length=40), nullable=True),
        sa.Column("challenge_id", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "action IN ('approve', 'flag', 'challenge', 'decline')",
            name="ck_risk_decision_action",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["credit_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_decision", schema=None) as batch_op:
        batch_op.create_index("ix_risk_decision_account", ["account_id", "at"], unique=False)
    op.create_table(
        "risk_challenge",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'passed', 'failed')", name="ck_risk_challenge_status"
        ),
        sa.ForeignKeyConstraint(["account_id"], ["credit_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("risk_challenge")
    with op.batch_alter_table("risk_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decision_account")
    op.drop_table("risk_decision")
    with op.batch_alter_table("credit_account", schema=None) as batch_op:
        for column in (
            "spend_month_count",
            "spend_month_amount",
            "spend_month",
            "spend_day_count",
            "spend_day_amount",
            "spend_day",
            "real_name_verified",
            "tier",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_observation_key_at_id")
        batch_op.create_index("ix_risk_observation_key_at", ["key", "at"], unique=False)
