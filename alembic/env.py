"""Alembic environment: migrations run against billing's metadata on SQLite or PostgreSQL."""

from __future__ import annotations

import os
from typing import Any

from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel.sql.sqltypes import AutoString

from alembic import context
from billing.store import db, tables, types

config = context.config
target_metadata = tables.metadata


def _url() -> str:
    return os.environ.get("BILLING_DATABASE_URL") or str(config.get_main_option("sqlalchemy.url"))


def _render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | bool:
    """Render our column types as plain, importable expressions in generated migrations."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if kind == "type" and isinstance(obj, types.UTCDateTime):
        autogen.imports.add("import billing.store.types")
        return "billing.store.types.UTCDateTime()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = db.make_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
