"""Is a Dagster run still alive, and freeing what dead runs hold (pool slots, the write lease).

Dagster frees a run's pool slots when the run ends in an orderly way. A process killed with SIGKILL
(a CLI sync, a run worker) never does: its run stays STARTED and its slot stays claimed, and every
later NetBox step would wait on it forever. Runs the CLI starts carry their host and pid as tags,
so a run whose process is gone is recognised on this host at once; runs launched by the daemon are
marked failed by run monitoring (dagster.yaml), after which their slots are freed here.
"""

import contextlib
import logging
import os
import socket

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from netbox_pipeline.stages.lease import step_lease
from netbox_pipeline.values import process_alive

log = logging.getLogger(__name__)

POOL = "netbox_writes"
HOST_TAG, PID_TAG = "netbox_pipeline/host", "netbox_pipeline/pid"
LEASE_WAIT_TAG = "netbox_pipeline/lease_wait_s"  # how long the CLI waited for the lease before the run started


def process_tags() -> dict[str, str]:
    """Tags naming the process that executes a run in-process (the CLI)."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def dead_reason(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Why a run is no longer alive ("it ended: FAILURE", "its process 123 is gone"), else None.

    A run this instance does not know (another Dagster instance) counts as alive: its lease then
    frees itself by expiry.
    """
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    if run.status in FINISHED_STATUSES:
        return f"it ended ({run.status.value})"
    host, pid = run.tags.get(HOST_TAG), run.tags.get(PID_TAG)
    if host == socket.gethostname() and pid and pid.isdigit() and not process_alive(int(pid)):
        return f"its process {pid} on {host} is gone"
    return None


@contextlib.contextmanager
def run_write_lease(context, config, staging, *, dry_run: bool, release: bool = False, continued: bool = False):
    """The run's NetBox write lease for this step (see stages.lease.step_lease), waiting in the run's log."""
    with step_lease(config, staging, context.run.run_id, dry_run=dry_run, release=release, continued=continued,
                    holder=f"Dagster run {context.run.run_id[:8]} step {context.op_execution_context.op_handle}, pid {os.getpid()} on {socket.gethostname()}",
                    holder_alive=lambda run_id: run_alive(context.instance, run_id), report=context.log.warning) as lease:
        yield lease


def run_alive(instance: dg.DagsterInstance, run_id: str) -> bool:
    return dead_reason(instance, run_id) is None


def slot_holders(instance: dg.DagsterInstance, pool: str = POOL) -> list[tuple[str, str]]:
    """(run id, step key) of every claimed slot of the pool."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return [(slot.run_id, slot.step_key) for slot in info.claimed_slots]


def free_dead_slots(instance: dg.DagsterInstance, pool: str = POOL) -> list[str]:
    """Free the pool slots (claimed or pending) of runs no longer alive; mark such runs failed.

    Returns one line per run freed, for the log.
    """
    freed = []
    info = instance.event_log_storage.get_concurrency_info(pool)
    run_ids = {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}
    for run_id in sorted(run_ids):
        reason = dead_reason(instance, run_id)
        if reason is None:
            continue
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status not in FINISHED_STATUSES:
            instance.report_run_failed(run, f"netbox_pipeline: {reason}; its {pool} slots were freed")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        freed.append(f"freed the {pool} slot(s) of run {run_id}: {reason}")
    for line in freed:
        log.warning(line)
    return freed
