"""One line per failed run for the terminal: what failed, why, and what to do next.

The cause is the run's own first error (`runner._first_error`: a blocking check's finding, else
the innermost error of the failed step), first line only; the next step is picked from what the
cause says. Traces stay in the Dagster event log (the UI) and behind `--verbose`.
"""

import re

from netbox_pipeline.sources import SOURCES

VERBOSE_HINT = "run again with --verbose for the trace, or open the run in the Dagster UI"

# (pattern on the cause, next step); the first match wins. `{url}` is netbox.url.
_NEXT_STEPS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), s) for p, s in (
    (r"being written by|waiting for the NetBox write lease",
     "another run is writing to this NetBox: wait for it to finish, or run without --no-wait to queue behind it"),
    (r"no answer from NetBox",
     "check that NetBox is running and answers at {url} (netbox.url), then run again"),
    (r"NetBox answered (401|403)",
     "check the token in NETBOX_TOKEN (netbox.token): `plan` needs read access, `sync` write access"),
    (r"NetBox answered 404",
     "check netbox.url: it must be NetBox's base URL ({url}), without /api"),
    (r"NetBox answered 5\d\d",
     "NetBox itself failed: see its log, then run again"),
    (r"certificate|SSLError|SSL:",
     "NetBox's TLS certificate is not trusted: set REQUESTS_CA_BUNDLE to its CA file, or netbox.verify_ssl: false"),
    (r"check deletion_ratio failed",
     "check why so much disappeared from the sources; if it is meant, raise deletion.max_ratio for one run"),
    (r"check no_emptied_sources failed",
     "fix the source that returned nothing; nothing of it is deleted meanwhile"),
    (r"check confirmed_plan failed",
     "NetBox or a source changed since the preview: preview the plan again and confirm the new one"),
    (r"check netbox_rules failed",
     "fix the records named above (`netbox-pipeline plan` lists them as skip), then run again"),
    (r"rejected",
     "`netbox-pipeline explain NAME` shows the values sent; fix the record or NetBox, then run again"),
))


def failure_line(label: str, run_id: str, error: str | None, *, netbox_url: str | None = None) -> str:
    """`FAILED <label> run <id>: <cause> — next: <what to do>`, one line."""
    cause = _first_line(error) or "the run failed"
    return f"FAILED {label:<40} run {run_id}: {cause} — next: {next_step(label, cause, netbox_url)}"


def next_step(label: str, cause: str, netbox_url: str | None = None) -> str:
    kind = _source_kind(label)
    if kind:  # a source's own failure (its TLS or token problem is not NetBox's)
        doc = "inventory-files" if kind == "filesystem" else f"source-{kind.replace('_', '-')}"
        return f"fix what the message names (docs/{doc}.md); until then the sync uses this instance's last good snapshot"
    for pattern, step in _NEXT_STEPS:
        if pattern.search(cause):
            return step.format(url=netbox_url or "netbox.url")
    return VERBOSE_HINT


def _source_kind(label: str) -> str | None:
    """The kind of a source refresh's label, `proxmox_inventory[pve-lab]` -> `proxmox`."""
    asset = label.partition("[")[0]
    return next((kind for kind, source in SOURCES.items() if source.asset_name == asset), None)


def _first_line(text: str | None) -> str:
    return (str(text or "").strip().splitlines() or [""])[0]
