"""Every store function, on SQLite and on PostgreSQL (the staging_url fixture runs both)."""

import uuid

import pytest
import sqlalchemy as sa

from netbox_pipeline.staging import db, store
from netbox_pipeline.staging.models import IdentityLink, InventoryItem
from netbox_pipeline.staging.store import StagingDataError


@pytest.fixture
def staging(staging_url):
    staging = db.open_staging(staging_url)
    yield staging
    staging.dispose()


def _run(staging, kind="source", status=None, **kwargs):
    with staging.session() as s:
        run_id = store.start_run(s, kind, **kwargs)
        if status:
            store.finish_run(s, run_id, status)
    return run_id


def _record(key, payload=None, location=None, record_type="device"):
    return {"record_type": record_type, "record_key": key, "location": location, "payload": payload or {"name": key}}


def _item(key, object_type="device", provenance=None, **fields):
    return {"object_type": object_type, "natural_key": key, "fields": {"name": key, **fields},
            "provenance": provenance or {}}


# --- runs ---------------------------------------------------------------------------------------


def test_run_lifecycle(staging):
    with staging.session() as s:
        run_id = store.start_run(s, "source", dagster_run_id="dg-1", source_kind="proxmox",
                                 instance="pve", dry_run=True)
    uuid.UUID(run_id)
    with staging.session() as s:
        run = store.get_run(s, run_id)
        assert run["status"] == "running" and run["finished_at"] is None
        assert (run["kind"], run["source_kind"], run["instance"], run["dry_run"]) == ("source", "proxmox", "pve", True)
        store.finish_run(s, run_id, "success", counts={"create": 3, "update": 1})
    with staging.session() as s:
        run = store.get_run(s, run_id)
    assert run["status"] == "success"
    assert run["counts"] == {"create": 3, "update": 1}
    assert run["finished_at"] >= run["started_at"]


def test_finish_run_records_the_error(staging):
    run_id = _run(staging)
    with staging.session() as s:
        store.finish_run(s, run_id, "failed", error="pve: 401 Unauthorized")
        assert store.get_run(s, run_id)["error"] == "pve: 401 Unauthorized"


def test_finish_run_rejects_unknown_run_and_status(staging):
    run_id = _run(staging)
    with staging.session() as s:
        with pytest.raises(StagingDataError, match="no run with id 'nope'"):
            store.finish_run(s, "nope", "success")
        with pytest.raises(StagingDataError, match="status 'done'"):
            store.finish_run(s, run_id, "done")


def test_list_runs_newest_first_with_limit(staging):
    ids = [_run(staging) for _ in range(3)]
    with staging.session() as s:
        assert [r["id"] for r in store.list_runs(s)] == ids[::-1]
        assert [r["id"] for r in store.list_runs(s, limit=2)] == ids[:0:-1]
        assert store.get_run(s, "missing") is None


# --- snapshots ----------------------------------------------------------------------------------


def test_record_snapshot_stores_records_and_hashes(staging):
    run_id = _run(staging)
    records = [_record("sw1", {"name": "sw1", "serial": "A"}, "inventory/rack-a.yaml:12"),
               _record("sw2", {"name": "sw2"}, "inventory/rack-a.yaml:20")]
    with staging.session() as s:
        first = store.record_snapshot(s, run_id, "filesystem", "rack-a", records)
        second = store.record_snapshot(s, run_id, "filesystem", "rack-a", records[::-1])
        stored = store.snapshot_records(s, first)
        snaps = {snap["id"]: snap for snap in store.latest_snapshots(s, only_ok=False).values()}
    assert [(r["record_key"], r["location"], r["payload"]) for r in stored] == [
        ("sw1", "inventory/rack-a.yaml:12", {"name": "sw1", "serial": "A"}),
        ("sw2", "inventory/rack-a.yaml:20", {"name": "sw2"}),
    ]
    assert stored[0]["payload_hash"] == store.content_hash({"serial": "A", "name": "sw1"})
    assert snaps[second]["record_count"] == 2
    with staging.session() as s:
        third = store.record_snapshot(s, run_id, "filesystem", "rack-a", [_record("sw1", {"name": "sw1", "serial": "B"})])
        hashes = {k: v["content_hash"] for k, v in store.latest_snapshots(s).items()}
        first_hash = s.scalar(sa.text(f"SELECT content_hash FROM source_snapshots WHERE id = {first}"))
        second_hash = s.scalar(sa.text(f"SELECT content_hash FROM source_snapshots WHERE id = {second}"))
    assert first_hash == second_hash  # record order does not matter
    assert hashes[("filesystem", "rack-a")] != first_hash
    assert third > second


def test_record_snapshot_locates_a_bad_record(staging):
    run_id = _run(staging)
    with staging.session() as s:
        with pytest.raises(StagingDataError, match=r"snapshot nmap/lan, record 1: missing record_key"):
            store.record_snapshot(s, run_id, "nmap", "lan", [_record("a"), {"record_type": "device", "payload": {}}])


def test_latest_snapshots_keep_last_good_one_when_newest_failed(staging):
    run_1, run_2 = _run(staging), _run(staging)
    with staging.session() as s:
        good = store.record_snapshot(s, run_1, "proxmox", "pve", [_record("vm1", record_type="virtual_machine")])
        other = store.record_snapshot(s, run_1, "nmap", "lan", [_record("10.0.0.1")])
        failed = store.record_snapshot(s, run_2, "proxmox", "pve", [], status="failed", error="timeout")
    with staging.session() as s:
        latest_ok = store.latest_snapshots(s)
        latest_any = store.latest_snapshots(s, only_ok=False)
        statuses = store.latest_snapshot_status(s)
    assert {k: v["id"] for k, v in latest_ok.items()} == {("proxmox", "pve"): good, ("nmap", "lan"): other}
    assert latest_any[("proxmox", "pve")]["id"] == failed
    assert latest_any[("proxmox", "pve")]["error"] == "timeout"
    assert statuses == {("proxmox", "pve"): "failed", ("nmap", "lan"): "ok"}


def test_latest_snapshots_follow_a_recovery(staging):
    run_id = _run(staging)
    with staging.session() as s:
        store.record_snapshot(s, run_id, "truenas", "nas", [_record("a")])
        store.record_snapshot(s, run_id, "truenas", "nas", [], status="failed", error="x")
        newest = store.record_snapshot(s, run_id, "truenas", "nas", [_record("b")])
        assert store.latest_snapshots(s)[("truenas", "nas")]["id"] == newest
        assert store.latest_snapshot_status(s) == {("truenas", "nas"): "ok"}


# --- inventory ----------------------------------------------------------------------------------


def _versions(session, object_type: str, natural_key: str) -> list[dict]:
    """Every stored version of one item, oldest first."""
    rows = session.scalars(sa.select(InventoryItem).where(
        InventoryItem.object_type == object_type, InventoryItem.natural_key == natural_key,
    ).order_by(InventoryItem.valid_from, InventoryItem.id))
    return [{column.name: getattr(row, column.name) for column in InventoryItem.__table__.columns} for row in rows]


def test_inventory_versions_on_change_only(staging):
    runs = [_run(staging, "inventory") for _ in range(3)]
    with staging.session() as s:
        assert store.save_inventory(s, runs[0], [_item("sw1", serial="A"), _item("sw2")]) == {
            "new": 2, "changed": 0, "unchanged": 0, "closed": 0}
    with staging.session() as s:
        assert store.save_inventory(s, runs[1], [_item("sw1", serial="A"), _item("sw2")]) == {
            "new": 0, "changed": 0, "unchanged": 2, "closed": 0}
        assert len(_versions(s, "device", "sw1")) == 1  # unchanged: no new row
    with staging.session() as s:
        assert store.save_inventory(s, runs[2], [_item("sw1", serial="B"), _item("sw2")])["changed"] == 1
    with staging.session() as s:
        history = _versions(s, "device", "sw1")
        current = {i["natural_key"]: i for i in store.current_inventory(s)}
    old, new = history
    assert old["fields"]["serial"] == "A" and old["valid_to"] is not None and old["closed_run_id"] == runs[2]
    assert old["last_seen_run_id"] == runs[1]
    assert new["fields"]["serial"] == "B" and new["valid_to"] is None and new["first_seen_run_id"] == runs[2]
    assert new["valid_from"] == old["valid_to"]
    assert current["sw1"]["id"] == new["id"]
    assert current["sw2"]["first_seen_run_id"] == runs[0] and current["sw2"]["last_seen_run_id"] == runs[2]


def test_inventory_versions_when_origin_changes_not_when_observed_again(staging):
    runs = [_run(staging, "inventory") for _ in range(3)]

    def prov(kind, observed):
        return {"serial": {"source_kind": kind, "instance": "i", "record_id": "sw1",
                           "observed_at": observed, "run_id": str(uuid.uuid4())}}

    with staging.session() as s:
        store.save_inventory(s, runs[0], [_item("sw1", provenance=prov("nmap", "t1"), serial="A")])
        again = store.save_inventory(s, runs[1], [_item("sw1", provenance=prov("nmap", "t2"), serial="A")])
        moved = store.save_inventory(s, runs[2], [_item("sw1", provenance=prov("filesystem", "t3"), serial="A")])
    assert again["unchanged"] == 1 and moved["changed"] == 1


def test_absent_items_stay_current_unless_close_missing(staging):
    runs = [_run(staging, "inventory") for _ in range(3)]
    with staging.session() as s:
        store.save_inventory(s, runs[0], [_item("sw1"), _item("vm1", "virtual_machine")])
        assert store.save_inventory(s, runs[1], [_item("sw1")])["closed"] == 0
        assert len(store.current_inventory(s)) == 2
        assert store.save_inventory(s, runs[2], [_item("sw1")], close_missing=True)["closed"] == 1
        assert [i["natural_key"] for i in store.current_inventory(s)] == ["sw1"]
        assert store.current_inventory(s, "virtual_machine") == []
        closed = _versions(s, "virtual_machine", "vm1")[0]
        assert closed["closed_run_id"] == runs[2]
        assert [v["valid_to"] is None for v in _versions(s, "device", "sw1")] == [True]  # still current


def test_inventory_rejects_duplicates_and_a_second_current_version(staging):
    run_id = _run(staging, "inventory")
    with staging.session() as s:
        with pytest.raises(StagingDataError, match=r"inventory item 1: duplicate device 'sw1'"):
            store.save_inventory(s, run_id, [_item("sw1"), _item("sw1")])
    with staging.session() as s:
        store.save_inventory(s, run_id, [_item("sw1")])
    with pytest.raises(sa.exc.IntegrityError):
        with staging.session() as s:
            s.execute(sa.insert(InventoryItem), [{"object_type": "device", "natural_key": "sw1", "fields": {},
                                                   "content_hash": "x", "first_seen_run_id": run_id,
                                                   "last_seen_run_id": run_id}])


# --- identity links -----------------------------------------------------------------------------


def _link(record_key="192.0.2.5", reason="MAC AA:BB:CC:DD:EE:01", key="home/nas", **extra):
    return {"object_type": "device", "inventory_natural_key": key, "source_kind": "nmap", "instance": "lan",
            "record_key": record_key, "reason": reason, **extra}


def test_identity_links_are_stored_once_and_seen_again(staging):
    scan_run = _run(staging, "source", "success")
    with staging.session() as s:
        store.record_snapshot(s, scan_run, "nmap", "lan", [_record("192.0.2.5", location="nmap lan 192.0.2.5")])
    first = _run(staging, "inventory", "success")
    with staging.session() as s:
        counts = store.save_identity_links(s, first, [_link(), _link(), _link("192.0.2.6", "serial S-1")])
    assert counts == {"new": 2, "seen": 0}  # the repeated link is one row
    second = _run(staging, "inventory", "success")
    with staging.session() as s:  # the next run sees one of them again, and a new one
        assert store.save_identity_links(s, second, [_link(), _link("192.0.2.7", "MAC AA:BB:CC:DD:EE:07")]) == {
            "new": 1, "seen": 1}
        assert store.save_identity_links(s, second, []) == {"new": 0, "seen": 0}
    with staging.session() as s:
        links = store.identity_links_for(s, "device", "home/nas")
        assert store.identity_links_for(s, "device", "home/other") == []
        assert s.scalar(sa.select(sa.func.count()).select_from(IdentityLink)) == 3
    # Current links (seen by the newest inventory run) first; each keeps the run that first saw it.
    assert [(link["record_key"], link["reason"], link["current"], link["run_id"], link["last_seen_run_id"])
            for link in links] == [
        ("192.0.2.5", "MAC AA:BB:CC:DD:EE:01", True, first, second),
        ("192.0.2.7", "MAC AA:BB:CC:DD:EE:07", True, second, second),
        ("192.0.2.6", "serial S-1", False, first, first),
    ]
    assert links[0]["location"] == "nmap lan 192.0.2.5" and links[1]["location"] is None


def test_identity_links_locate_a_bad_link_and_fit_a_long_reason(staging):
    run_id = _run(staging, "inventory", "success")
    with staging.session() as s:
        with pytest.raises(StagingDataError, match="identity link 1: missing record_key, reason"):
            store.save_identity_links(s, run_id, [_link(), _link(record_key="", reason=None)])
    with staging.session() as s:
        store.save_identity_links(s, run_id, [_link(reason="device serial " + "S" * 400)])
        store.save_identity_links(s, run_id, [_link(reason="device serial " + "S" * 400)])  # the same, once
    with staging.session() as s:
        (link,) = store.identity_links_for(s, "device", "home/nas")
    assert len(link["reason"]) == 255 and link["reason"].endswith("…")


# --- plan and apply -----------------------------------------------------------------------------


def test_plan_round_trip_and_latest_plan_run(staging):
    with staging.session() as s:
        assert store.latest_plan_run_id(s) is None
    older = _run(staging, "plan", status="success")
    plan_run = _run(staging, "plan")
    items = [
        {"object_type": "device", "natural_key": "sw1", "action": "create", "desired": {"name": "sw1"}},
        {"object_type": "device", "natural_key": "sw2", "action": "update", "netbox_id": 7,
         "changes": {"serial": [None, "X"]}, "reason": "serial changed"},
    ]
    with staging.session() as s:
        assert store.save_plan(s, plan_run, items) == 2
        assert store.latest_plan_run_id(s) == older  # still running
        store.finish_run(s, plan_run, "success")
        failed = store.start_run(s, "plan")
        store.finish_run(s, failed, "failed")
    with staging.session() as s:
        plan = store.plan_for_run(s, plan_run)
        assert store.latest_plan_run_id(s) == plan_run
    assert [(p["natural_key"], p["action"], p["netbox_id"]) for p in plan] == [("sw1", "create", None), ("sw2", "update", 7)]
    assert plan[1]["changes"] == {"serial": [None, "X"]} and plan[0]["desired"] == {"name": "sw1"}


def test_save_plan_rejects_unknown_action(staging):
    run_id = _run(staging, "plan")
    with staging.session() as s:
        with pytest.raises(StagingDataError, match=r"plan item 0 \(sw1\): action 'rename'"):
            store.save_plan(s, run_id, [{"object_type": "device", "natural_key": "sw1", "action": "rename"}])


def test_applied_changes_round_trip(staging):
    run_id = _run(staging, "apply")
    with staging.session() as s:
        store.save_plan(s, run_id, [{"object_type": "device", "natural_key": "sw1", "action": "update"}])
        plan_item_id = store.plan_for_run(s, run_id)[0]["id"]
        assert store.record_applied(s, run_id, [
            {"object_type": "device", "natural_key": "sw1", "netbox_id": 5, "action": "update",
             "before": {"serial": "A"}, "after": {"serial": "B"}, "status": "applied", "plan_item_id": plan_item_id},
            {"object_type": "device", "natural_key": "sw9", "action": "create", "after": {"name": "sw9"},
             "status": "failed", "error": "400: name exists"},
        ]) == 2
        applied = store.applied_for_run(s, run_id)
        with pytest.raises(StagingDataError, match="status 'ok'"):
            store.record_applied(s, run_id, [{"object_type": "device", "natural_key": "x",
                                              "action": "create", "status": "ok"}])
    assert [(a["natural_key"], a["status"], a["before"], a["after"]) for a in applied] == [
        ("sw1", "applied", {"serial": "A"}, {"serial": "B"}), ("sw9", "failed", None, {"name": "sw9"})]
    assert applied[0]["plan_item_id"] == plan_item_id and applied[1]["error"] == "400: name exists"
    assert applied[0]["applied_at"].tzinfo is not None


# --- object map ---------------------------------------------------------------------------------


class _StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args):
        self.count += 1


def test_object_map_bulk_upsert_of_2000_rows(staging):
    run_1, run_2 = _run(staging, "apply"), _run(staging, "apply")
    entries = [{"object_type": "device", "natural_key": f"dev{i:04}", "netbox_id": i,
                "last_written": {"serial": f"S{i}"}, "written_hash": f"h{i}", "source_kinds": ["proxmox"],
                "last_written_run_id": run_1} for i in range(2000)]
    with _StatementCounter(staging.engine) as counter, staging.session() as s:
        assert store.upsert_object_map(s, entries) == {"inserted": 2000, "updated": 0}
    assert counter.count <= 10, f"{counter.count} statements for 2000 inserts"

    updates = [{"object_type": "device", "natural_key": f"dev{i:04}", "last_seen_run_id": run_2,
                "first_written_run_id": run_2} for i in range(0, 2000, 2)]
    updates.append({"object_type": "device", "natural_key": "dev-new", "netbox_id": 9999})
    with _StatementCounter(staging.engine) as counter, staging.session() as s:
        assert store.upsert_object_map(s, updates) == {"inserted": 1, "updated": 1000}
    assert counter.count <= 10, f"{counter.count} statements for 1000 updates"

    with staging.session() as s:
        mapped = store.load_object_map(s, "device")
    assert len(mapped) == 2001
    even, odd = mapped[("device", "dev0000")], mapped[("device", "dev0001")]
    assert even["last_seen_run_id"] == run_2 and odd["last_seen_run_id"] is None
    assert even["first_written_run_id"] == run_1  # kept once set
    assert even["last_written"] == {"serial": "S0"} and even["netbox_id"] == 0  # untouched fields kept
    new = mapped[("device", "dev-new")]
    assert (new["owned"], new["missing_runs"], new["source_kinds"]) == (True, 0, [])


def test_object_map_missing_runs_and_delete(staging):
    with staging.session() as s:
        store.upsert_object_map(s, [{"object_type": t, "natural_key": k, "netbox_id": n}
                                    for n, (t, k) in enumerate([("device", "a"), ("device", "b"), ("site", "a")])])
        assert store.set_missing_runs(s, {("device", "a"): 2, ("site", "a"): 1, ("device", "zz"): 5}) == 2
    with staging.session() as s:
        mapped = store.load_object_map(s)
        assert {k: v["missing_runs"] for k, v in mapped.items()} == {
            ("device", "a"): 2, ("device", "b"): 0, ("site", "a"): 1}
        assert store.delete_object_map(s, [("device", "a"), ("site", "a"), ("site", "missing")]) == 2
    with staging.session() as s:
        assert list(store.load_object_map(s)) == [("device", "b")]
        assert store.load_object_map(s, "site") == {}


def test_object_map_rejects_unknown_fields(staging):
    with staging.session() as s:
        with pytest.raises(StagingDataError, match=r"object map entry 0 \(a\): unknown fields \['colour'\]"):
            store.upsert_object_map(s, [{"object_type": "device", "natural_key": "a", "colour": "red"}])


# --- explain ------------------------------------------------------------------------------------


def test_field_lineage_names_the_record_location_and_the_write(staging):
    fs_run, pve_run, inv_run, apply_run = (_run(staging, k) for k in ("source", "source", "inventory", "apply"))
    later_fs_run = _run(staging)
    with staging.session() as s:
        store.record_snapshot(s, fs_run, "filesystem", "rack-a",
                              [_record("pve1", {"name": "pve1", "serial": "SN1"}, "inventory/rack-a.yaml:12")])
        store.record_snapshot(s, pve_run, "proxmox", "pve",
                              [_record("pve1", {"node": "pve1", "memory": 64}, "https://pve:8006 nodes/pve1")])
        # A later snapshot moved the record: lineage must name the one the provenance came from.
        store.record_snapshot(s, later_fs_run, "filesystem", "rack-a",
                              [_record("pve1", {"name": "pve1", "serial": "SN1"}, "inventory/rack-a.yaml:40")])

        def prov(kind, instance, run_id):
            return {"source_kind": kind, "instance": instance, "record_id": "pve1",
                    "observed_at": "2025-01-01T00:00:00+00:00", "run_id": run_id}

        store.save_inventory(s, inv_run, [
            _item("pve1", serial="SN1", memory=64,
                  provenance={"name": prov("filesystem", "rack-a", fs_run), "serial": prov("filesystem", "rack-a", fs_run),
                              "memory": prov("proxmox", "pve", pve_run)}),
            _item("pve1/eth0", "interface", provenance={"name": prov("proxmox", "pve", pve_run)}),
            _item("pve10", serial="OTHER"),
        ])
        # Applied changes are typed by NetBox type ("devices"), inventory items by record ("device").
        store.record_applied(s, apply_run, [{"object_type": "devices", "natural_key": "pve1", "netbox_id": 3,
                                             "action": "create", "after": {"name": "pve1", "serial": "SN1"},
                                             "status": "applied"}])
    with staging.session() as s:
        lineage = store.field_lineage(s, "pve1")
        assert store.field_lineage(s, "nothing-like-it") == []
        globbed = store.field_lineage(s, "pve1*")
    by_field = {(row["natural_key"], row["field"]): row for row in lineage}
    assert set(by_field) == {("pve1", "name"), ("pve1", "serial"), ("pve1", "memory"), ("pve1/eth0", "name")}
    serial = by_field[("pve1", "serial")]
    assert (serial["value"], serial["source_kind"], serial["instance"], serial["record_key"], serial["location"]) == (
        "SN1", "filesystem", "rack-a", "pve1", "inventory/rack-a.yaml:12")
    assert serial["run_id"] == fs_run
    assert [(w["run_id"], w["value"], w["netbox_id"]) for w in serial["written"]] == [(apply_run, "SN1", 3)]
    memory = by_field[("pve1", "memory")]
    assert (memory["source_kind"], memory["location"], memory["written"]) == ("proxmox", "https://pve:8006 nodes/pve1", [])
    assert by_field[("pve1/eth0", "name")]["object_type"] == "interface"
    assert {row["natural_key"] for row in globbed} == {"pve1", "pve1/eth0", "pve10"}


def test_apply_runs_of_a_plan_are_found_by_column(staging_url):
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    db = open_staging(staging_url)
    with db.session() as session:
        first = store.start_run(session, "apply", plan_run_id="plan-1", object_type="devices", phase="first")
        store.start_run(session, "apply", plan_run_id="plan-10", object_type="devices", phase="first")
        store.start_run(session, "plan", plan_run_id="plan-1", object_type="devices", phase="first")
        second = store.start_run(session, "apply", plan_run_id="plan-1", object_type="sites", phase="first")
    with db.session() as session:
        assert [r["id"] for r in store.apply_runs(session, "plan-1")] == [first, second]
        assert [(r["object_type"], r["phase"]) for r in store.apply_runs(session, "plan-1")] == [("devices", "first"), ("sites", "first")]
        assert store.apply_runs(session, "plan_1") == []
    db.dispose()


def test_rename_object_map_moves_entries_and_keeps_an_existing_target(staging_url):
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    db = open_staging(staging_url)
    with db.session() as session:
        store.upsert_object_map(session, [
            {"object_type": "virtual_machines", "natural_key": "pve/old-name", "netbox_id": 7},
            {"object_type": "vm_interfaces", "natural_key": "pve/old-name/net0", "netbox_id": 8},
            {"object_type": "vm_interfaces", "natural_key": "pve/new-name/net1", "netbox_id": 9},
            {"object_type": "vm_interfaces", "natural_key": "pve/old-name/net1", "netbox_id": 10},
        ])
    with db.session() as session:
        moved = store.rename_object_map(session, {
            ("virtual_machines", "pve/old-name"): "pve/new-name",
            ("vm_interfaces", "pve/old-name/net0"): "pve/new-name/net0",
            ("vm_interfaces", "pve/old-name/net1"): "pve/new-name/net1",
        })
    with db.session() as session:
        entries = {key: e["netbox_id"] for key, e in store.load_object_map(session).items()}
    assert moved == 2
    assert entries == {("virtual_machines", "pve/new-name"): 7, ("vm_interfaces", "pve/new-name/net0"): 8,
                       ("vm_interfaces", "pve/new-name/net1"): 9}
    db.dispose()


def test_runs_of_dagster_runs_selects_by_kind_and_dagster_run(staging_url):
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    db = open_staging(staging_url)
    with db.session() as session:
        mine = store.start_run(session, "apply", dagster_run_id="d-1", plan_run_id="p", object_type="devices", phase="first")
        store.start_run(session, "plan", dagster_run_id="d-1")
        store.start_run(session, "apply", dagster_run_id="d-2", plan_run_id="p", object_type="sites", phase="first")
    with db.session() as session:
        assert [r["id"] for r in store.runs_of_dagster_runs(session, "apply", ["d-1", "d-9"])] == [mine]
    db.dispose()


def test_every_store_function_is_listed_in_the_staging_doc():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "staging-db.md").read_text(encoding="utf-8")
    functions = [name for name in dir(store) if not name.startswith("_") and callable(getattr(store, name))
                 and getattr(store, name).__module__.startswith("netbox_pipeline.staging.store")]
    assert "plan_slice" in functions
    assert [name for name in functions if f"`{name}" not in doc and f"store.{name}" not in doc] == []
