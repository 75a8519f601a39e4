"""Alembic environment for aws-copy-pt.

The application runs migrations itself at start-up (``aws_copy_pt.db.engine.upgrade_to_head``)
and passes its open connection in ``config.attributes["connection"]``. Developers can also run
``alembic -c migrations/alembic.ini ...`` against a database file for autogenerate.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from aws_copy_pt.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so Alembic rebuilds tables instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
