import os
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from netbox_pipeline.staging import db, store
from netbox_pipeline.staging.db import StagingDBError
from netbox_pipeline_tests.conftest import REPO_ROOT


def test_normalise_url_rewrites_bare_postgres_to_psycopg2():
    assert db.normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert db.normalise_url("postgres://u@h:5433/db") == "postgresql+psycopg2://u@h:5433/db"
    assert db.normalise_url(" postgresql+psycopg2://h/db ") == "postgresql+psycopg2://h/db"
    assert db.normalise_url("sqlite:///x/y.db") == "sqlite:///x/y.db"


def test_normalise_url_takes_a_plain_path_as_sqlite_file(tmp_path):
    assert db.normalise_url(str(tmp_path / "s.db")) == f"sqlite:///{tmp_path / 's.db'}"


def test_normalise_url_rejects_empty():
    with pytest.raises(StagingDBError, match="empty"):
        db.normalise_url("  ")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://nbp:hunter2@db.example:5432/staging",
        "postgresql://nbp:hunter2@db.example/staging?sslmode=require",
        "weird+scheme://nbp:hunter2@::not a url",
    ],
)
def test_mask_url_hides_the_password(url):
    masked = db.mask_url(url)
    assert "hunter2" not in masked
    assert "***" in masked and "nbp" in masked


def test_mask_url_leaves_passwordless_urls_alone():
    assert db.mask_url("sqlite:////var/lib/x.db") == "sqlite:////var/lib/x.db"


def test_sqlite_engine_creates_parent_dir_and_sets_pragmas(tmp_path):
    path = tmp_path / "deep" / "er" / "staging.sqlite"
    engine = db.create_engine_for(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
        assert path.exists()
    finally:
        engine.dispose()


def test_postgres_engine_uses_psycopg2_for_a_bare_url():
    engine = db.create_engine_for("postgresql://u:pw@127.0.0.1:1/x")  # nothing connects yet
    assert engine.dialect.driver == "psycopg2"
    assert "pw" not in repr(engine)
    engine.dispose()


def test_in_memory_sqlite_is_one_database_across_sessions():
    staging = db.open_staging("sqlite://")
    try:
        with staging.session() as s:
            run_id = store.start_run(s, "source")
        with staging.session() as s:
            assert store.get_run(s, run_id)["kind"] == "source"
    finally:
        staging.dispose()


def test_open_staging_creates_a_fresh_sqlite_file_at_head(tmp_path):
    path = tmp_path / "new" / "staging.sqlite"
    staging = db.open_staging(f"sqlite:///{path}")
    try:
        assert path.exists()
        assert db.current_revision(staging.engine) == db.head_revision()
        assert "inventory_items" in sa.inspect(staging.engine).get_table_names()
    finally:
        staging.dispose()


def test_second_open_runs_no_migration(sqlite_url, monkeypatch):
    db.open_staging(sqlite_url).dispose()

    def no_upgrade(*_a, **_k):
        raise AssertionError("upgrade ran on a database already at head")

    monkeypatch.setattr(db.command, "upgrade", no_upgrade)
    staging = db.open_staging(sqlite_url)
    assert db.current_revision(staging.engine) == db.head_revision()
    staging.dispose()


def test_open_without_migrate_leaves_the_schema_alone(sqlite_url):
    staging = db.open_staging(sqlite_url, migrate=False)
    try:
        assert db.current_revision(staging.engine) is None
    finally:
        staging.dispose()


def test_open_staging_refuses_a_revision_it_does_not_know(sqlite_url):
    db.upgrade(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    with pytest.raises(StagingDBError, match="from_the_future.*unknown"):
        db.open_staging(sqlite_url)


def test_unreachable_postgres_error_names_masked_url_and_no_password():
    url = "postgresql://nbp:s3cr3t-pw@127.0.0.1:1/staging"
    started = time.monotonic()
    with pytest.raises(StagingDBError) as excinfo:
        db.open_staging(url)
    message = str(excinfo.value)
    assert "s3cr3t-pw" not in message
    assert "postgresql+psycopg2://nbp:***@127.0.0.1:1/staging" in message
    assert "s3cr3t-pw" not in repr(excinfo.value.__cause__ or "")
    assert time.monotonic() - started < 15


def test_a_one_character_password_is_not_masked_inside_words():
    with pytest.raises(StagingDBError) as excinfo:
        db.open_staging("postgresql://nbp:a@127.0.0.1:1/staging")
    message = str(excinfo.value)
    assert "postgresql+psycopg2://nbp:***@127.0.0.1:1/staging" in message
    assert "cannot open staging database" in message and "OperationalError" in message


def test_migration_error_names_database_and_revision(postgres_url):
    # Local PostgreSQL trusts loopback, so the password is accepted but must still be hidden.
    url = postgres_url.replace("postgres@", "postgres:pw-in-url@")
    with pytest.raises(StagingDBError) as excinfo:
        db.upgrade(url, "no_such_revision")
    message = str(excinfo.value)
    assert "no_such_revision" in message
    assert db.mask_url(url) in message and "pw-in-url" not in message


def test_staging_db_session_commits_or_rolls_back(sqlite_url):
    staging = db.open_staging(sqlite_url)
    try:
        with staging.session() as s:
            kept = store.start_run(s, "source")
        with pytest.raises(RuntimeError):
            with staging.session() as s:
                store.start_run(s, "plan")
                raise RuntimeError("boom")
        with staging.session() as s:
            assert [r["id"] for r in store.list_runs(s)] == [kept]
    finally:
        staging.dispose()


def test_url_for_display_is_masked(postgres_url):
    staging = db.open_staging(postgres_url.replace("postgres@", "postgres:pw-in-url@"))
    try:
        assert "pw-in-url" not in staging.url_for_display
        assert "***" in staging.url_for_display
        assert "pw-in-url" not in repr(staging)
    finally:
        staging.dispose()


def test_concurrent_first_opens_migrate_once(staging_url):
    """Parallel processes opening a fresh database at the same instant all succeed, at head."""
    code = (
        "import sys, time; from netbox_pipeline.staging.db import open_staging; "
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); open_staging(sys.argv[1]).dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start_at = str(time.time() + 3)  # after every process has imported, so they really collide
    procs = [
        subprocess.Popen([sys.executable, "-c", code, staging_url, start_at], env=env,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert db.current_revision(staging_url) == db.head_revision()
