"""Alembic environment: runs migrations on the connection `creditline db upgrade` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from creditline.adapters.db.schema import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    assert isinstance(connection, Connection), (
        "run migrations through creditline.adapters.db.migrate"
    )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
