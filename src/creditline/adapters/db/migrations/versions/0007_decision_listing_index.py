"""risk decisions: index the account's decisions by (account_id, id), the order they are
listed and paged in (newest first, `before` an id), instead of (account_id, at), so a
page is an index range scan rather than a sort of all of the account's decisions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decision_account")
        batch_op.create_index("ix_risk_decision_account_id", ["account_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decision_account_id")
        batch_op.create_index("ix_risk_decision_account", ["account_id", "at"], unique=False)
