"""`netbox-pipeline`: the command line of the pipeline.

Every subcommand reads the same configuration as the Dagster code location (`--config`, else
$NETBOX_PIPELINE_CONFIG, else netbox_pipeline.yaml). Exit codes: 0 success, 1 the work failed,
2 a usage or configuration error (or a command that is not available yet).
"""

import argparse
import logging
import os
import sys
from collections.abc import Callable

from netbox_pipeline.config import CONFIG_ENV_VAR, ConfigError, load_config
from netbox_pipeline.failures import failure_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
VERBOSE_HELP = "also print Dagster's full log and the stack trace of every failure (else one line each)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        os.environ[CONFIG_ENV_VAR] = os.path.abspath(args.config)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    _log_to_terminal(args.verbose)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `netbox-pipeline history | head`: the reader has all it wanted
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except Exception as exc:  # one line, not a trace: the trace is what --verbose is for
        if args.verbose:
            raise
        message = (str(exc).strip().splitlines() or [""])[0]
        print(f"error: {type(exc).__name__}: {message} (run again with --verbose for the trace)", file=sys.stderr)
        return EXIT_FAILED


def _log_to_terminal(verbose: bool) -> None:
    """The pipeline's own log lines (retries, lease waits) as `warning: ...`; with --verbose, INFO with times."""
    logger = logging.getLogger("netbox_pipeline")
    for old in [h for h in logger.handlers if isinstance(h, _Stderr)]:
        logger.removeHandler(old)
    handler = _Stderr()
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_LowerLevelFormatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


class _Stderr(logging.StreamHandler):
    """Whatever sys.stderr is when a line is written (main() may run many times in one process)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _LowerLevelFormatter(logging.Formatter):
    """`warning: ...` rather than `WARNING: ...`, like the run's own lines."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(record.levelname, record.levelname.lower(), 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netbox-pipeline",
        description="Keep NetBox true to the infrastructure that actually runs.",
    )
    parser.add_argument("--config", metavar="PATH", help=f"configuration file (default: ${CONFIG_ENV_VAR} or netbox_pipeline.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    # Every command takes --verbose after its name too; SUPPRESS keeps the one given before it.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[verbose])
        sub.set_defaults(handler=handler)
        return sub

    demo = command("demo", "run the demo: sandboxes, a demo estate, a sync and a no-op rerun", _demo)
    demo.add_argument("--ui", action="store_true", help="afterwards, open the Dagster UI on the demo's data (the sandboxes stay up while it runs)")
    demo.add_argument("--keep", action="store_true", help="afterwards, keep the sandboxes up until Ctrl-C, to try plan, history and explain on them")
    demo.add_argument("--workdir", default=".demo", help="where the demo keeps its config, files and state (default: .demo)")
    demo.add_argument("--netbox-url", help="sync the demo's sources into this NetBox instead of the stand-in "
                      "(its API token, with write access, in $NETBOX_TOKEN); it creates the demo estate there")

    sandbox = command("sandbox", "run a local API sandbox (for demos and tests)", _sandbox)
    sandbox_kinds = sandbox.add_subparsers(title="sandboxes", metavar="SANDBOX")
    netbox = sandbox_kinds.add_parser("netbox", help="a NetBox 4.4/4.6/4.7 API stand-in on loopback", parents=[verbose])
    netbox.set_defaults(handler=_sandbox_netbox)
    netbox.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only; default 127.0.0.1)")
    netbox.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    netbox.add_argument("--netbox-version", choices=["4.4", "4.6", "4.7"], default="4.4", help="which recorded NetBox to answer like")
    netbox.add_argument("--token", default=None, help="API token to accept (default: $NETBOX_TOKEN, else the recorded one)")
    netbox.add_argument("--state-file", default=None, help="keep the objects in this JSON file between runs")

    proxmox = sandbox_kinds.add_parser("proxmox", help="a Proxmox VE API stand-in over TLS on loopback", parents=[verbose])
    proxmox.set_defaults(handler=_sandbox_proxmox)
    proxmox.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only; default 127.0.0.1)")
    proxmox.add_argument("--port", type=int, default=8006, help="port (default 8006; 0 picks a free one)")

    home_assistant = sandbox_kinds.add_parser("home-assistant", help="a Home Assistant stand-in (REST + WebSocket) on loopback",
                                             parents=[verbose])
    home_assistant.set_defaults(handler=_sandbox_home_assistant)
    home_assistant.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only; default 127.0.0.1)")
    home_assistant.add_argument("--port", type=int, default=8123, help="port (default 8123; 0 picks a free one)")
    home_assistant.add_argument("--tls", action="store_true", help="https/wss with a throw-away CA")
    home_assistant.add_argument("--newer", action="store_true", help="answer like a newer HA (floors, labels)")

    real = sandbox_kinds.add_parser(
        "real-netbox", help="a real NetBox (PyPI wheel, gunicorn) on loopback against the local PostgreSQL and Redis",
        parents=[verbose])
    real.set_defaults(handler=_sandbox_real_netbox)
    real.add_argument("--version", default=None, help="NetBox release from PyPI (default 4.7.3)")
    real.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")

    sync = command("sync", "run the pipeline headless through Dagster (runs show in the UI)", _sync)
    sync.add_argument("--dry-run", action="store_true", help="read everything, write nothing, record the plan")
    sync.add_argument("--source", action="append", metavar="KIND[:INSTANCE]", help="refresh only this source (repeatable)")
    sync.add_argument("--no-wait", action="store_true",
                      help="exit at once (status 1) when another run is writing to the same NetBox, instead of waiting for it")

    command("plan", "compute and print the plan (what a sync would change) without writing", _plan)

    explain = command("explain", "per managed field: NetBox's value, the desired value, its source record, the run that wrote it", _explain)
    explain.add_argument("name", help="a device or VM name (also matches its interfaces, IPs, ...), or a glob over natural keys")
    explain.add_argument("--field", action="append", metavar="F", help="only this field (repeatable)")
    explain.add_argument("--json", action="store_true", help="machine-readable output")

    history = command("history", "list recent runs: kind, sources, counts, status", _history)
    history.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")

    mcp = command("mcp", "serve the pipeline's knowledge to AI assistants over the Model Context Protocol (docs/mcp.md)", _mcp)
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="stdio (default; the client starts the server) or streamable HTTP")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on (loopback only; default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8808, help="HTTP: port (default 8808); the endpoint is /mcp")

    undo = command("undo", "revert exactly what one run applied to NetBox (itself a recorded run)", _undo)
    undo.add_argument("run_id", metavar="RUN_ID", help="the Dagster run id shown by sync/history/the UI (or a unique prefix), or a staging plan run id")
    undo.add_argument("--dry-run", action="store_true", help="print the undo plan as a table; write nothing")
    undo.add_argument("--force-field", action="append", default=[], metavar="F",
                      help="revert this field although it changed in NetBox since (FIELD, KEY.FIELD or 'TYPE KEY.FIELD'; repeatable)")
    undo.add_argument("--pause", action="store_true", help="also stop the schedules and sensors that would re-apply the change")

    migrate = command("migrate", "bring the staging database schema to a revision (default: head)", _migrate)
    migrate.add_argument("--revision", default="head", help="upgrade to this revision (default: head)")
    migrate.add_argument("--downgrade-to", metavar="REVISION", help="downgrade instead, e.g. to base (drops every table)")

    metrics = command("metrics", "serve Prometheus metrics (sources, last real sync per NetBox type, plan, drift, lease wait)", _metrics)
    metrics.add_argument("--port", type=int, default=9477, help="port (default 9477)")
    metrics.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    command("check-config", "validate the configuration and the inventory files, listing every problem with its location "
            "(secrets hidden)", _check_config)

    bench = command("bench", "benchmark the pipeline beside a naive loop and bare calls (stand-in, real or any NetBox)", _bench)
    bench.add_argument("--devices", type=int, default=1000, help="devices to generate (default 1000)")
    bench.add_argument("--output", default="docs/benchmarks.md", help="report file (default docs/benchmarks.md)")
    bench.add_argument("--chunk-size", type=int, default=50, help="objects per bulk write, pipeline and bare calls (default 50)")
    bench.add_argument("--max-parallel", type=int, default=3, help="requests in flight, pipeline and bare calls (default 3)")
    where = bench.add_mutually_exclusive_group()
    where.add_argument("--netbox-url", help="benchmark this NetBox (token in $NETBOX_PIPELINE_BENCH_TOKEN); "
                       "objects tagged netbox-pipeline are deleted between phases")
    where.add_argument("--real-netbox", nargs="?", const="4.7.3", metavar="VERSION",
                       help="start a real NetBox (sandbox real-netbox, default 4.7.3) and benchmark it")
    bench.add_argument("--no-naive", action="store_true", help="leave out the naive per-object loop")
    bench.add_argument("--naive-devices", type=int, default=0, metavar="N",
                       help="run the naive loop on the first N devices only and scale its times linearly")
    bench.add_argument("--sweep", type=int, default=0, metavar="OBJECTS",
                       help="also measure write chunk size × parallelism, OBJECTS IP addresses per point")
    bench.add_argument("--core", default="", metavar="SIZES",
                       help="also run the core benchmark (parse, merge, desired, plan; no I/O) at these device counts, "
                       "e.g. 10000,50000,100000")
    return parser


def _demo(args: argparse.Namespace) -> int:
    from netbox_pipeline.demo import run_demo

    return run_demo(args.workdir, ui=args.ui, keep=args.keep, verbose=args.verbose, netbox_url=args.netbox_url)


def _sync(args: argparse.Namespace) -> int:
    from netbox_pipeline.runner import run_sync

    try:
        outcome = run_sync(os.environ.get(CONFIG_ENV_VAR), sources=args.source, dry_run=args.dry_run, wait=not args.no_wait,
                           verbose=args.verbose)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not outcome.runs:
        print("nothing to do: no source is configured", file=sys.stderr)
        return EXIT_USAGE
    netbox_url = load_config().netbox.url
    for run in outcome.runs:
        print(f"ok     {run.label:<40} run {run.run_id}" if run.success else failure_line(run.label, run.run_id, run.error, netbox_url=netbox_url))
    _print_applied(outcome)
    return EXIT_OK if outcome.success else EXIT_FAILED


def _print_applied(outcome) -> None:
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    db = open_staging(load_config().staging_url)
    with db.session() as session:
        applied = store.runs_of_dagster_runs(session, "apply", [run.run_id for run in outcome.runs])
        plans = store.runs_of_dagster_runs(session, "plan", [run.run_id for run in outcome.runs])
    for plan in plans[-1:]:
        _print_duplicate_findings(plan)
    totals: dict[str, dict[str, int]] = {}
    for run in applied:
        row = totals.setdefault(run["object_type"], {})
        for name, n in (run.get("counts") or {}).items():
            row[name] = row.get(name, 0) + n
    changed = {t: c for t, c in totals.items() if any(c.get(k) for k in ("created", "updated", "deleted", "gone", "failed"))}
    if not changed:
        dry = any(r.get("dry_run") for r in applied)
        print("NetBox: no changes written" + (" (dry run)" if dry else "" if outcome.success else " (the run failed)"))
        return
    for type_name, counts in sorted(changed.items()):
        gone = f", gone={counts['gone']} (deleted by someone else first)" if counts.get("gone") else ""
        print(f"  {type_name:<18} " + ", ".join(f"{k}={counts.get(k, 0)}" for k in ("created", "updated", "deleted", "failed")) + gone)


def _print_duplicate_findings(plan_run: dict) -> None:
    """Duplicates a plan left for a person (each with every NetBox id); the ones it removes are plan rows."""
    details = plan_run.get("details") or {}
    findings = details.get("duplicate_findings") or []
    total = int(details.get("duplicates_unresolved") or len(findings))
    if not total:
        return
    print(f"duplicates to resolve in NetBox ({total}; see docs/operations.md, \"Duplicates\"):")
    for message in findings:
        print(f"  {message}")
    if total > len(findings):
        print(f"  … and {total - len(findings)} more")


def _plan(args: argparse.Namespace) -> int:
    from netbox_pipeline.runner import run_sync
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    # The planning step alone: it never waits on the NetBox write slot or lease.
    outcome = run_sync(os.environ.get(CONFIG_ENV_VAR), plan_only=True, verbose=args.verbose)
    if not outcome.runs:
        print("nothing to plan: no source is configured", file=sys.stderr)
        return EXIT_USAGE
    config = load_config()
    for run in outcome.runs:
        if not run.success:
            print(failure_line(run.label, run.run_id, run.error, netbox_url=config.netbox.url), file=sys.stderr)
    db = open_staging(config.staging_url)
    with db.session() as session:
        # Only the plan this run made: an older one is not what NetBox and the sources say now.
        made = store.runs_of_dagster_runs(session, "plan", [outcome.runs[-1].run_id])
        rows = store.plan_for_run(session, made[-1]["id"]) if made else []
        older = None if made else store.get_run(session, store.latest_plan_run_id(session) or "")
    if not made:
        print("no plan: this run made none (the failure is above)" + (
            f"; the newest stored plan, {_age(older['started_at'])} old from run {older.get('dagster_run_id') or older['id']}, "
            "is not shown: it may no longer be true" if older else ""), file=sys.stderr)
        return EXIT_FAILED
    changes = [r for r in rows if r["action"] != "unchanged"]
    print(f"{'action':<10} {'type':<18} {'object':<40} changes")
    for row in changes:
        detail = ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in (row.get("changes") or {}).items()) or (row.get("reason") or "")
        print(f"{row['action']:<10} {row['object_type']:<18} {row['natural_key']:<40} {detail}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    print("total: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"))
    _print_duplicate_findings(made[-1])
    return EXIT_OK if outcome.success else EXIT_FAILED


def _age(started) -> str:
    """`3 min`, `2 h`, `4 d`: how long ago, for a person deciding whether it still holds."""
    import datetime as dt

    seconds = max((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _explain(args: argparse.Namespace) -> int:
    import json

    from netbox_pipeline.stages.explain import explain, explain_text
    from netbox_pipeline.stages.plan import netbox_client
    from netbox_pipeline.staging.db import open_staging

    config = load_config()
    client = netbox_client(config) if config.netbox.url else None
    explained = explain(config, open_staging(config.staging_url), args.name, fields=args.field, client=client)
    if not explained:
        print(f"nothing named {args.name!r} in the newest plan (a device, VM, interface, address, ... or a glob)", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(explained, indent=2, default=str))
    else:
        print("\n".join(explain_text(explained)))
    return EXIT_OK


def _mcp(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(f"error: --host {args.host}: the MCP server listens on loopback only", file=sys.stderr)
        return EXIT_USAGE
    load_config()  # a configuration error is reported here, before a client connects
    from netbox_pipeline.assistant import serve

    serve(args.transport, port=args.port, host=args.host)
    return EXIT_OK


def _metrics(args: argparse.Namespace) -> int:
    from netbox_pipeline.exporter import serve_forever
    from netbox_pipeline.staging.db import open_staging

    print(f"serving Prometheus metrics on http://{args.host}:{args.port}/metrics", file=sys.stderr, flush=True)
    serve_forever(open_staging(load_config().staging_url), args.port, args.host)
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from netbox_pipeline.bench import run_bench

    from netbox_pipeline.bench import Options

    try:
        core = tuple(int(n) for n in args.core.split(",") if n.strip())
    except ValueError:
        print(f"error: --core {args.core!r}: a comma-separated list of device counts", file=sys.stderr)
        return EXIT_USAGE
    options = Options(chunk_size=args.chunk_size, max_parallel=args.max_parallel, naive=not args.no_naive, naive_devices=args.naive_devices,
                      sweep_objects=args.sweep, core_sizes=core)
    return run_bench(args.devices, args.output, netbox_url=args.netbox_url, real_version=args.real_netbox, options=options)


def _sandbox(args: argparse.Namespace) -> int:
    print("choose a sandbox: netbox-pipeline sandbox netbox --help", file=sys.stderr)
    return EXIT_USAGE


def _sandbox_netbox(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(f"error: --host {args.host}: the sandbox listens on loopback only", file=sys.stderr)
        return EXIT_USAGE
    from netbox_pipeline.sandbox.netbox import serve_forever

    serve_forever(args.host, args.port, args.netbox_version, args.token or os.environ.get("NETBOX_TOKEN"), args.state_file)
    return EXIT_OK


def _sandbox_proxmox(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(f"error: --host {args.host}: the sandbox listens on loopback only", file=sys.stderr)
        return EXIT_USAGE
    from netbox_pipeline.sandbox.proxmox import serve_forever

    serve_forever(args.host, args.port)
    return EXIT_OK


def _sandbox_home_assistant(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(f"error: --host {args.host}: the sandbox listens on loopback only", file=sys.stderr)
        return EXIT_USAGE
    from netbox_pipeline.sandbox.home_assistant.__main__ import main

    main(["--host", args.host, "--port", str(args.port), *(["--tls"] if args.tls else []),
          *(["--newer"] if args.newer else [])])
    return EXIT_OK


def _sandbox_real_netbox(args: argparse.Namespace) -> int:
    import logging

    from netbox_pipeline.sandbox.real_netbox import DEFAULT_VERSION, RealNetBoxError, serve_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        serve_forever(args.version or DEFAULT_VERSION, args.port)
    except RealNetBoxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _history(args: argparse.Namespace) -> int:
    from netbox_pipeline.stages.history import history_rows
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    config = load_config()
    db = open_staging(config.staging_url)
    with db.session() as session:
        runs = store.list_runs(session, limit=max(args.limit, 1) * 60)
    if not runs:
        print(f"no runs recorded yet in {db.url_for_display}")
        return EXIT_OK
    configured = sum(len(config.sources.instances(kind)) for kind in config.sources.configured_kinds())
    rows = history_rows(runs, configured)[: args.limit]
    for row in rows:
        row["started"] = row["started"].strftime("%Y-%m-%d %H:%M:%S")
    print(_table(rows, ["started", "kind", "run", "sources", "counts", "status", "detail"],
                 {"started": "started (UTC)"}))
    return EXIT_OK


def _table(rows: list[dict], columns: list[str], headers: dict[str, str] | None = None) -> str:
    """Rows as aligned, left-justified columns (pandas does the widths)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns).fillna("").astype(str)
    frame = frame.rename(columns=headers or {})
    return frame.to_string(index=False, justify="left", formatters={c: f"{{:<{frame[c].str.len().max()}}}".format for c in frame.columns})


def _undo(args: argparse.Namespace) -> int:
    from netbox_pipeline.netbox.client import NetBoxError
    from netbox_pipeline.stages.undo import UndoTargetError, plan_undo, undo_rows
    from netbox_pipeline.staging.db import open_staging

    config = load_config()
    staging = open_staging(config.staging_url)
    try:
        outcome = plan_undo(config, staging, args.run_id, force_fields=args.force_field)
    except UndoTargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NetBoxError as exc:
        print(f"error: NetBox could not be read: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rows = undo_rows(outcome)
    print(f"undo of {outcome.target.label} ({len(outcome.target.apply_runs)} apply run(s))")
    print(_table(rows, ["action", "type", "object", "netbox id", "detail"]) if rows else "nothing to undo")
    for note in outcome.plan.notes:
        print(f"note: {note}")
    if outcome.blocking_conflicts:
        from netbox_pipeline.defs.undo import conflict_message

        print(f"error: {conflict_message(outcome)}", file=sys.stderr)
        return EXIT_FAILED
    if args.dry_run:
        print("dry run: nothing written")
        return EXIT_OK
    from netbox_pipeline.runner import run_undo

    run = run_undo(os.environ.get(CONFIG_ENV_VAR), args.run_id, force_fields=args.force_field, pause=args.pause,
                   verbose=args.verbose)
    if not run.success:
        print(failure_line("undo", run.run_id, run.error, netbox_url=config.netbox.url))
        return EXIT_FAILED
    print(f"ok     undo written, run {run.run_id} (undo it in turn with: netbox-pipeline undo {run.run_id})")
    sources = ", ".join(f"{k}:{n}" for k, n in outcome.instances) or "the sources"
    if args.pause:
        print(f"paused: the schedules and sensors of {sources} and the automation sensor are stopped; "
              "start them again in the UI (Automation) when the sources are fixed")
    else:
        print(f"note: {sources} are unchanged, so the next sync will apply the same change again; "
              "fix the source, or run with --pause to stop the schedules and sensors")
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    from netbox_pipeline.staging.db import (
        current_revision,
        downgrade,
        mask_url,
        upgrade,
    )

    url = load_config().staging_url
    before = current_revision(url)
    if args.downgrade_to:
        downgrade(url, args.downgrade_to)
    else:
        upgrade(url, args.revision)
    print(f"staging database {mask_url(url)}: {before or 'empty'} -> {current_revision(url) or 'empty'}")
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    from netbox_pipeline.stages.check import check_everything
    from netbox_pipeline.staging.db import mask_url

    report = check_everything(os.environ.get(CONFIG_ENV_VAR))
    config = report.config
    if config is not None:
        print(f"configuration: {config.config_path or '(no file; defaults)'}")
        print(f"netbox: {config.netbox.url or '(not set)'}  token: {'set' if config.netbox.token else 'not set'}  dry_run: {config.netbox.dry_run}")
        print(f"staging: {mask_url(config.staging_url)}")
        kinds = config.sources.configured_kinds()
        if not kinds:
            print("sources: none configured")
        for kind in kinds:
            names = ", ".join(instance.name for instance in config.sources.instances(kind))
            print(f"sources.{kind}: {names}")
        for instance, count in report.records.items():
            print(f"inventory {instance}: " + (f"{count} good record(s)" if count is not None else "not readable"))
    for problem in report.all_problems:  # one located line each
        print(problem, file=sys.stderr)
    if not report.all_problems:
        print("ok: no problems found")
        return EXIT_OK
    print(f"{len(report.all_problems)} problem(s) found", file=sys.stderr)
    return EXIT_USAGE if report.config_problems else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
