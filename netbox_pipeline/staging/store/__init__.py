"""Small reads and writes the pipeline makes on the staging DB, one module per table group.

Every function takes a Session and leaves committing to the caller (`StagingDB.session()`).
Results are plain dicts, never ORM objects. Writes are bulk: a few statements per call, however
many rows. Payloads are stored as received; callers strip secrets before handing them over.
Callers use the package as one namespace (`store.start_run`, `store.plan_slice`, ...).
"""

from netbox_pipeline.staging.store._common import StagingDataError, content_hash
from netbox_pipeline.staging.store.runs import (
    apply_runs,
    find_runs,
    finish_run,
    get_run,
    list_runs,
    runs_of_dagster_runs,
    start_run,
)
from netbox_pipeline.staging.store.snapshots import (
    latest_snapshot_status,
    latest_snapshots,
    record_snapshot,
    snapshot_records,
)
from netbox_pipeline.staging.store.inventory import (
    current_inventory,
    save_inventory,
)
from netbox_pipeline.staging.store.plans import (
    applied_for_run,
    applied_for_runs,
    latest_plan_run_id,
    latest_real_plan_run_id,
    plan_action_counts,
    plan_for_run,
    plan_keys,
    plan_run_of_dagster_run,
    plan_slice,
    plan_writes,
    record_applied,
    save_plan,
)
from netbox_pipeline.staging.store.object_map import (
    delete_object_map,
    load_object_map,
    netbox_ids,
    rename_object_map,
    repoint_object_map,
    set_missing_runs,
    upsert_object_map,
)
from netbox_pipeline.staging.store.lineage import (
    NETBOX_TYPE_OF_RECORD,
    field_lineage,
    last_writes,
    latest_conflicts,
    plan_items_matching,
)
from netbox_pipeline.staging.store.identity import (
    identity_links_for,
    save_identity_links,
)
from netbox_pipeline.staging.store.leases import (
    insert_lease,
    lease_holder,
    release_lease,
    renew_lease,
    take_over_lease,
)
