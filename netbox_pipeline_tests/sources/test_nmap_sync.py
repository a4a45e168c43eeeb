"""The nmap source end to end: the real Dagster graph scans the namespace lab with the real nmap
binary and syncs into the NetBox sandbox (IPs, MACs, vendors, services; idempotence, the grace
runs, matching by MAC, and the unprivileged path)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from netbox_pipeline.staging import store
from netbox_pipeline_tests.conftest import REPO_ROOT
from netbox_pipeline_tests.sources.nmap_lab import HOSTS, SCAN_PORTS, LabHost

pytestmark = pytest.mark.nmap

# The lab hosts are 10.77.0.11-13: a /29 holds them and leaves out the scanner (10.77.0.1).
LAB_HOSTS = "10.77.0.8/29"
SITE = "lab"


def nmap_instance(nmap_path: str | None) -> str:
    """An `extra_config` block adding the nmap instance `lab` under `sources:`."""
    fields = {"name": "lab", "hosts": LAB_HOSTS, "site": SITE, "service_arguments": f"'-sV -T5 -p {SCAN_PORTS}'",
              "timeout_s": 120, **({"nmap_path": nmap_path} if nmap_path else {})}
    return "  nmap:\n    - {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


def device_name(host: LabHost) -> str:
    return f"host-{host.ip.replace('.', '-')}"


def expected_services(host: LabHost, device: str) -> set[tuple[str, str, str, tuple[int, ...]]]:
    return {(device, "tcp", kind, (port,)) for kind, port in host.listeners}


def netbox_services(estate) -> set[tuple[str, str, str, tuple[int, ...]]]:
    """(device name, protocol, name, ports) of every service in NetBox."""
    devices = {d["id"]: d["name"] for d in estate.objects("devices")}
    out = set()
    for service in estate.objects("services"):
        assert service["parent_object_type"] == "dcim.device", service
        protocol = service["protocol"]["value"] if isinstance(service["protocol"], dict) else service["protocol"]
        out.add((devices[service["parent_object_id"]], protocol, service["name"], tuple(service["ports"])))
    return out


def macs_by_device(estate) -> dict[str, set[str]]:
    """Device name -> the MAC address objects on its interfaces."""
    interfaces = {i["id"]: i["device"]["name"] for i in estate.objects("interfaces")}
    out: dict[str, set[str]] = {}
    for mac in estate.objects("mac_addresses"):
        assert mac["assigned_object_type"] == "dcim.interface", mac
        out.setdefault(interfaces[mac["assigned_object_id"]], set()).add(mac["mac_address"].upper())
    return out


def addresses(estate) -> dict[str, dict]:
    """Host address (without prefix length) -> the NetBox IP address."""
    return {ip["address"].split("/")[0]: ip for ip in estate.objects("ip_addresses")}


def latest_plan(estate) -> list[dict]:
    with estate.staging().session() as session:
        return store.plan_for_run(session, store.latest_plan_run_id(session))


def test_lab_scan_lands_ips_macs_vendors_and_services_and_a_rerun_writes_nothing(make_estate, nmap_lab):
    estate = make_estate(files={}, extra_config=nmap_instance(nmap_lab.nmap_wrapper))
    outcome = estate.sync()
    assert outcome.success, [(r.label, r.error) for r in outcome.runs]
    assert [r.label for r in outcome.runs] == ["nmap_scan[lab]", "merge, plan and write"]

    ips = addresses(estate)
    assert sorted(ips) == sorted(h.ip for h in HOSTS)  # the scanner (10.77.0.1) is outside the /29
    assert {ip["status"]["value"] for ip in ips.values()} == {"active"}
    devices = estate.by_name("devices")
    assert sorted(devices) == sorted(device_name(h) for h in HOSTS)
    macs = macs_by_device(estate)
    services = netbox_services(estate)
    interfaces = {i["id"]: i for i in estate.objects("interfaces")}
    for host in HOSTS:
        device = devices[device_name(host)]
        assert device["site"]["slug"] == SITE and device["status"]["value"] == "active"
        assert device["device_type"]["manufacturer"]["name"] == host.vendor  # the MAC vendor
        assert macs[device["name"]] == {host.mac.upper()}
        ip = ips[host.ip]
        assert ip["assigned_object_type"] == "dcim.interface"
        assert interfaces[ip["assigned_object_id"]]["device"]["name"] == device["name"]
        assert device["primary_ip4"]["id"] == ip["id"]
        assert {s for s in services if s[0] == device["name"]} == expected_services(host, device["name"])
    assert {h.vendor for h in HOSTS} <= set(estate.by_name("manufacturers"))
    descriptions = {(s["name"], tuple(s["ports"])): s["description"] for s in estate.objects("services")}
    assert descriptions[("ssh", (22,))] == "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"
    assert descriptions[("smtp", (25,))] == "Postfix smtpd"
    assert descriptions[("http", (8123,))].startswith("SimpleHTTPServer")

    rerun = estate.sync()
    assert rerun.success, [(r.label, r.error) for r in rerun.runs]
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]


def test_a_stopped_listener_loses_its_service_only_after_the_grace_runs(make_estate, nmap_lab):
    host, port = HOSTS[2], 8123  # its only "http" port: the whole service goes
    device = device_name(host)
    gone = (device, "tcp", "http", (port,))
    estate = make_estate(files={}, extra_config=nmap_instance(nmap_lab.nmap_wrapper))
    assert estate.sync().success
    assert gone in netbox_services(estate)
    nmap_lab.stop_listener(host, port)
    try:
        for run in (1, 2):
            outcome = estate.sync()
            assert outcome.success, [(r.label, r.error) for r in outcome.runs]
            assert gone in netbox_services(estate), f"deleted after {run} run(s), before the grace of 3"
            assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
            orphans = [(r["object_type"], r["natural_key"]) for r in latest_plan(estate) if r["action"] == "orphan"]
            assert orphans == [("services", f"devices/{SITE}/{device}/tcp/http")]
        outcome = estate.sync()
        assert outcome.success, [(r.label, r.error) for r in outcome.runs]
    finally:
        nmap_lab.start_listener(host, port)
    assert [(e.method, e.path) for e in estate.writes()] == [("DELETE", "/api/ipam/services/")]
    left = netbox_services(estate)
    assert gone not in left
    assert (device, "tcp", "ssh", (22,)) in left and len(left) == sum(len(h.listeners) for h in HOSTS) - 1
    assert device in estate.by_name("devices")  # the host still answers: only the service went


def test_a_mac_known_from_an_inventory_file_attaches_to_that_device(make_estate, nmap_lab):
    mail = HOSTS[1]  # the VMware host with smtp on 25 and http on 8080
    rack = {"devices": [{"name": "mail", "site": SITE, "interfaces": [{"name": "eth0", "mac": mail.mac}]}]}
    estate = make_estate(files={"rack": rack}, extra_config=nmap_instance(nmap_lab.nmap_wrapper))
    outcome = estate.sync()
    assert outcome.success, [(r.label, r.error) for r in outcome.runs]

    devices = estate.by_name("devices")
    assert sorted(devices) == sorted(["mail", *(device_name(h) for h in HOSTS if h is not mail)])
    assert device_name(mail) not in devices
    assert macs_by_device(estate)["mail"] == {mail.mac.upper()}
    (eth0,) = [i for i in estate.objects("interfaces") if i["device"]["name"] == "mail"]
    assert eth0["name"] == "eth0"  # the file's interface, not a second one named nmap0
    ip = addresses(estate)[mail.ip]
    assert (ip["assigned_object_type"], ip["assigned_object_id"]) == ("dcim.interface", eth0["id"])
    assert ip["status"]["value"] == "active"
    assert {s for s in netbox_services(estate) if s[0] == "mail"} == expected_services(mail, "mail")

    rerun = estate.sync()
    assert rerun.success
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]


def test_the_mac_vendor_names_the_manufacturer_of_a_known_device_whose_file_names_none(make_estate, nmap_lab):
    mail = HOSTS[1]
    rack = {"devices": [{"name": "mail", "site": SITE, "interfaces": [{"name": "eth0", "mac": mail.mac}]}]}
    estate = make_estate(files={"rack": rack}, extra_config=nmap_instance(nmap_lab.nmap_wrapper))
    assert estate.sync().success
    assert estate.by_name("devices")["mail"]["device_type"]["manufacturer"]["name"] == mail.vendor


# The `nmap_scan[lab]` materialisation exactly as `run_sync` starts it (the refresh job, in
# process), printing what the run recorded: its warning log lines and the asset's metadata.
REFRESH_NMAP = r"""
import json, logging, sys
import dagster as dg
from netbox_pipeline.config import load_config
from netbox_pipeline.defs import build_definitions
from netbox_pipeline.defs.automation import refresh_job_name

defs = build_definitions(load_config(sys.argv[1]))
with dg.DagsterInstance.get() as instance:
    result = defs.resolve_job_def(refresh_job_name("nmap")).execute_in_process(
        instance=instance, partition_key="lab", raise_on_error=False)
    warnings = [e.user_message for e in instance.all_logs(result.run_id)
                if e.level >= logging.WARNING and e.user_message]
    metadata = {name: str(value.value) for event in result.get_asset_materialization_events()
                for name, value in event.materialization.metadata.items()}
print(json.dumps({"success": result.success, "warnings": warnings, "metadata": metadata}))
"""
NOBODY = 65534


@pytest.fixture
def nobody_dir():
    """A directory the unprivileged run can write (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="nbp-nmap-nobody-"))
    os.chown(path, NOBODY, NOBODY)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_unprivileged_scan_lands_ips_and_services_without_macs_and_says_why(make_estate, nmap_lab, nobody_dir):
    """The Dagster step itself runs as nobody (no capabilities) inside the lab's scanner namespace, so
    privilege detection and nmap are both real; the merge, plan and write then run here, in process."""
    estate = make_estate(files={}, staging_url=f"sqlite:///{nobody_dir / 'staging.sqlite'}",
                         extra_config=nmap_instance(None))
    config = nobody_dir / "netbox_pipeline.yaml"
    config.write_text(estate.config_path.read_text())
    home = nobody_dir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for path in (config, home, home / "dagster.yaml"):
        os.chown(path, NOBODY, NOBODY)
    env = {**os.environ, "DAGSTER_HOME": str(home), "HOME": str(nobody_dir), "NETBOX_PIPELINE_CONFIG": str(config),
           "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        ["ip", "netns", "exec", nmap_lab.scanner, "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
         "--clear-groups", "--inh-caps=-all", sys.executable, "-c", REFRESH_NMAP, str(config)],
        capture_output=True, text=True, cwd=nobody_dir, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    refresh = json.loads(done.stdout.strip().splitlines()[-1])
    assert refresh["success"], done.stderr[-3000:]
    why = "nmap runs without root or CAP_NET_RAW (euid 65534, no CAP_NET_RAW): MAC addresses, vendors"
    assert [w for w in refresh["warnings"] if why in w], refresh["warnings"]
    assert why in refresh["metadata"]["warnings"]
    with estate.staging().session() as session:
        (source_run,) = [r for r in store.list_runs(session) if r["kind"] == "source"]
    assert (source_run["source_kind"], source_run["instance"], source_run["status"]) == ("nmap", "lab", "success")
    assert source_run["counts"]["warnings"] == 1

    outcome = estate.sync(refresh_sources=False)  # merge, plan and write what the unprivileged scan saw
    assert outcome.success, [(r.label, r.error) for r in outcome.runs]
    assert [r.label for r in outcome.runs] == ["merge, plan and write"]
    ips = addresses(estate)
    assert sorted(ips) == sorted(h.ip for h in HOSTS)
    assert {ip["status"]["value"] for ip in ips.values()} == {"active"}
    assert sorted(estate.by_name("devices")) == sorted(device_name(h) for h in HOSTS)
    assert netbox_services(estate) == {s for h in HOSTS for s in expected_services(h, device_name(h))}
    assert estate.objects("mac_addresses") == []
    assert all(i["mac_address"] is None for i in estate.objects("interfaces"))
    assert not {h.vendor for h in HOSTS} & set(estate.by_name("manufacturers"))
