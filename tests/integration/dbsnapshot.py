"""Whole-database snapshots, to prove that a refused command changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from creditline.adapters.db.schema import metadata

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine, *, skip: tuple[str, ...] = ()) -> Snapshot:
    with engine.connect() as conn:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
            if table.name not in skip
        }
