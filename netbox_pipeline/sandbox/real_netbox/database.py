"""The PostgreSQL side: a migrated template database per NetBox version, and cheap clones of it.

Migrating an empty NetBox database takes 8–11 minutes on 2 cores; `CREATE DATABASE x TEMPLATE t`
takes seconds. So each version is migrated once per machine into `netbox_pipeline_tpl_<version>`
(restored from a shared pg_dump when one for exactly that version exists, then `netbox migrate`
as a check), and every instance or test gets its own clone.
"""

import hashlib
import logging
import os
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import psycopg2
from psycopg2 import sql

from netbox_pipeline.values import process_alive

from .install import RealNetBoxError, run_logged, version_dir
from .locking import file_lock

log = logging.getLogger("netbox_pipeline.real_netbox")

PG_HOST = os.environ.get("NETBOX_PIPELINE_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NETBOX_PIPELINE_PG_PORT", "5432"))
PG_USER = os.environ.get("NETBOX_PIPELINE_PG_USER", "postgres")
DUMP_NAME = "migrated-empty.dump"


def admin_connection():
    try:
        conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise RealNetBoxError(
            f"PostgreSQL is not reachable at {PG_USER}@{PG_HOST}:{PG_PORT} ({str(exc).strip().splitlines()[0]}). "
            "A real NetBox needs a local PostgreSQL (trust auth for that user); `./run.sh test` starts it on Debian, "
            "NETBOX_PIPELINE_PG_HOST / _PORT / _USER point elsewhere."
        ) from exc
    conn.autocommit = True
    return conn


def database_exists(name: str) -> bool:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def execute(statement: sql.Composable) -> None:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def drop_database(name: str) -> None:
    # FORCE ends the gunicorn workers' pooled connections too; CONN_HEALTH_CHECKS makes them reconnect.
    execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def clone_database(template: str, name: str) -> None:
    execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))


# An instance database is named after the host and the process that made it, so a later start can tell
# the databases of killed processes (dropped) from those of running ones (kept).
INSTANCE_PREFIX = "netbox_pipeline_rn_"
SEED_SUFFIX = "_seed"


def host_tag() -> str:
    """Six hex digits of this host's name: a PostgreSQL server shared with other hosts (other PID
    spaces) sees their instances under other tags and leaves them alone."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def instance_name(pid: int, unique: str) -> str:
    return f"{INSTANCE_PREFIX}{host_tag()}_{pid}_{unique}"


def leftover_databases(names: list[str], host: str, alive: Callable[[int], bool]) -> list[str]:
    """The instance databases (and their seeds) made on `host` by processes that no longer run.
    Names of other hosts, or from before names carried a PID, are not ours to judge."""
    pattern = re.compile(rf"{re.escape(INSTANCE_PREFIX)}{re.escape(host)}_(\d+)_[0-9a-f]+(?:{SEED_SUFFIX})?")
    leftovers = []
    for name in names:
        found = pattern.fullmatch(name)
        if found and not alive(int(found.group(1))):
            leftovers.append(name)
    return leftovers


def instance_databases() -> list[str]:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            return [row[0] for row in cur.fetchall() if row[0].startswith(INSTANCE_PREFIX)]
    finally:
        conn.close()


def sweep_leftovers() -> list[str]:
    """Drop the instance databases that killed processes of this host left behind; their names."""
    dropped = []
    for name in leftover_databases(instance_databases(), host_tag(), process_alive):
        try:
            drop_database(name)
        except Exception as exc:  # a sweep must not keep a new instance from starting
            log.warning("could not drop leftover database %s: %s", name, exc)
            continue
        log.info("dropped leftover database %s (its process is gone)", name)
        dropped.append(name)
    return dropped


def template_name(version: str) -> str:
    return "netbox_pipeline_tpl_" + version.replace(".", "_")


def shared_dump(version: str) -> Path | None:
    """A pg_dump of a migrated empty database of exactly this version, if this machine has one."""
    here = Path(__file__).resolve()
    bases = [os.environ.get("NETBOX_PIPELINE_SHARED", ""), str(here.parents[3].parent / "shared"), "/work/shared"]
    for base in filter(None, bases):
        dump = Path(base) / f"netbox-{version}" / DUMP_NAME
        if dump.is_file():
            return dump
    return None


def ensure_template(version: str, migrate: Callable[[str], None]) -> str:
    """The migrated template database of `version`; `migrate(db_name)` runs `netbox migrate` on a database.

    Built under a temporary name and renamed when complete, so a half-built template is never cloned;
    a lock file keeps concurrent preparers on this machine from building it twice.
    """
    template = template_name(version)
    if database_exists(template):
        return template
    with file_lock(version_dir(version) / ".template.lock"):
        if database_exists(template):
            return template
        building = template + "_building"
        drop_database(building)  # left over from an interrupted attempt
        execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        dump = shared_dump(version)
        if dump:
            restore = shutil.which("pg_restore")
            if not restore:
                raise RealNetBoxError("pg_restore not found (PostgreSQL client tools); install postgresql-client")
            run_logged(f"restoring the migrated NetBox {version} database from {dump}",
                       [restore, "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "--no-owner", "-d", building, str(dump)],
                       log_file=version_dir(version) / "migrate.log")
            log.info("running `netbox migrate` on the restored database (a no-op when nothing is missing)")
        else:
            log.info("no shared dump for NetBox %s: migrating an empty database (8-11 minutes on 2 cores)", version)
        migrate(building)
        execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(template)))
        log.info("template database %s is ready", template)
    return template

