"""History rows: one per Dagster run, in words a person uses (no staging keys)."""

import datetime as dt
import uuid

from netbox_pipeline.stages.history import history_rows

T0 = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


def run(kind: str, dagster_run_id: str, seconds: int = 0, **fields) -> dict:
    return {"id": str(uuid.uuid4()), "kind": kind, "dagster_run_id": dagster_run_id, "status": "success",
            "started_at": T0 + dt.timedelta(seconds=seconds), "counts": {}, "details": None, "error": None, **fields}


def test_netbox_steps_run_alone_are_a_write_named_by_their_types():
    plan_run = str(uuid.uuid4())
    rows = history_rows([
        run("apply", "d2", 60, plan_run_id=plan_run, object_type="vm_interfaces", phase="second", counts={"updated": 2}),
        run("apply", "d2", 61, plan_run_id=plan_run, object_type="vm_interfaces", phase="first", counts={"created": 1}),
        run("plan", "d1", 0, details={"instances": ["proxmox:pve"]}),
    ], configured_instances=2)
    write, sync = rows
    assert (write["kind"], write["run"], write["counts"]) == ("write", "d2", "created=1, updated=2, deleted=0")
    assert write["detail"] == "wrote vm_interfaces, vm_interfaces (second pass) from an earlier plan"
    assert plan_run not in str(write) and ":second" not in str(write)
    assert (sync["kind"], sync["sources"]) == ("sync", "proxmox:pve")
