"""`netbox-pipeline demo`: the whole pipeline on a generated estate against local sandboxes.

Starts fresh in its work directory every time: writes inventory files for a small estate, starts
a NetBox sandbox, a Proxmox VE sandbox (TLS, a generated 3-node cluster), a Home Assistant
stand-in (a homelab's device registry with areas on floors) and a TrueNAS stand-in (JSON-RPC over
TLS WebSocket: a NAS with a LAG, disks, pools, shares and VMs) on loopback, writes a
config pointing at them, runs the graph through Dagster, prints what was created, runs it again
to show that nothing is written, and ends with commands to try on the demo's data.

The config's secrets come from the environment, so the demo also writes `<workdir>/env`: source
it and `plan`, `history` and `explain` work on the demo's data from any directory. They need the
sandboxes, which stop when the demo ends, unless `--keep` (until Ctrl-C) or `--ui` (while the
Dagster UI runs) keeps them up. The sandboxes' CA certificates are copied into the work directory,
so the config never names a deleted file.

`--netbox-url URL` syncs the same sources into a NetBox of your own (the token in $NETBOX_TOKEN)
instead of the NetBox stand-in. That NetBox keeps no request log, so the demo then reports the
objects the staging DB recorded as written and the objects NetBox counts per type; the env file
leaves your token out (it is already in your environment).
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from netbox_pipeline.failures import next_step
from netbox_pipeline.netbox.schema import TYPES
from netbox_pipeline.runner import dagster_home, run_sync
from netbox_pipeline.sandbox.demo_estate import write_demo_inventory
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.home_assistant import NEWER_HA_VERSION, HomeAssistantSandbox
from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
from netbox_pipeline.sandbox.truenas import TrueNASSandbox

DEMO_TOKEN_ENV = "NETBOX_TOKEN"
PROXMOX_TOKEN_ENV = "PVE_TOKEN"
HA_TOKEN_ENV = "HA_TOKEN"
TRUENAS_KEY_ENV = "TRUENAS_API_KEY"


def write_demo_config(workdir: Path, netbox_url: str, inventory_files: list[Path], proxmox: ProxmoxSandbox | None = None,
                      home_assistant: HomeAssistantSandbox | None = None, truenas: TrueNASSandbox | None = None,
                      netbox_is_sandbox: bool = True) -> Path:
    """The demo's config; the sandboxes' CA certificates are copied beside it (they outlive the sandboxes)."""
    lines = [
        "# Written by `netbox-pipeline demo`; points at "
        + ("the local NetBox sandbox." if netbox_is_sandbox else "the NetBox named by --netbox-url."),
        "netbox:",
        f"  url: {netbox_url}",
        f"  token: ${{{DEMO_TOKEN_ENV}}}",
        "staging:",
        "  url: sqlite:///state/staging.sqlite",
        "state_dir: state",
        "sources:",
        "  filesystem:",
    ]
    for path in inventory_files:
        lines.append(f"    - {{name: {path.stem}, path: {path.relative_to(workdir)}}}")
    if proxmox is not None:
        lines += [
            "  proxmox:",
            f"    - {{name: pve-lab, host: {proxmox.host}, port: {proxmox.port}, user: '{proxmox.user}',",
            f"       token_name: {proxmox.token_name}, token_value: '${{{PROXMOX_TOKEN_ENV}}}', "
            f"ca_cert: {_keep_ca(workdir, proxmox.ca_cert_path, 'proxmox')}, site: lab}}",
        ]
    if home_assistant is not None:
        lines += [
            "  home_assistant:",
            f"    - {{name: home, url: '{home_assistant.url}', token: '${{{HA_TOKEN_ENV}}}', site: home,",
            "       role_map: {unifi: network, zha: iot, tplink: iot, shelly: iot, reolink: camera, ipp: printer, nut: power}}",
        ]
    if truenas is not None:
        lines += [
            "  truenas:",
            f"    - {{name: nas01, host: 127.0.0.1, port: {truenas.port}, api_key: '${{{TRUENAS_KEY_ENV}}}',",
            f"       username: {truenas.username}, ca_cert: {_keep_ca(workdir, truenas.ca_cert_path, 'truenas')}, "
            "site: home, role: storage}",
        ]
    lines += ["schedules:", "  filesystem: {cron: '*/15 * * * *', enabled: false}", ""]
    config = workdir / "netbox_pipeline.yaml"
    config.write_text("\n".join(lines))
    return config


def _keep_ca(workdir: Path, ca_cert: Path | None, name: str) -> str:
    """A copy of a sandbox's CA certificate in the work directory, relative to the config."""
    target = workdir / "ca" / f"{name}.pem"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(str(ca_cert), target)
    return str(target.relative_to(workdir))


class ExternalNetBox:
    """A NetBox named by `--netbox-url`: what the demo reports of a sync, without a request log."""

    def __init__(self, url: str, token: str):
        from netbox_pipeline.netbox.client import NetBoxClient

        self.url = url.rstrip("/")
        self.client = NetBoxClient(self.url, token)

    def counts(self) -> list[tuple[str, int]]:
        """Objects per pipeline type, as NetBox counts them (one request each)."""
        return [(name, int(self.client.request("GET", t.endpoint, params={"limit": 1})["count"]))
                for name, t in TYPES.items()]


def run_demo(workdir: str = ".demo", *, ui: bool = False, keep: bool = False, port: int = 0, verbose: bool = False,
             netbox_url: str | None = None, out=print) -> int:
    if netbox_url and not os.environ.get(DEMO_TOKEN_ENV):
        print(f"error: --netbox-url needs that NetBox's API token (write access) in ${DEMO_TOKEN_ENV}", file=sys.stderr)
        return 2
    root = Path(workdir).resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    files = write_demo_inventory(root / "inventory")
    own_sandbox = not netbox_url  # the demo starts (and stops) the NetBox stand-in itself
    if own_sandbox:
        netbox: NetBoxSandbox | ExternalNetBox = NetBoxSandbox(
            version="4.4", port=port, state_file=str(root / "netbox-sandbox.json")).start()
    else:
        netbox = ExternalNetBox(netbox_url, os.environ[DEMO_TOKEN_ENV])
    proxmox = ProxmoxSandbox(cluster_name="lab").start()
    home_assistant = HomeAssistantSandbox(version=NEWER_HA_VERSION).start()
    truenas = TrueNASSandbox("25.04").start()
    try:
        if own_sandbox:
            os.environ[DEMO_TOKEN_ENV] = netbox.token
        os.environ[PROXMOX_TOKEN_ENV] = proxmox.secret
        os.environ[HA_TOKEN_ENV] = home_assistant.token
        os.environ[TRUENAS_KEY_ENV] = truenas.api_key
        config_path = write_demo_config(root, netbox.url, files, proxmox, home_assistant, truenas,
                                        netbox_is_sandbox=own_sandbox)
        os.environ["NETBOX_PIPELINE_CONFIG"] = str(config_path)
        where = f"NetBox sandbox (4.4) on {netbox.url}" if own_sandbox else f"NetBox at {netbox.url}"
        out(f"{where}; Proxmox VE sandbox on {proxmox.url}; "
            f"Home Assistant stand-in on {home_assistant.url}; TrueNAS stand-in on {truenas.url}; "
            f"demo estate in {root / 'inventory'} ({len(files)} files)")

        status, _ = _sync_and_report(netbox, str(config_path), "first sync", out, verbose)
        if status:
            return status
        status, writes = _sync_and_report(netbox, str(config_path), "second sync (nothing changed)", out, verbose)
        if status:
            return status
        out(f"second sync wrote {writes} object(s): " + ("NetBox was already in sync." if writes == 0 else "UNEXPECTED"))
        from netbox_pipeline.config import load_config

        home = dagster_home(load_config(config_path))
        env_file = write_demo_env(root, config_path, home, include_netbox_token=own_sandbox)
        if not (ui or keep):
            out("")
            out("The sandboxes stop with the demo. To try plan, history and explain on the demo's data, run it with them kept up:")
            out("  ./run.sh demo --keep     (or --ui, which also opens the Dagster UI; or: netbox-pipeline demo --keep)")
            return 0 if writes == 0 else 1
        out("")
        out("Try it on the demo's data while the sandboxes run (in another terminal, from any directory):")
        for line in follow_up_commands(env_file, _first_device(files[0])):
            out(f"  {line}")
        if ui:
            return _serve_ui(config_path, home, netbox.url, out)
        out("The sandboxes stay up until Ctrl-C.")
        sys.stdout.flush()
        _wait_for_interrupt()
        return 0
    finally:
        truenas.stop()
        home_assistant.stop()
        proxmox.stop()
        if own_sandbox:
            netbox.stop()


def write_demo_env(root: Path, config_path: Path, home: Path, include_netbox_token: bool = True) -> Path:
    """`<workdir>/env`: what the demo's config needs from the environment, for `source`.

    A token of your own NetBox (`--netbox-url`) is not written: it is yours, and already set."""
    cli_dir = str(Path(sys.executable).parent)
    values = {
        "NETBOX_PIPELINE_CONFIG": str(config_path),
        "DAGSTER_HOME": str(home),
        **({DEMO_TOKEN_ENV: os.environ[DEMO_TOKEN_ENV]} if include_netbox_token else {}),
        PROXMOX_TOKEN_ENV: os.environ[PROXMOX_TOKEN_ENV],
        HA_TOKEN_ENV: os.environ[HA_TOKEN_ENV],
        TRUENAS_KEY_ENV: os.environ[TRUENAS_KEY_ENV],
    }
    lines = ["# Written by `netbox-pipeline demo`: the demo's sandbox tokens and where its config and runs live.",
             *([] if include_netbox_token else [f"# {DEMO_TOKEN_ENV}: your NetBox's token, from your own environment"]),
             *(f"export {name}={shlex.quote(value)}" for name, value in values.items()),
             f'export PATH={shlex.quote(cli_dir)}:"$PATH"  # netbox-pipeline of the demo\'s virtual environment', ""]
    env_file = root / "env"
    env_file.touch(mode=0o600)  # sandbox tokens, but tokens all the same
    env_file.write_text("\n".join(lines))
    return env_file


def follow_up_commands(env_file: Path, device: str) -> list[str]:
    """Copy-paste commands that work on the demo's data (the demo test runs them as printed)."""
    cli = "netbox-pipeline" if (Path(sys.executable).parent / "netbox-pipeline").exists() else f"{sys.executable} -m netbox_pipeline.cli"
    return [
        f"source {shlex.quote(str(env_file))}",
        f"{cli} plan                  # nothing to change: NetBox matches the sources",
        f"{cli} history               # the demo's syncs and source refreshes",
        f"{cli} explain {device:<13} # each field: its source record, file:line, and the run that wrote it",
    ]


def _first_device(inventory_file: Path) -> str:
    return yaml.safe_load(inventory_file.read_text())["devices"][0]["name"]


def _wait_for_interrupt() -> None:
    """Until Ctrl-C (or SIGTERM): the finally of run_demo then stops the sandboxes."""
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sync_and_report(netbox: "NetBoxSandbox | ExternalNetBox", config_path: str, label: str, out,
                     verbose: bool = False) -> tuple[int, int]:
    """Run one sync and print what it did; (exit status, writes: requests, or objects without a request log)."""
    if isinstance(netbox, NetBoxSandbox):
        netbox.reset_log()
    outcome = run_sync(config_path, verbose=verbose)
    for run in outcome.runs:
        failed = "" if run.success else f": {run.error} — next: {next_step(run.label, str(run.error), netbox.url)}"
        out(f"  {'ok    ' if run.success else 'FAILED'} {run.label} (run {run.run_id[:8]}){failed}")
    if not outcome.success:
        out(f"{label} failed")
        return 1, 0
    if isinstance(netbox, NetBoxSandbox):
        writes = {m: netbox.count(method=m) for m in ("POST", "PATCH", "PUT", "DELETE")}
        reads = netbox.count(method="GET")
        out(f"{label}: {reads} read request(s), {sum(writes.values())} write request(s) "
            + ", ".join(f"{m}={n}" for m, n in writes.items() if n))
        counts = [(name, len(netbox.objects(t.endpoint))) for name, t in TYPES.items()]
        written = len(netbox.writes())
    else:
        by_action = _written_objects(config_path, [run.run_id for run in outcome.runs])
        written = sum(by_action.values())
        out(f"{label}: {written} object(s) written " + ", ".join(f"{a}={n}" for a, n in sorted(by_action.items())))
        counts = netbox.counts()
    out("  NetBox now holds: " + ", ".join(f"{name}={n}" for name, n in counts if n))
    return 0, written


def _written_objects(config_path: str, dagster_run_ids: list[str]) -> dict[str, int]:
    """Objects the sync's apply runs wrote, by action, as the staging DB recorded them."""
    from netbox_pipeline.config import load_config
    from netbox_pipeline.staging import store
    from netbox_pipeline.staging.db import open_staging

    counts: dict[str, int] = {}
    with open_staging(load_config(config_path).staging_url).session() as session:
        applies = store.runs_of_dagster_runs(session, "apply", dagster_run_ids)
        for change in store.applied_for_runs(session, [r["id"] for r in applies]):
            if change["status"] == "applied":
                counts[change["action"]] = counts.get(change["action"], 0) + 1
    return counts


def _serve_ui(config_path: Path, home: Path, netbox_url: str, out) -> int:
    # `dagster dev` says it is superseded by `dg dev` on every start; the demo's terminal needs not.
    env = {**os.environ, "DAGSTER_HOME": str(home), "NETBOX_PIPELINE_CONFIG": str(config_path),
           "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded"}
    port = os.environ.get("DAGSTER_PORT", "3000")
    dagster = Path(sys.executable).parent / "dagster"
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    # Services log warnings only; runs log at the instance's INFO (dagster.yaml), not every DEBUG event.
    args = [str(dagster), "dev", "-h", "127.0.0.1", "-p", port, "--log-level", "warning"]
    args += ["-w", str(workspace)] if workspace.exists() else ["-m", "netbox_pipeline.definitions"]
    out(f"Dagster UI: http://127.0.0.1:{port}  (the sandboxes, NetBox at {netbox_url}, stay up while it runs; "
        "Ctrl-C stops them all)")
    sys.stdout.flush()
    process = subprocess.Popen(args, env=env, cwd=str(config_path.parent))
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
