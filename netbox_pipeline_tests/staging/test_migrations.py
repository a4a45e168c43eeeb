"""Migrations both ways on both backends, and no drift between models and migrations."""

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from netbox_pipeline.staging import db
from netbox_pipeline.staging.models import STAGING_TABLES, Base

EXPECTED_COLUMNS = {
    "runs": {"plan_run_id", "object_type", "phase", "details", "id", "dagster_run_id", "kind", "source_kind", "instance", "started_at", "finished_at",
             "status", "dry_run", "counts", "error"},
    "source_snapshots": {"id", "run_id", "source_kind", "instance", "status", "error", "record_count",
                         "content_hash", "taken_at"},
    "source_records": {"id", "snapshot_id", "record_type", "record_key", "location", "payload", "payload_hash"},
    "inventory_items": {"id", "object_type", "natural_key", "fields", "provenance", "content_hash",
                        "first_seen_run_id", "last_seen_run_id", "closed_run_id", "valid_from", "valid_to"},
    "identity_links": {"id", "object_type", "inventory_natural_key", "source_kind", "instance",
                       "record_key", "reason", "run_id", "last_seen_run_id", "created_at"},
    "plan_items": {"id", "run_id", "object_type", "natural_key", "action", "netbox_id", "changes",
                   "desired", "reason", "item", "writes_first", "writes_second"},
    "applied_changes": {"id", "run_id", "plan_item_id", "object_type", "natural_key", "netbox_id", "action",
                        "before", "after", "status", "error", "applied_at"},
    "object_map": {"id", "object_type", "natural_key", "netbox_id", "inventory_item_key", "last_written",
                   "written_hash", "owned", "source_kinds", "first_written_run_id", "last_written_run_id",
                   "last_seen_run_id", "missing_runs", "updated_at"},
    "write_leases": {"netbox_url", "holder", "run_id", "acquired_at", "heartbeat_at", "expires_at"},
}


def _tables(url: str) -> set[str]:
    engine = db.create_engine_for(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _assert_schema_at_head(url: str) -> None:
    engine = db.create_engine_for(url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == set(EXPECTED_COLUMNS) | {"alembic_version"}
        for table, columns in EXPECTED_COLUMNS.items():
            assert {c["name"] for c in inspector.get_columns(table)} == columns, table
        current = {
            i["name"] for i in inspector.get_indexes("inventory_items") if i["unique"]
        }
        assert "uq_inventory_items_current" in current
        uniques = inspector.get_unique_constraints("object_map")
        assert [set(u["column_names"]) for u in uniques] == [{"object_type", "natural_key"}]
    finally:
        engine.dispose()


def test_expected_tables_match_the_models():
    assert set(STAGING_TABLES) == set(EXPECTED_COLUMNS)


def test_upgrade_downgrade_upgrade(staging_url):
    assert db.current_revision(staging_url) is None
    db.upgrade(staging_url)
    assert db.current_revision(staging_url) == db.head_revision()
    _assert_schema_at_head(staging_url)

    db.downgrade(staging_url)
    assert db.current_revision(staging_url) is None
    assert _tables(staging_url) <= {"alembic_version"}

    db.upgrade(staging_url)
    _assert_schema_at_head(staging_url)


def test_models_and_migrations_do_not_drift(staging_url):
    db.upgrade(staging_url)
    engine = db.create_engine_for(staging_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_drift_check_would_notice_a_missing_migration(staging_url):
    """Guard for the test above: an extra model column must show up as a difference."""
    db.upgrade(staging_url)
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["runs"].append_column(sa.Column("not_migrated", sa.Integer()))
    engine = db.create_engine_for(staging_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "not_migrated")]


def test_migration_chain_is_linear_and_located_next_to_the_package():
    assert db.MIGRATIONS_DIR.is_dir()
    assert (db.MIGRATIONS_DIR / "env.py").is_file()
    script = ScriptDirectory.from_config(db.alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert revisions[-1].revision == "0001"
    assert [r.revision for r in reversed(revisions)] == ["0001", "0002", "0003", "0004", "0005"]


def test_0002_moves_apply_run_markers_into_columns_and_back(staging_url):
    db.upgrade(staging_url, "0001")
    engine = db.create_engine_for(staging_url)
    insert = sa.text("INSERT INTO runs (id, kind, instance, started_at, status, dry_run) "
                     "VALUES (:id, :kind, :instance, :at, 'success', false)")
    columns = sa.text("SELECT instance, plan_run_id, object_type, phase FROM runs WHERE id = :id")
    try:
        with engine.begin() as conn:
            conn.execute(insert, {"id": "a1", "kind": "apply", "instance": "p-1:devices:first", "at": "2026-11-01 00:00:00"})
            conn.execute(insert, {"id": "s1", "kind": "source", "instance": "rack", "at": "2026-11-01 00:00:00"})
        db.upgrade(staging_url)
        with engine.connect() as conn:
            assert tuple(conn.execute(columns, {"id": "a1"}).one()) == (None, "p-1", "devices", "first")
            assert tuple(conn.execute(columns, {"id": "s1"}).one()) == ("rack", None, None, None)
        db.downgrade(staging_url, "0001")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT instance FROM runs WHERE id = 'a1'")).scalar() == "p-1:devices:first"
    finally:
        engine.dispose()


def test_0004_keeps_identity_links_seen_by_the_run_that_wrote_them(staging_url):
    db.upgrade(staging_url, "0003")
    engine = db.create_engine_for(staging_url)
    insert = sa.text("INSERT INTO identity_links (object_type, inventory_natural_key, source_kind, instance, record_key, "
                     "reason, run_id, created_at) VALUES ('device', 'home/nas', 'nmap', 'lan', '192.0.2.5', "
                     "'MAC AA:BB:CC:DD:EE:01', 'r-1', '2026-11-01 00:00:00')")
    long_reason = "device serial " + "S" * 100
    try:
        with engine.begin() as conn:
            conn.execute(insert)
        db.upgrade(staging_url)
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT last_seen_run_id FROM identity_links")).scalar() == "r-1"
            conn.execute(sa.text("UPDATE identity_links SET reason = :r"), {"r": long_reason})  # fits now
        db.downgrade(staging_url, "0003")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT reason FROM identity_links")).scalar() == long_reason[:64]
    finally:
        engine.dispose()


def test_0005_puts_the_global_table_into_ip_address_keys_and_primary_ips_and_back(staging_url):
    db.upgrade(staging_url, "0004")
    engine = db.create_engine_for(staging_url)
    insert = sa.text("INSERT INTO object_map (object_type, natural_key, netbox_id, last_written, owned, missing_runs, "
                     "updated_at) VALUES (:type, :key, 1, :written, true, 2, '2026-11-01 00:00:00')")
    rows = sa.text("SELECT object_type, natural_key, last_written FROM object_map ORDER BY id")
    try:
        with engine.begin() as conn:
            conn.execute(insert, {"type": "ip_addresses", "key": "192.0.2.10", "written": '{"address": "192.0.2.10/24"}'})
            conn.execute(insert, {"type": "ip_addresses", "key": "2001:db8::1", "written": None})
            conn.execute(insert, {"type": "devices", "key": "home/sw-1",
                                  "written": '{"name": "sw-1", "primary_ip4": ["192.0.2.10"]}'})
            conn.execute(insert, {"type": "sites", "key": "home", "written": '{"name": "home"}'})
        db.upgrade(staging_url)

        def state():
            with engine.connect() as conn:
                return [(t, k, json.loads(w) if isinstance(w, str) else w) for t, k, w in conn.execute(rows)]

        assert state() == [
            ("ip_addresses", "/192.0.2.10", {"address": "192.0.2.10/24"}), ("ip_addresses", "/2001:db8::1", None),
            ("devices", "home/sw-1", {"name": "sw-1", "primary_ip4": ["", "192.0.2.10"]}),
            ("sites", "home", {"name": "home"})]
        db.downgrade(staging_url, "0004")
        assert [(t, k) for t, k, _ in state()][:2] == [("ip_addresses", "192.0.2.10"), ("ip_addresses", "2001:db8::1")]
        assert state()[2][2]["primary_ip4"] == ["192.0.2.10"]
    finally:
        engine.dispose()
