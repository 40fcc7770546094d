"""risk feature observations

Keyed, timestamped observations (attempts, purchases, devices, cities) from which the
risk features are computed over windows; indexed by key and time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_observation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.create_index("ix_risk_observation_key_at", ["key", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_observation_key_at")
    op.drop_table("risk_observation")
