"""core engine: accounts, holds, journal, idempotency, keys, audit

Tables from the metadata in schema.py, plus the journal's database-side guarantees as
triggers for both dialects: an entry header seals its postings (they must sum to zero and
its amount must equal their debits), a sealed entry takes no more postings, and journal
rows and hold events cannot be updated or deleted.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:58:21.030596
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_key_id", sa.String(length=40), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_target", ["target_id", "at"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_record"),
    )
    op.create_table(
        "platform",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "credit_account",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("locked", sa.BigInteger(), nullable=False),
        sa.Column("credit_balance", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("last_forced_capture_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'frozen', 'suspended', 'closed')", name="ck_credit_account_status"
        ),
        sa.CheckConstraint("credit_balance >= 0", name="ck_credit_account_credit_balance"),
        sa.CheckConstraint("credit_limit >= 0", name="ck_credit_account_limit"),
        sa.CheckConstraint("locked >= 0", name="ck_credit_account_locked"),
        sa.CheckConstraint("used >= 0", name="ck_credit_account_used"),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "external_ref", name="uq_credit_account_external_ref"),
    )
    op.create_table(
        "merchant",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("hold_ttl_s", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hold_ttl_s > 0", name="ck_merchant_hold_ttl_positive"),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=True),
        sa.Column("merchant_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('platform', 'merchant', 'consumer', 'operator')", name="ck_api_key_role"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["credit_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "hold",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("forced", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'pending') = (captured - forced + released < amount)",
            name="ck_hold_status_matches_amounts",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'released', 'expired')", name="ck_hold_status"
        ),
        sa.CheckConstraint("amount > 0", name="ck_hold_amount"),
        sa.CheckConstraint("captured - forced + released <= amount", name="ck_hold_settled"),
        sa.CheckConstraint(
            "captured >= 0 AND released >= 0 AND forced >= 0 AND forced <= captured",
            name="ck_hold_parts",
        ),
        sa.CheckConstraint("refunded >= 0 AND refunded <= captured", name="ck_hold_refunded"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["credit_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.create_index("ix_hold_account", ["account_id", "id"], unique=False)
        batch_op.create_index(
            "ix_hold_pending_expiry",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "uq_hold_pending_order",
            ["account_id", "order_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "journal_entry",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.String(length=40), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_journal_entry_amount"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["credit_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index("ix_journal_entry_account", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_journal_entry_hold", ["hold_id"], unique=False)

    op.create_table(
        "hold_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("hold_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("amount >= 0", name="ck_hold_event_amount"),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["hold.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hold_event", schema=None) as batch_op:
        batch_op.create_index("ix_hold_event_hold", ["hold_id", "at"], unique=False)

    op.create_table(
        "posting",
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("ledger_account", sa.String(length=32), nullable=False),
        sa.Column("counterparty", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_posting_amount"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entry.id"], initially="DEFERRED", deferrable=True
        ),
        sa.PrimaryKeyConstraint("entry_id", "line", name="pk_posting"),
    )
    with op.batch_alter_table("posting", schema=None) as batch_op:
        batch_op.create_index("ix_posting_account", ["account_id", "ledger_account"], unique=False)

    install_journal_guards()


def downgrade() -> None:
    remove_journal_guards()
    with op.batch_alter_table("posting", schema=None) as batch_op:
        batch_op.drop_index("ix_posting_account")

    op.drop_table("posting")
    with op.batch_alter_table("hold_event", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_event_hold")

    op.drop_table("hold_event")
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entry_hold")
        batch_op.drop_index("ix_journal_entry_account")

    op.drop_table("journal_entry")
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_hold_pending_order",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(
            "ix_hold_pending_expiry",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_hold_account")

    op.drop_table("hold")
    op.drop_table("api_key")
    op.drop_table("merchant")
    op.drop_table("credit_account")
    op.drop_table("platform")
    op.drop_table("idempotency_record")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_target")

    op.drop_table("audit_log")


IMMUTABLE_TABLES = ("journal_entry", "posting", "hold_event")

POSTGRES_GUARDS = [
    """
    CREATE FUNCTION creditline_entry_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        total bigint;
        debits bigint;
        lines integer;
    BEGIN
        SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0),
               COUNT(*)
          INTO total, debits, lines
          FROM posting WHERE entry_id = NEW.id;
        IF lines < 2 OR total <> 0 OR debits <> NEW.amount THEN
            RAISE EXCEPTION 'journal entry % is unbalanced: % postings, sum %, debits % vs %',
                NEW.id, lines, total, debits, NEW.amount USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER journal_entry_sealed BEFORE INSERT ON journal_entry
    FOR EACH ROW EXECUTE FUNCTION creditline_entry_sealed()
    """,
    """
    CREATE FUNCTION creditline_posting_entry_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'journal entry % is sealed', NEW.entry_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER posting_entry_open BEFORE INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION creditline_posting_entry_open()
    """,
    """
    CREATE FUNCTION creditline_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END $$
    """,
    *(
        f"""
        CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION creditline_immutable()
        """
        for table in IMMUTABLE_TABLES
    ),
]

SQLITE_GUARDS = [
    """
    CREATE TRIGGER journal_entry_sealed BEFORE INSERT ON journal_entry
    WHEN (SELECT COUNT(*) FROM posting WHERE entry_id = NEW.id) < 2
      OR (SELECT COALESCE(SUM(amount), 0) FROM posting WHERE entry_id = NEW.id) <> 0
      OR (SELECT COALESCE(SUM(amount), 0) FROM posting
          WHERE entry_id = NEW.id AND amount > 0) <> NEW.amount
    BEGIN
        SELECT RAISE(ABORT, 'journal entry is unbalanced');
    END
    """,
    """
    CREATE TRIGGER posting_entry_open BEFORE INSERT ON posting
    WHEN EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id)
    BEGIN
        SELECT RAISE(ABORT, 'journal entry is sealed');
    END
    """,
    *(
        f"""
        CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN
            SELECT RAISE(ABORT, '{table} rows are immutable');
        END
        """
        for table in IMMUTABLE_TABLES
        for verb in ("UPDATE", "DELETE")
    ),
]


def install_journal_guards() -> None:
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def remove_journal_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP TRIGGER IF EXISTS journal_entry_sealed ON journal_entry")
        op.execute("DROP TRIGGER IF EXISTS posting_entry_open ON posting")
        for function in (
            "creditline_entry_sealed",
            "creditline_posting_entry_open",
            "creditline_immutable",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        return
    names = ["journal_entry_sealed", "posting_entry_open"] + [
        f"{table}_no_{verb}" for table in IMMUTABLE_TABLES for verb in ("update", "delete")
    ]
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
