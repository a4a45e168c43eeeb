"""P4: the functional core without I/O: parse + merge + desired + plan, empty NetBox and no-op.

Each size runs in its own child process, so its peak RSS is its own (the high-water mark of one
process only ever grows). The no-op live state is the desired state in comparison form, as the
plan sees NetBox after a sync that wrote everything (ids numbered in order, every object owned).
"""

import json
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netbox_pipeline.sandbox.demo_estate import generate_bench_inventory_files

STAGES = ("parse", "merge", "desired", "plan_empty", "live_noop", "plan_noop")
DEVICES_PER_FILE = 50_000  # about 33 MB of JSON: under the inventory file limit (sources/documents.MAX_BYTES)


def live_equal_to(desired) -> Any:
    """A LiveState holding exactly the desired objects (what NetBox holds after a complete sync)."""
    from netbox_pipeline.netbox.schema import LiveIndex, LiveObject, LiveState, get_type, normalise_field, normalise_tags

    index, objects, next_id = LiveIndex(), {}, 1
    for type_name, by_key in desired.items():
        t = get_type(type_name)
        objects[type_name] = {}
        for key, obj in by_key.items():
            fields = {name: normalise_field(t, name, obj.fields.get(name)) for name in t.compared if name != "tags"}
            fields["tags"] = normalise_field(t, "tags", obj.fields.get("tags"))
            live = LiveObject(type=type_name, id=next_id, key=key, fields=fields,
                              tags=frozenset(normalise_tags(obj.fields.get("tags"))), owned=True)
            objects[type_name][key] = live
            index.add(live)
            next_id += 1
    return LiveState(objects=objects, index=index, duplicates=[])


def _run_size(devices: int, paths: list[Path], queue) -> None:
    from netbox_pipeline.reconcile.desired import desired_objects
    from netbox_pipeline.reconcile.merge import merge
    from netbox_pipeline.sources import default_precedence
    from netbox_pipeline.reconcile.plan import build_plan
    from netbox_pipeline.sources.filesystem import read_inventory_file

    times: dict[str, float] = {}
    cpu: dict[str, float] = {}  # this process's CPU seconds: less swayed by a busy machine than wall time

    def timed(stage: str, fn):
        started, started_cpu = time.perf_counter(), time.process_time()
        value = fn()
        times[stage], cpu[stage] = time.perf_counter() - started, time.process_time() - started_cpu
        return value

    results = timed("parse", lambda: [read_inventory_file(path, path.stem, observed_at=datetime.now(UTC)) for path in paths])
    for path in paths:
        path.unlink()
    unread = [result.error or f"{len(result.errors)} bad record(s), first: {result.errors[0].message}"
              for result in results if result.status != "ok" or result.errors]
    if unread:  # a measurement of nothing would read as a fast one
        queue.put({"devices": devices, "error": "; ".join(unread)})
        return
    inventory = timed("merge", lambda: merge(results, default_precedence()))
    healthy = {(result.source_kind, result.instance) for result in results}
    desired = timed("desired", lambda: desired_objects(inventory))
    empty = timed("plan_empty", lambda: build_plan(desired, {}, healthy_instances=healthy))
    live = timed("live_noop", lambda: live_equal_to(desired))
    noop = timed("plan_noop", lambda: build_plan(desired, live, healthy_instances=healthy))
    queue.put({
        "devices": devices, "objects": desired.count(), "times": times, "cpu": cpu,
        "empty_totals": empty.totals(), "noop_totals": noop.totals(),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })


def measure_core(sizes: tuple[int, ...], *, timeout_s: float = 900, out=print) -> list[dict[str, Any]]:
    """One child process per size; a size that fails or runs past `timeout_s` is reported, not raised."""
    rows = []
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no parent memory in the RSS
    with tempfile.TemporaryDirectory(prefix="netbox-pipeline-core-") as workdir:
        for devices in sizes:
            out(f"bench: core, {devices} devices…")
            # Written here, so the generator's memory is not in the child's peak RSS.
            # 198.18.0.0/15 holds 65,000 devices' addresses; the core never talks to a network, so larger sizes use 10/8.
            paths = generate_bench_inventory_files(Path(workdir) / f"core-{devices}", devices, per_file=DEVICES_PER_FILE,
                                                   network_text="198.18.0.0/15" if devices <= 60_000 else "10.0.0.0/8")
            queue = context.Queue()
            child = context.Process(target=_run_size, args=(devices, paths, queue))
            child.start()
            row = _wait(child, queue, timeout_s)
            if row is None:
                child.kill()
                child.join()
                row = {"devices": devices, "error": f"did not finish within {timeout_s:.0f} s" if child.exitcode in (None, -9)
                       else f"the child process failed (exit code {child.exitcode}; out of memory?)"}
            child.join()
            rows.append(row)
            out("bench:   " + json.dumps(row))
    return rows


def _wait(child, queue, timeout_s: float) -> dict[str, Any] | None:
    """The child's row, or None once it has died without one or run past `timeout_s`."""
    import queue as queues

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=2)
        except queues.Empty:
            if not child.is_alive():
                return None
    return None


def noop_seconds(row: dict[str, Any]) -> float:
    """P4's measure: parse + merge + desired + no-op plan (the live state's construction left out)."""
    times = row["times"]
    return times["parse"] + times["merge"] + times["desired"] + times["plan_noop"]
