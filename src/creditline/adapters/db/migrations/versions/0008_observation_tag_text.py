"""risk observations: the tag is text of any length (a JSON array of the device id, city
and coordinates, whose escapes can make it longer than the 200 characters it had)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.alter_column("tag", existing_type=sa.String(200), type_=sa.Text())


def downgrade() -> None:
    with op.batch_alter_table("risk_observation", schema=None) as batch_op:
        batch_op.alter_column("tag", existing_type=sa.Text(), type_=sa.String(200))
