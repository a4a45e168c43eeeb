"""The Proxmox VE source end to end: real Dagster runs against the TLS Proxmox sandbox into the
NetBox sandbox (the pure-core versions of these scenarios are in test_proxmox.py)."""

import logging

import dagster as dg
import pytest

from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
from netbox_pipeline.sources.proxmox import VMID_FIELD
from netbox_pipeline.staging import store

SECRET = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
GUESTS = ["app02", "build01", "db01", "dns01", "legacy01", "mqtt01", "web01", "win01"]  # the template is skipped
SOURCE = "proxmox_inventory[lab]"
CA_FILE = "pve-ca.pem"


@pytest.fixture
def pve():
    with ProxmoxSandbox(token_id="root@pam!netbox-pipeline", secret=SECRET) as sandbox:
        yield sandbox


@pytest.fixture
def pve_estate(make_estate, pve, monkeypatch, tmp_path):
    """pve_estate(version="4.4", files={}, ca_cert=True, **settings) -> an Estate whose config has
    the sandbox cluster as the proxmox instance `lab` (plus any filesystem files)."""

    def make(version: str = "4.4", files: dict | None = None, ca_cert: bool = True, **settings):
        monkeypatch.setenv("PVE_TOKEN", SECRET)
        values = {"name": "lab", "host": "127.0.0.1", "port": pve.port, "user": pve.user,
                  "token_name": pve.token_name, "token_value": "'${PVE_TOKEN}'", "timeout_s": 30}
        if ca_cert:  # a copy beside the config (relative to it): it outlives a stopped sandbox
            (tmp_path / "estate").mkdir(exist_ok=True)
            (tmp_path / "estate" / CA_FILE).write_bytes(pve.ca_cert_path.read_bytes())
            values["ca_cert"] = CA_FILE
        values.update(settings)
        entry = ", ".join(f"{key}: {value}" for key, value in values.items())
        return make_estate(version=version, files=files or {}, extra_config=f"  proxmox:\n    - {{{entry}}}")

    return make


def failure(outcome, label: str) -> str:
    return next(r.error for r in outcome.runs if r.label == label and not r.success)


def children_of(estate, type_name: str, parent_field: str, parent_id: int) -> list[dict]:
    return [o for o in estate.objects(type_name) if (o.get(parent_field) or {}).get("id") == parent_id]


def ips_on(estate, object_type: str, interfaces: list[dict]) -> list[str]:
    ids = {i["id"] for i in interfaces}
    return sorted(ip["address"] for ip in estate.objects("ip_addresses")
                  if ip["assigned_object_type"] == object_type and ip["assigned_object_id"] in ids)


def latest_plan(estate) -> list[dict]:
    with estate.staging().session() as session:
        return store.plan_for_run(session, store.latest_plan_run_id(session))


def dagster_warnings(run_id: str) -> list[str]:
    """The warning lines a run logged to its event log (what the UI shows)."""
    with dg.DagsterInstance.get() as instance:
        return [r.user_message for r in instance.all_logs(run_id) if r.level == logging.WARNING]


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_first_sync_lands_the_cluster_nodes_and_guests_and_a_rerun_writes_nothing(pve_estate, pve, version):
    estate = pve_estate(version)
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [r.label for r in outcome.runs] == [SOURCE, "merge, plan and write"]
    assert {(e.method, e.auth) for e in pve.requests} == {("GET", "token")}  # read-only, with the API token

    # the custom field the VMID lives in: created by the bootstrap, an integer on VMs
    (field,) = [f for f in estate.sandbox.objects("extras/custom-fields") if f["name"] == VMID_FIELD]
    assert field["type"]["value"] == "integer"
    assert "virtualization.virtualmachine" in field["object_types"]

    (cluster,) = estate.objects("clusters")
    assert cluster["name"] == "lab" and cluster["type"]["name"] == "Proxmox VE"

    nodes = estate.by_name("devices")
    assert sorted(nodes) == ["pve1", "pve2", "pve3"]
    pve2 = nodes["pve2"]
    assert pve2["cluster"]["id"] == cluster["id"] and pve2["platform"]["name"] == "Proxmox VE"
    assert pve2["primary_ip4"]["address"] == "192.0.2.12/24"
    interfaces = children_of(estate, "interfaces", "device", pve2["id"])
    assert {i["name"]: i["type"]["value"] for i in interfaces} == {
        "bond0": "lag", "eno1": "other", "eno2": "other", "eno3": "other", "vmbr0": "bridge",
        "vmbr0.20": "virtual", "vmbr1": "bridge"}
    assert ips_on(estate, "dcim.interface", interfaces) == ["10.0.20.2/24", "192.0.2.12/24", "2001:db8::12/64"]

    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == GUESTS
    assert all(vm["cluster"]["id"] == cluster["id"] for vm in vms.values())
    web = vms["web01"]
    assert (web["status"]["value"], float(web["vcpus"]), web["memory"], web["device"]["name"]) == (
        "active", 2.0, 4096, "pve1")
    assert web["custom_fields"][VMID_FIELD] == 100 and web["platform"]["name"] == "Linux"
    assert {"prod", "web"} <= {t["name"] for t in web["tags"]}
    assert web["primary_ip4"]["address"] == "10.0.20.10/24"
    (net0,) = children_of(estate, "vm_interfaces", "virtual_machine", web["id"])
    assert net0["name"] == "net0" and net0["mac_address"].upper() == "BC:24:11:00:64:00"
    assert net0["mode"]["value"] == "access" and net0["untagged_vlan"]["vid"] == 20
    assert ips_on(estate, "virtualization.vminterface", [net0]) == ["10.0.20.10/24"]  # from the agent
    assert [(d["name"], d["size"]) for d in children_of(estate, "virtual_disks", "virtual_machine", web["id"])] == [
        ("scsi0", 32768)]

    db = vms["db01"]
    assert (float(db["vcpus"]), db["memory"], db["device"]["name"]) == (8.0, 16384, "pve2")
    db_interfaces = children_of(estate, "vm_interfaces", "virtual_machine", db["id"])
    assert sorted(i["name"] for i in db_interfaces) == ["net0", "net1"]
    assert ips_on(estate, "virtualization.vminterface", db_interfaces) == [
        "10.0.20.20/24", "198.51.100.20/24", "2001:db8:20::20/64"]
    assert sorted((d["name"], d["size"]) for d in children_of(estate, "virtual_disks", "virtual_machine", db["id"])) == [
        ("scsi0", 65536), ("scsi1", 204800)]

    dns = vms["dns01"]  # an LXC container: addresses from /lxc/101/interfaces
    assert (dns["custom_fields"][VMID_FIELD], dns["memory"], dns["platform"]["name"]) == (101, 512, "Debian")
    dns_interfaces = children_of(estate, "vm_interfaces", "virtual_machine", dns["id"])
    assert ips_on(estate, "virtualization.vminterface", dns_interfaces) == ["10.0.20.5/24"]
    assert dns["primary_ip4"]["address"] == "10.0.20.5/24"
    assert sorted((d["name"], d["size"]) for d in children_of(estate, "virtual_disks", "virtual_machine", dns["id"])) == [
        ("mp0", 16384), ("rootfs", 8192)]

    assert (vms["win01"]["status"]["value"], vms["build01"]["status"]["value"]) == ("offline", "paused")
    assert vms["legacy01"]["primary_ip4"]["address"] == "10.0.20.40/24"  # agent-less: cloud-init
    assert len(estate.objects("virtual_disks")) == 10 and len(estate.objects("vm_interfaces")) == 9

    rerun = estate.sync()
    assert rerun.success, [r.error for r in rerun.runs]
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]


def test_renamed_vm_is_updated_in_place(pve_estate, pve):
    estate = pve_estate()
    assert estate.sync().success
    before = estate.by_name("virtual_machines")["web01"]
    pve.rename(100, "frontend01")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/virtualization/virtual-machines/")]
    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == sorted(set(GUESTS) - {"web01"} | {"frontend01"})
    renamed = vms["frontend01"]
    assert renamed["id"] == before["id"] and renamed["custom_fields"][VMID_FIELD] == 100
    assert renamed["primary_ip4"]["id"] == before["primary_ip4"]["id"]
    (net0,) = children_of(estate, "vm_interfaces", "virtual_machine", renamed["id"])
    assert ips_on(estate, "virtualization.vminterface", [net0]) == ["10.0.20.10/24"]
    assert not [r for r in latest_plan(estate) if r["action"] in ("orphan", "create", "delete")]

    assert estate.sync().success
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]


def test_vm_moved_to_another_node_updates_its_device(pve_estate, pve):
    estate = pve_estate()
    assert estate.sync().success
    before = estate.by_name("virtual_machines")["db01"]
    assert before["device"]["name"] == "pve2"
    pve.move(102, "pve3")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/virtualization/virtual-machines/")]
    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == GUESTS
    assert vms["db01"]["id"] == before["id"] and vms["db01"]["device"]["name"] == "pve3"


def test_removed_vm_is_an_orphan_then_deleted_with_its_children_after_the_grace_runs(pve_estate, pve):
    estate = pve_estate()
    assert estate.sync().success
    legacy = estate.by_name("virtual_machines")["legacy01"]
    interfaces = children_of(estate, "vm_interfaces", "virtual_machine", legacy["id"])
    assert ips_on(estate, "virtualization.vminterface", interfaces) == ["10.0.20.40/24"]
    assert children_of(estate, "virtual_disks", "virtual_machine", legacy["id"])
    pve.remove(104)
    for run in (1, 2):
        outcome = estate.sync()
        assert outcome.success, [r.error for r in outcome.runs]
        assert estate.writes() == [], f"run {run}: " + ", ".join(f"{e.method} {e.path}" for e in estate.writes())
        orphans = {(r["object_type"], r["natural_key"]) for r in latest_plan(estate) if r["action"] == "orphan"}
        assert orphans == {
            ("virtual_machines", "lab/legacy01"), ("vm_interfaces", "lab/legacy01/net0"),
            ("virtual_disks", "lab/legacy01/virtio0"), ("ip_addresses", "/10.0.20.40"),
            ("mac_addresses", "vm_interfaces/lab/legacy01/net0/BC:24:11:00:68:00"),
            ("tags", "legacy")}, orphans  # the Proxmox tag only legacy01 carried
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == sorted(set(GUESTS) - {"legacy01"})
    assert not children_of(estate, "vm_interfaces", "virtual_machine", legacy["id"])
    assert not children_of(estate, "virtual_disks", "virtual_machine", legacy["id"])
    assert "10.0.20.40/24" not in estate.by_name("ip_addresses")
    assert "legacy" in {t["name"] for t in estate.objects("tags")}  # tags are reference data, never pruned
    writes = [(e.method, e.path) for e in estate.writes()]
    assert {method for method, _ in writes} == {"DELETE"}, writes
    paths = [path for _, path in writes]
    assert sorted(paths) == sorted(["/api/ipam/ip-addresses/", "/api/dcim/mac-addresses/", "/api/virtualization/interfaces/",
                                    "/api/virtualization/virtual-disks/", "/api/virtualization/virtual-machines/"])
    # children first: the address and the MAC before their interface, everything before the VM
    assert paths[-1] == "/api/virtualization/virtual-machines/"
    interface = paths.index("/api/virtualization/interfaces/")
    assert paths.index("/api/ipam/ip-addresses/") < interface and paths.index("/api/dcim/mac-addresses/") < interface


def test_unreachable_cluster_fails_its_run_deletes_nothing_and_other_sources_sync(pve_estate, pve):
    rack = {"devices": [{"name": "nas-01", "site": "home", "role": "server", "manufacturer": "Acme", "model": "AX-1",
                         "serial": "SN-1"}]}
    estate = pve_estate(files={"rack": rack})
    assert estate.sync().success
    owned = {t: len(estate.objects(t)) for t in ("virtual_machines", "vm_interfaces", "ip_addresses", "devices")}
    port = pve.port
    pve.stop()
    rack["devices"][0]["serial"] = "SN-2"
    estate.write_inventory(rack)
    for run in range(3):  # as many runs as the grace: a failed instance never counts as absent
        outcome = estate.sync()
        assert [(r.label, r.success) for r in outcome.runs] == [
            ("filesystem_inventory[rack]", True), (SOURCE, False), ("merge, plan and write", True)]
        error = failure(outcome, SOURCE)
        assert f"127.0.0.1:{port}" in error and "cannot connect" in error, error
        assert SECRET not in str([r.error for r in outcome.runs])
        assert not [e for e in estate.writes() if e.method == "DELETE"], f"run {run}"
        if run == 0:  # the filesystem change landed despite the failed cluster
            assert [(e.method, e.path) for e in estate.writes()] == [("PATCH", "/api/dcim/devices/")]
    assert estate.by_name("devices")["nas-01"]["serial"] == "SN-2"
    assert {t: len(estate.objects(t)) for t in owned} == owned
    # its last good snapshot still stands: nothing of the cluster is even orphaned
    assert not [r for r in latest_plan(estate) if r["action"] in ("orphan", "delete")]


def test_agent_error_on_one_vm_is_a_warning_and_leaves_everything_intact(pve_estate, pve):
    estate = pve_estate()
    assert estate.sync().success
    before = {t: estate.objects(t) for t in ("virtual_machines", "vm_interfaces", "ip_addresses", "mac_addresses")}
    pve.set_agent(100, "error")
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
    after = {t: estate.objects(t) for t in before}
    assert {t: [o["id"] for o in objs] for t, objs in after.items()} == {t: [o["id"] for o in objs] for t, objs in before.items()}
    web = estate.by_name("virtual_machines")["web01"]
    assert web["primary_ip4"]["address"] == "10.0.20.10/24"  # kept although the agent did not answer
    (net0,) = children_of(estate, "vm_interfaces", "virtual_machine", web["id"])
    assert ips_on(estate, "virtualization.vminterface", [net0]) == ["10.0.20.10/24"]
    # the address only the agent reported is absent this run: an orphan in grace, not a deletion
    assert [(r["object_type"], r["natural_key"]) for r in latest_plan(estate) if r["action"] == "orphan"] == [
        ("ip_addresses", "/10.0.20.10")]

    with estate.staging().session() as session:
        source_runs = [r for r in store.list_runs(session) if r["kind"] == "source"]
    latest = source_runs[0]  # newest first
    assert latest["status"] == "success"
    assert latest["counts"]["warnings"] == 2  # app02's agent was never running; now web01's fails too
    assert latest["counts"]["virtual_machine"] == len(GUESTS)
    warnings = dagster_warnings(outcome.runs[0].run_id)
    assert any("VM 100 (web01) on pve1: guest agent: 500" in w and "got timeout" in w for w in warnings), warnings


def test_verify_ssl_refuses_the_self_signed_certificate_until_its_ca_is_trusted(pve_estate, pve):
    estate = pve_estate(ca_cert=False, verify_ssl="true")
    outcome = estate.sync()
    error = failure(outcome, SOURCE)
    assert f"127.0.0.1:{pve.port}" in error and "TLS error" in error and "certificate" in error, error
    assert "ca_cert" in error and SECRET not in error
    assert estate.objects("virtual_machines") == [] and estate.objects("devices") == []

    text = estate.config_path.read_text()
    estate.config_path.write_text(text.replace("timeout_s: 30", f"timeout_s: 30, ca_cert: '{pve.ca_cert_path}'"))
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert sorted(estate.by_name("virtual_machines")) == GUESTS
