"""the development clock: one row holding how far it is ahead of the wall clock, shared
by every process of a development deployment (server, sweeper, billing run, workers)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dev_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_dev_clock_one_row"),
        sa.CheckConstraint("offset_us >= 0", name="ck_dev_clock_forward"),
        sa.PrimaryKeyConstraint("id", name="pk_dev_clock"),
    )


def downgrade() -> None:
    op.drop_table("dev_clock")
