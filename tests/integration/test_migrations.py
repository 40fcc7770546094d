"""The migration builds exactly the schema the code describes, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
