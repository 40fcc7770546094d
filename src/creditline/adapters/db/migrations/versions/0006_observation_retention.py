"""risk observations: an index on time, so pruning past the retention finds old rows
without scanning the table (BRIN on PostgreSQL: tiny, and nearly free to keep on an
append-only, time-ordered table)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_observation_at", ["at"], unique=False, postgresql_using="brin"
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_observation_at")
