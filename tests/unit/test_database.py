"""The database: created private, marked as ours, migrated by Alembic, backed up before upgrades."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from aws_copy_pt.db import engine as db_engine
from aws_copy_pt.db.engine import APPLICATION_ID, alembic_config, make_engine, open_database
from aws_copy_pt.db.models import Base
from aws_copy_pt.errors import DatabaseError
from aws_copy_pt.home.paths import resolve_home

EXPECTED_TABLES = {
    "aws_credentials",
    "globus_tokens",
    "collections",
    "buckets",
    "transfers",
    "object_copies",
    "events",
    "settings",
}


def _home(tmp_path: Path):
    return resolve_home(tmp_path / "home", {})


def test_first_open_creates_a_private_database_with_every_table(tmp_path: Path) -> None:
    db = open_database(_home(tmp_path))
    try:
        assert stat.S_IMODE(db.path.stat().st_mode) == 0o600
        assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES
        assert db.backup_path is None
    finally:
        db.close()


def test_database_uses_wal_foreign_keys_and_our_application_id(tmp_path: Path) -> None:
    db = open_database(_home(tmp_path))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA application_id").scalar() == APPLICATION_ID
    finally:
        db.close()


def test_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    home = _home(tmp_path)
    home.path.mkdir(mode=0o700)
    conn = sqlite3.connect(home.db_path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    home.db_path.chmod(0o600)
    before = home.db_path.read_bytes()
    with pytest.raises(DatabaseError, match="belongs to another program"):
        open_database(home)
    assert home.db_path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    home = _home(tmp_path)
    home.path.mkdir(mode=0o700)
    home.db_path.write_text("just some notes\n")
    home.db_path.chmod(0o600)
    with pytest.raises(DatabaseError, match="is not an SQLite database"):
        open_database(home)


def test_reopening_a_current_database_makes_no_backup(tmp_path: Path) -> None:
    home = _home(tmp_path)
    open_database(home).close()
    db = open_database(home)
    db.close()
    assert db.backup_path is None
    assert list(home.path.glob("*.bak-*")) == []


def test_upgrade_from_empty_to_head_then_down_to_base_and_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    engine = make_engine(path)
    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        assert MigrationContext.configure(conn).get_current_revision() == head
        command.downgrade(config, "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert set(inspect(conn).get_table_names()) >= EXPECTED_TABLES
    engine.dispose()


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    db = open_database(_home(tmp_path))
    try:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        db.close()


NEXT_REVISION = '''
"""test-only: a later schema"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("later_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("later_things")
'''


def test_older_schema_is_backed_up_before_it_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    db = open_database(home)
    with db.session() as session:
        session.execute(Base.metadata.tables["settings"].insert().values(key="k", value="kept"))
    db.close()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    newer = tmp_path / "newer-migrations"
    shutil.copytree(db_engine.migrations_dir(), newer)
    (newer / "versions" / "9999_later.py").write_text(NEXT_REVISION.format(head=head))
    monkeypatch.setattr(db_engine, "migrations_dir", lambda: newer)

    upgraded = open_database(home)
    upgraded.close()

    assert upgraded.backup_path is not None
    assert stat.S_IMODE(upgraded.backup_path.stat().st_mode) == 0o600
    backup = sqlite3.connect(upgraded.backup_path)
    assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
    assert backup.execute("SELECT value FROM settings").fetchone() == ("kept",)
    backup.close()
    assert "later_things" in inspect(make_engine(home.db_path)).get_table_names()


def test_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    home = _home(tmp_path)
    open_database(home).close()
    conn = sqlite3.connect(home.db_path)
    conn.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="newer aws-copy-pt"):
        open_database(home)


def test_revision_file_names_agree_with_alembic_on_the_head() -> None:
    # The start-up fast path reads the head from file names: keep them NNNN_*.py, in one line.
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == db_engine.newest_revision_on_disk()


def test_upgrading_fills_in_the_copy_phase_of_transfers_copied_before(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(path)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        for statement in (
            "INSERT INTO aws_credentials (id, name, kind, created_at) "
            "VALUES (1, 'c', 'profile', '2025-01-01 00:00:00.000000')",
            "INSERT INTO buckets (id, name, credential_id, region_source, requester_pays, "
            "metadata_directive, tagging_directive, created_at) "
            "VALUES (1, 'b', 1, 'auto', 0, 'COPY', 'COPY', '2025-01-01 00:00:00.000000')",
            "INSERT INTO transfers (id, kind, state, source_bucket_id, dest_bucket_id, "
            "source_prefix, dest_prefix, options, faults, files_transferred, "
            "bytes_transferred, poll_failures, objects_total, bytes_total, created_at, "
            "updated_at) VALUES (1, 'globus', 'DONE', 1, 1, '', '', '{}', 0, 2, 300, 0, 3, "
            "300, '2025-01-01 00:00:00.000000', '2025-01-02 00:00:00.000000')",
            "INSERT INTO events (transfer_id, at, kind, from_state, to_state, message) VALUES "
            "(1, '2025-01-01 10:00:00.000000', 'state', 'WAITING', 'LISTING', ''), "
            "(1, '2025-01-01 10:00:01.000000', 'state', 'LISTING', 'COPYING', '')",
            "INSERT INTO object_copies (transfer_id, source_key, state, size, attempts, "
            "staging_deleted, started_at, finished_at) VALUES "
            "(1, 'a', 'verified', 100, 1, 0, '2025-01-01 10:00:02.000000', "
            "'2025-01-01 10:00:03.000000'), "
            "(1, 'b', 'verified', 200, 1, 0, '2025-01-01 10:00:02.000000', "
            "'2025-01-01 10:00:06.000000'), "
            "(1, 'c', 'skipped', 900, 0, 0, NULL, '2025-01-01 10:00:02.000000')",
        ):
            conn.exec_driver_sql(statement)
        command.upgrade(config, "head")
        copied, seconds = conn.exec_driver_sql(
            "SELECT copy_bytes, copy_seconds FROM transfers WHERE id = 1"
        ).one()
    engine.dispose()

    assert copied == 300  # verified objects only: a skipped one was not copied
    assert seconds == pytest.approx(4.0, abs=0.01)  # first copy started to last verified
