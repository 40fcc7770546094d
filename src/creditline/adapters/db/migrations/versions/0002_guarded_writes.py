"""guarded writes and a deferred journal seal (PostgreSQL)

1. `creditline_expect_rows(changed, expected)`: the versioned account update that leads
   every batch of writes is wrapped in it; when a concurrent writer won the race the
   update changes no row, this raises SQLSTATE CLSTL, the transaction is aborted and
   none of the writes queued behind it runs (adapters/db/writes.py).
2. The journal seal (an entry's postings must sum to zero and its amount equal their
   debits) becomes a deferred constraint trigger, checked at commit as hordak does: the
   header and its postings may then be written in one statement. SQLite keeps the
   immediate trigger of 0001 (its writes run one by one, postings first).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER journal_entry_sealed ON journal_entry")
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER journal_entry_sealed AFTER INSERT ON journal_entry
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION creditline_entry_sealed()
        """
    )
    op.execute(
        """
        CREATE FUNCTION creditline_expect_rows(changed bigint, expected bigint)
        RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
            IF changed <> expected THEN
                RAISE EXCEPTION 'expected % changed rows, got %: a concurrent writer won',
                    expected, changed USING ERRCODE = 'CLSTL';
            END IF;
            RETURN changed;
        END $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS creditline_expect_rows(bigint, bigint)")
    op.execute("DROP TRIGGER journal_entry_sealed ON journal_entry")
    op.execute(
        """
        CREATE TRIGGER journal_entry_sealed BEFORE INSERT ON journal_entry
        FOR EACH ROW EXECUTE FUNCTION creditline_entry_sealed()
        """
    )
