"""Report sections of `netbox-pipeline bench` for the side-by-side run, the write sweep and the core benchmark."""

from typing import Any

from netbox_pipeline.benchmarks.core import STAGES, noop_seconds

ORDER = (("pipeline_first", "naive_first", "bare_bulk"), ("pipeline_rerun", "naive_rerun", "bare_reads"))


def side_by_side_lines(result: Any) -> list[str]:
    phases = result.phases
    lines = [
        "## Side by side",
        "",
        "All approaches against the same NetBox in this run, each on an empty NetBox (first sync) or on the state the "
        "pipeline's first sync left (no-op). Requests are counted by the same logging proxy in front of NetBox for all of "
        "them; peak RSS is this benchmark process at its highest while the phase ran.",
        "",
        "| | Approach | Wall time | Requests | Writes | Peak RSS | × pipeline |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for title, keys in zip(("First sync", "No-op"), ORDER, strict=True):
        base = phases.get(keys[0])
        for key in keys:
            phase = phases.get(key)
            if phase is None:
                continue
            ratio = f"{phase.projected_s / base.wall_s:.2f}" if base and base.wall_s else "n/a"
            state = "" if phase.success else " (FAILED)"
            wall = f"{phase.wall_s:.1f} s" if phase.scale == 1 else (
                f"{phase.projected_s:.1f} s (scaled ×{phase.scale:g} from {phase.wall_s:.1f} s on a sample)")
            lines.append(f"| {title} | {phase.label}{state} | {wall} | {phase.total} | {phase.writes} "
                         f"| {phase.peak_rss_kib / 1024:.0f} MiB | {ratio} |")
    return lines + [""]


def sweep_lines(result: Any) -> list[str]:
    if not result.sweep:
        return []
    chunks = sorted({r["chunk"] for r in result.sweep})
    parallels = sorted({r["parallel"] for r in result.sweep})
    cell = {(r["chunk"], r["parallel"]): r for r in result.sweep}
    lines = [
        "## Write chunk size and parallelism",
        "",
        f"Objects per second creating {result.sweep[0]['objects']} IP addresses per point (bulk POSTs of the chunk size, "
        "that many in flight) against this NetBox; rows are chunk sizes, columns requests in flight.",
        "",
        "| Chunk \\ in flight | " + " | ".join(str(p) for p in parallels) + " |",
        "|---:|" + "---:|" * len(parallels),
    ]
    for chunk in chunks:
        row = []
        for parallel in parallels:
            r = cell.get((chunk, parallel))
            row.append("—" if r is None else ("failed" if r["error"] else f"{r['objects_per_s']:.1f}"))
        lines.append(f"| {chunk} | " + " | ".join(row) + " |")
    best = result.best
    if best:
        lines += ["", f"Chosen: chunk {best['chunk']}, {best['parallel']} in flight ({best['objects_per_s']:.1f} objects/s): "
                  "the fewest requests in flight, then the smallest chunk, within 5 % of the fastest point."]
    return lines + [""]


def core_lines(result: Any) -> list[str]:
    if not result.core:
        return []
    lines = [
        "## Core without I/O (P4)",
        "",
        "Generated devices (each: 2 interfaces, a MAC and an IP on each, so 7 NetBox objects), one child process per size "
        "so each size's peak RSS is its own. Times are wall seconds (CPU seconds of the process in brackets: "
        "the machine is shared, so wall time includes waiting for a core). `live_noop` builds the live state equal to the desired one (the input of the "
        "no-op plan; not part of P4's sum); P4's sum = parse + merge + desired + plan (no-op).",
        "",
        "| Devices | Objects | " + " | ".join(STAGES) + " | P4 sum (no-op) | Peak RSS | No-op plan result |",
        "|---:|---:|" + "---:|" * (len(STAGES) + 2) + "---|",
    ]
    for row in result.core:
        if "times" not in row:
            lines.append(f"| {row['devices']:,} | | " + " | ".join("" for _ in STAGES) + f" | | | {row.get('error')} |")
            continue
        times = row["times"]
        noop = row["noop_totals"]
        changes = {k: v for k, v in noop.items() if k != "unchanged" and v}
        cpu = row.get("cpu", {})
        lines.append(f"| {row['devices']:,} | {row['objects']:,} | "
                     + " | ".join(f"{times[s]:.2f} s ({cpu[s]:.2f})" if s in cpu else f"{times[s]:.2f} s" for s in STAGES)
                     + f" | {noop_seconds(row):.2f} s | {row['peak_rss_mib']:.0f} MiB | "
                     + (f"{noop.get('unchanged', 0):,} unchanged" if not changes else f"CHANGES: {changes}") + " |")
    done = [r for r in result.core if "times" in r]
    if len(done) >= 2:
        small, large = done[0], done[-1]
        factor = large["devices"] / small["devices"]
        growth = ", ".join(f"{s} {large['times'][s] / small['times'][s]:.1f}×" for s in STAGES if small["times"][s])
        lines += ["", f"Growth from {small['devices']:,} to {large['devices']:,} devices ({factor:.0f}× the records): {growth}."]
    return lines + [""]
