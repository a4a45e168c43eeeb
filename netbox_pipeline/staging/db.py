"""Engines, migrations and sessions for the staging database.

SQLite file by default, any PostgreSQL by URL. Schema changes go through Alembic only; the
migration scripts live next to this module so they ship with the installed package.
Passwords in URLs never reach a message: everything shown goes through `mask_url`.
"""

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from netbox_pipeline.values import mask_secrets

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
# Any constant: the advisory lock that serialises concurrent migrations on one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x6E6270_5354  # "nbp" "ST"

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)")


class StagingDBError(RuntimeError):
    """A staging database could not be reached or migrated; the message names it (masked)."""


def mask_url(url: str | sa.URL) -> str:
    """The URL with any password replaced by ***, safe to print and log."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: mask textually rather than echo it
        return _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", url)


def normalise_url(url: str) -> str:
    """Canonical SQLAlchemy URL: psycopg2 for PostgreSQL, plain paths taken as SQLite files."""
    url = url.strip()
    if not url:
        raise StagingDBError("staging database URL is empty")
    for bare in ("postgresql://", "postgres://"):
        # SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3, which is not a dependency.
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def _sqlite_file(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine_for(url: str) -> sa.Engine:
    """An engine for the staging DB; SQLite gets its parent directory, WAL, FKs and a busy timeout."""
    parsed = make_url(normalise_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if parsed.get_driver_name() == "psycopg2" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args=connect_args,
            # Bulk UPDATE/DELETE in pages instead of one round trip per row.
            executemany_mode="values_plus_batch",
            executemany_batch_page_size=500,
        )
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    path = _sqlite_file(url)
    if path is None:
        # In-memory: one shared connection, or each session would see its own empty database.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Dagster may run steps in parallel processes: readers must not block the writer.
        _enable_wal(cursor)
        cursor.close()

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL once per file. SQLite may refuse the switch with "database is locked" at once,
    without waiting on the busy timeout, while another process opens the same new file: retry."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- migrations ---------------------------------------------------------------------------------


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations found in {MIGRATIONS_DIR}"
    return head


@contextmanager
def _engine_from(url_or_engine: str | sa.Engine) -> Iterator[sa.Engine]:
    if isinstance(url_or_engine, sa.Engine):
        yield url_or_engine
        return
    engine = create_engine_for(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _scrub(message: str, url: sa.URL) -> str:
    return mask_secrets(message, [str(url.password)] if url.password else [])


def _describe(exc: BaseException, url: sa.URL) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return _scrub(f"{type(exc).__name__}: {first_line}", url)


def _migrate(url_or_engine: str | sa.Engine, direction: str, revision: str) -> None:
    with _engine_from(url_or_engine) as engine:
        try:
            _run_locked(engine, direction, revision)
        except StagingDBError:
            raise
        except Exception as exc:
            raise StagingDBError(
                f"{direction} of staging database {mask_url(engine.url)} to revision "
                f"{revision!r} failed: {_describe(exc, engine.url)}"
            ) from None


def _run_locked(engine: sa.Engine, direction: str, revision: str) -> None:
    """One transaction per migration, serialised against other processes migrating the same DB."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # Table rebuilds (batch mode) must not fire ON DELETE CASCADE; the pragma only
            # takes effect outside a transaction, and is checked again before commit.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")  # write lock, waits busy_timeout
                elif engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                config.attributes["connection"] = conn
                getattr(command, direction)(config, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StagingDBError(
                            f"{direction} of staging database {mask_url(engine.url)} to "
                            f"{revision!r} left foreign keys broken: {broken[:5]}"
                        )
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade(url_or_engine: str | sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest)."""
    _migrate(url_or_engine, "upgrade", revision)


def downgrade(url_or_engine: str | sa.Engine, revision: str = "base") -> None:
    """Take the schema down to `revision` (default: empty)."""
    _migrate(url_or_engine, "downgrade", revision)


def current_revision(url_or_engine: str | sa.Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with _engine_from(url_or_engine) as engine:
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except Exception as exc:
            raise StagingDBError(
                f"cannot open staging database {mask_url(engine.url)} (reading its schema revision): "
                f"{_describe(exc, engine.url)}"
            ) from None


# --- sessions -----------------------------------------------------------------------------------


class StagingDB:
    """An engine and its sessions; `with db.session() as s:` commits on success, rolls back on error."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url_for_display(self) -> str:
        return mask_url(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "StagingDB":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"StagingDB({self.url_for_display})"


def open_staging(url: str, *, migrate: bool = True) -> StagingDB:
    """Open the staging DB, bringing its schema to head first unless `migrate` is False.

    Opening a database already at head runs no DDL. A database at a revision this code does not
    know (written by a newer version) is refused rather than guessed at.
    """
    engine = create_engine_for(url)
    try:
        if migrate:
            _ensure_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return StagingDB(engine)


def _ensure_head(engine: sa.Engine) -> None:
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise StagingDBError(
            f"staging database {mask_url(engine.url)} is at revision {current!r}, unknown to this "
            f"version of netbox_pipeline (newest known: {head!r}); upgrade netbox_pipeline"
        )
    upgrade(engine, "head")
