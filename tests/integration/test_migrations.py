"""The migration builds exactly the schema the code describes, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from creditline.adapters.db import migrate
from creditline.adapters.db.schema import metadata
from creditline.bootstrap import Runtime


def test_migrated_schema_matches_the_metadata(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_is_repeatable_and_reversible(runtime: Runtime) -> None:
    head = migrate.head_revision(runtime.engine)
    migrate.upgrade(runtime.engine)
    assert migrate.current_revision(runtime.engine) == head
    migrate.downgrade(runtime.engine, "base")
    assert migrate.current_revision(runtime.engine) is None
    assert set(inspect(runtime.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(runtime.engine)
    assert migrate.current_revision(runtime.engine) == head


def test_a_page_of_an_accounts_decisions_is_read_from_its_index(runtime: Runtime) -> None:
    """Newest first, before an id: an index range scan, no sort of the account's log."""
    from creditline.adapters.db.risk import decisions_page  # noqa: PLC0415

    query = decisions_page("acct_1", "rdec_9", 50)
    with runtime.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
            assert "ix_risk_decision_account_id" in plan
        else:
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "USING INDEX ix_risk_decision_account_id" in plan
        assert "Sort" not in plan
        assert "TEMP B-TREE" not in plan
