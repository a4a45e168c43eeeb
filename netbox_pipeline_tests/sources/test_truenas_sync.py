"""The TrueNAS source end to end: real Dagster runs against the TLS TrueNAS sandbox into the NetBox
sandbox (the pure mapping is in test_truenas.py, the client in test_truenas_client.py)."""

import logging

import dagster as dg
import pytest

from netbox_pipeline.assistant.answers import sources_view
from netbox_pipeline.config import load_config
from netbox_pipeline.sandbox.truenas import VERSIONS, TrueNASSandbox
from netbox_pipeline.sandbox.truenas.estate import nfs_share as nas_share
from netbox_pipeline.staging import store
from netbox_pipeline_tests.real_netbox import REAL

SOURCE = "truenas_inventory[nas01]"
CA_FILE = "truenas-ca.pem"
WRONG_KEY = "9-ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"


@pytest.fixture
def nas(request):
    """The stand-in NAS, 25.04 unless a test asks for another release (indirect parametrisation)."""
    with TrueNASSandbox(getattr(request, "param", "25.04")) as sandbox:
        yield sandbox


@pytest.fixture
def nas_estate(make_estate, nas, monkeypatch, tmp_path):
    """nas_estate(version="4.4", files={}, ca_cert=True, top_level="", **settings) -> an Estate whose
    config has the sandbox NAS as the truenas instance `nas01` (plus any filesystem files);
    `top_level` is appended as top-level configuration (e.g. a shorter deletion grace); a setting
    given as None is left out of the configuration."""

    def make(version: str = "4.4", files: dict | None = None, ca_cert: bool = True, top_level: str = "", **settings):
        monkeypatch.setenv("TRUENAS_API_KEY", nas.api_key)
        values = {"name": "nas01", "host": "127.0.0.1", "port": nas.port, "api_key": "'${TRUENAS_API_KEY}'",
                  "username": nas.username, "timeout_s": 20, "site": "home"}
        if ca_cert:  # a copy beside the config: it outlives a stopped sandbox
            (tmp_path / "estate").mkdir(exist_ok=True)
            (tmp_path / "estate" / CA_FILE).write_bytes(nas.ca_cert_path.read_bytes())
            values["ca_cert"] = CA_FILE
        values.update(settings)
        entry = ", ".join(f"{key}: {value}" for key, value in values.items() if value is not None)
        return make_estate(version=version, files=files or {},
                           extra_config=f"  truenas:\n    - {{{entry}}}\n{top_level}")

    return make


def children_of(estate, type_name: str, parent_field: str, parent_id: int) -> list[dict]:
    return [o for o in estate.objects(type_name) if (o.get(parent_field) or {}).get("id") == parent_id]


def failure(outcome, label: str) -> str:
    return next(r.error for r in outcome.runs if r.label == label and not r.success)


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_first_sync_lands_the_nas_and_a_rerun_writes_nothing(nas_estate, nas, version):
    estate = nas_estate(version=version)
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert [r.label for r in outcome.runs] == [SOURCE, "merge, plan and write"]

    host = estate.by_name("devices")["nas01"]
    assert (host["serial"], host["device_type"]["model"], host["platform"]["name"]) == (
        "A1-204117", "TRUENAS-MINI-3.0-XL+", "TrueNAS SCALE 25.04.2.4")
    assert host["primary_ip4"]["address"] == "192.168.10.20/24"
    interfaces = {i["name"]: i for i in children_of(estate, "interfaces", "device", host["id"])}
    assert {n: i["type"]["value"] for n, i in interfaces.items()} == {
        "bond0": "lag", "br0": "bridge", "enp1s0": "10gbase-t", "enp2s0": "10gbase-t", "vlan20": "virtual"}
    (cluster,) = estate.objects("clusters")
    assert (cluster["name"], cluster["type"]["name"]) == ("nas01", "TrueNAS")
    vms = estate.by_name("virtual_machines")
    assert sorted(vms) == ["homeassistant", "jellyfin", "pbs"]  # 2 from vm.query, a container from virt.instance
    assert vms["homeassistant"]["device"]["name"] == "nas01" and vms["homeassistant"]["memory"] == 4096
    jellyfin = vms["jellyfin"]
    assert (jellyfin["cluster"]["name"], jellyfin["platform"]["name"], jellyfin["vcpus"], jellyfin["memory"]) == (
        "nas01", "Debian", 2, 2048)
    assert jellyfin["primary_ip4"]["address"] == "192.168.10.31/24"
    assert [i["name"] for i in children_of(estate, "vm_interfaces", "virtual_machine", jellyfin["id"])] == ["eth0"]
    services = {s["name"]: s for s in estate.objects("services")}
    assert sorted(services) == ["NFS", "SMB"] and services["SMB"]["ports"] == [445]
    links = {n: tuple((i.get(f) or {}).get("name") for f in ("lag", "parent", "bridge")) for n, i in interfaces.items()}
    assert links == {"bond0": (None, None, "br0"), "br0": (None, None, None), "enp1s0": ("bond0", None, None),
                     "enp2s0": ("bond0", None, None), "vlan20": (None, "bond0", None)}
    # what each interface carries, as NetBox holds it
    by_id = {i["id"]: n for n, i in interfaces.items()}
    macs = {by_id[m["assigned_object_id"]]: m["mac_address"].upper() for m in estate.objects("mac_addresses")
            if m["assigned_object_type"] == "dcim.interface" and m["assigned_object_id"] in by_id}
    assert macs == {"enp1s0": "3C:EC:EF:12:34:01", "enp2s0": "3C:EC:EF:12:34:02"}  # a LAG/bridge/VLAN borrows one
    assert {n: (i["primary_mac_address"] or {}).get("mac_address", "").upper() for n, i in interfaces.items()} == {
        "bond0": "", "br0": "", "enp1s0": "3C:EC:EF:12:34:01", "enp2s0": "3C:EC:EF:12:34:02", "vlan20": ""}
    assert {n: i["mtu"] for n, i in interfaces.items()} == dict.fromkeys(interfaces, 9000)
    addresses: dict[str, list[str]] = {}
    for ip in estate.objects("ip_addresses"):
        if ip["assigned_object_type"] == "dcim.interface" and ip["assigned_object_id"] in by_id:
            addresses.setdefault(by_id[ip["assigned_object_id"]], []).append(ip["address"])
    assert {n: sorted(a) for n, a in addresses.items()} == {  # link-local fe80:: left out
        "br0": ["192.168.10.20/24", "2001:db8:10::20/64"], "vlan20": ["10.20.0.5/24"]}
    vlan20 = interfaces["vlan20"]
    assert ((vlan20["mode"] or {}).get("value"), (vlan20["untagged_vlan"] or {}).get("vid")) == ("access", 20)
    assert vlan20["description"] == "VLAN 20 on bond0"

    items = {i["name"]: i for i in children_of(estate, "inventory_items", "device", host["id"])}
    assert len(items) == 10  # 8 disks named by serial, 2 pools
    disk = items["ZL20000000"]
    assert (disk["label"], disk["role"]["name"], disk["serial"], disk["custom_fields"]["truenas_pool"]) == (
        "sda", "Disk", "ZL20000000", "tank")
    assert disk["part_id"] and disk["description"].startswith("8.0 TB, HDD")
    assert (items["tank"]["role"]["name"], items["tank"]["custom_fields"]["truenas_pool"]) == ("ZFS pool", "tank")

    changes_before = estate.sandbox.change_count() if version == REAL else None
    rerun = estate.sync()
    assert rerun.success, [r.error for r in rerun.runs]
    assert estate.writes() == [], [f"{e.method} {e.path}" for e in estate.writes()]
    if version == REAL:  # and NetBox's own change log agrees
        assert estate.sandbox.change_count() == changes_before


@pytest.mark.parametrize("version", ["4.4", REAL])
@pytest.mark.parametrize("fault", ["bad key", "refused", "tls"])
def test_a_failing_nas_fails_its_instance_only_and_deletes_nothing(nas_estate, nas, fault, version):
    rack = {"devices": [{"name": "sw-01", "site": "home", "role": "switch", "manufacturer": "Acme", "model": "S-1",
                         "serial": "SW-1"}]}
    estate = nas_estate(version=version, files={"rack": rack})
    assert estate.sync().success
    owned = {t: len(estate.objects(t)) for t in ("devices", "interfaces", "virtual_machines", "services", "ip_addresses")}
    port = nas.port
    replacement = None
    if fault == "bad key":  # the NAS now expects another key than the configured one
        nas.api_key = WRONG_KEY
    elif fault == "refused":
        nas.stop()
    else:  # the NAS came back with a new self-signed certificate the configured CA did not sign
        nas.stop()
        replacement = TrueNASSandbox("25.04", port=port).start()
    try:
        _fails_without_deleting(estate, fault, port)
    finally:
        if replacement is not None:
            replacement.stop()
    assert {t: len(estate.objects(t)) for t in owned} == owned


def _fails_without_deleting(estate, fault: str, port: int) -> None:
    for run in range(3):  # as many runs as the grace: a failed instance never counts as absent
        outcome = estate.sync()
        assert [(r.label, r.success) for r in outcome.runs] == [
            ("filesystem_inventory[rack]", True), (SOURCE, False), ("merge, plan and write", True)]
        error = failure(outcome, SOURCE)
        assert f"truenas nas01 (127.0.0.1:{port})" in error, error
        expected = {"bad key": "authentication failed", "refused": "connection refused", "tls": "TLS error"}[fault]
        assert expected in error, error
        assert WRONG_KEY[2:20] not in str([r.error for r in outcome.runs])
        assert not [e for e in estate.writes() if e.method == "DELETE"], f"run {run}"


def writes_of(estate) -> list[str]:
    return [f"{e.method} {e.path}" for e in estate.writes()]


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_lag_member_change_is_one_patch(nas_estate, nas, version):
    estate = nas_estate(version=version)
    assert estate.sync().success
    nas.set_lag_members("bond0", ["enp1s0"])  # enp2s0 leaves the LAG
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    assert writes_of(estate) == ["PATCH /api/dcim/interfaces/"]
    interfaces = {i["name"]: i for i in estate.objects("interfaces")}
    assert interfaces["enp2s0"]["lag"] is None and interfaces["enp1s0"]["lag"]["name"] == "bond0"


@pytest.mark.parametrize("version", ["4.4", REAL])
def test_a_replaced_disk_is_one_create_then_one_delete_and_a_refused_disk_list_counts_nothing(nas_estate, nas, version):
    estate = nas_estate(version=version, top_level="deletion: {grace_runs: 2}")
    assert estate.sync().success
    nas.replace_disk("sda", "ZLNEW0001")
    assert estate.sync().success
    assert writes_of(estate) == ["POST /api/dcim/inventory-items/"]  # the old disk: absent 1/2
    names = {i["name"]: i for i in estate.objects("inventory_items")}
    assert names["ZLNEW0001"]["label"] == "sda" and "ZL20000000" in names

    nas.deny("disk.query")  # the key lost its role: every disk is unknown, none is gone
    for _ in range(2):
        outcome = estate.sync()
        assert outcome.success, [r.error for r in outcome.runs]
        assert writes_of(estate) == []
    assert {i["name"] for i in estate.objects("inventory_items")} == set(names)

    nas.allow("disk.query")
    assert estate.sync().success
    assert writes_of(estate) == ["DELETE /api/dcim/inventory-items/"]  # absent 2/2 observed runs
    assert "ZL20000000" not in {i["name"] for i in estate.objects("inventory_items")}


def dagster_warnings(run_id: str) -> list[str]:
    """The warning lines a run logged to its event log (what the UI shows)."""
    with dg.DagsterInstance.get() as instance:
        return [r.user_message for r in instance.all_logs(run_id) if r.level == logging.WARNING]


def source_metadata_warnings(run_id: str) -> str:
    """The `warnings` metadata of the source asset materialised by a run (the asset's page)."""
    with dg.DagsterInstance.get() as instance:
        (event,) = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.is_step_materialization]
        return event.dagster_event.step_materialization_data.materialization.metadata["warnings"].value


def test_a_method_the_nas_lacks_is_a_warning_and_deletes_nothing_of_its_part(nas_estate, nas, capfd):
    estate = nas_estate(top_level="deletion: {grace_runs: 2}")
    assert estate.sync().success
    smb = estate.by_name("services")["SMB"]

    nas.remove_method("sharing.smb.query")  # as a release without it answers: -32601
    nas.set_lag_members("bond0", ["enp1s0"])  # the parts it still answers change meanwhile
    nas.nas.nfs_shares.append(nas_share(3, "/mnt/tank/scratch", ["192.168.10.0/24"]))
    for run in range(3):  # past the grace: a part it could not read never counts as absent
        outcome = estate.sync()
        assert outcome.success, [r.error for r in outcome.runs]
        assert not [e for e in estate.writes() if e.method == "DELETE"], f"run {run}"
        warnings = dagster_warnings(outcome.runs[0].run_id)
        why = "sharing.smb.query: this server has no such method; smb_shares are left as they are this run"
        assert [w for w in warnings if why in w and f"truenas nas01 (127.0.0.1:{nas.port})" in w], warnings
        assert why in source_metadata_warnings(outcome.runs[0].run_id)
        terminal = capfd.readouterr().err  # what `netbox-pipeline sync` prints
        assert f"warning: truenas:nas01: truenas nas01 (127.0.0.1:{nas.port}): {why}" in terminal, terminal
        if run == 0:  # the rest landed in that same run
            assert sorted(writes_of(estate)) == ["PATCH /api/dcim/interfaces/", "PATCH /api/ipam/services/"]
    services = estate.by_name("services")
    assert services["SMB"]["id"] == smb["id"] and services["SMB"]["description"] == smb["description"]
    assert services["NFS"]["description"] == "3 shares: /mnt/fast/k8s, /mnt/tank/scratch, /mnt/tank/vmstore"
    assert estate.by_name("interfaces")["enp2s0"]["lag"] is None
    with estate.staging().session() as session:
        latest = next(r for r in store.list_runs(session) if r["kind"] == "source")  # newest first
    assert (latest["status"], latest["counts"]["warnings"]) == ("success", 1)
    (health,) = sources_view(load_config(estate.config_path), estate.staging())["sources"]  # the `sources` tool
    assert (health["fresh"], health["warning_count"], health["unobserved"]) == (True, 1, ["services"])
    assert [(r["object_type"], r["action"]) for r in latest_plan(estate) if r["natural_key"].endswith("/SMB")] == [
        ("services", "orphan")]

    nas.allow("sharing.smb.query")  # back: the service is desired again and unchanged
    assert estate.sync().success
    assert writes_of(estate) == []
    (health,) = sources_view(load_config(estate.config_path), estate.staging())["sources"]
    assert (health["warning_count"], health["unobserved"]) == (0, [])


def latest_plan(estate) -> list[dict]:
    with estate.staging().session() as session:
        return store.plan_for_run(session, store.latest_plan_run_id(session))


@pytest.mark.parametrize(("joined_by", "version"), [("serial", "4.4"), ("mac", "4.4"), ("serial", REAL)])
def test_a_nas_and_a_disk_an_inventory_file_declares_under_other_names_land_once(nas_estate, nas, joined_by, version):
    box = {"name": "nas-rack", "site": "home", "role": "storage", "manufacturer": "iXsystems",
           "model": "TRUENAS-MINI-3.0-XL+", "status": "active"}
    if joined_by == "serial":
        box["serial"] = "A1-204117"
    else:  # the file knows a NIC of it, not its serial
        box["interfaces"] = [{"name": "enp1s0", "type": "10gbase-t", "mac": "3c:ec:ef:12:34:01"}]
    rack = {"devices": [box], "inventory_items": [
        {"device": "nas-rack", "site": "home", "name": "bay 3", "serial": "ZL20000000", "role": "Disk"}]}
    estate = nas_estate(version=version, files={"rack": rack})
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]

    (device,) = estate.objects("devices")  # one NAS, named by the file (it ranks first)
    assert (device["name"], device["serial"]) == ("nas-rack", "A1-204117")
    items = children_of(estate, "inventory_items", "device", device["id"])
    assert len(items) == len(estate.objects("inventory_items")) == 10  # all on it: 8 disks, 2 pools
    (disk,) = [i for i in items if i["serial"] == "ZL20000000"]  # one item for the disk
    assert (disk["name"], disk["label"], disk["custom_fields"]["truenas_pool"]) == ("bay 3", "sda", "tank")
    assert [vm["device"]["name"] for vm in estate.objects("virtual_machines")] == ["nas-rack"] * 3
    rerun = estate.sync()
    assert rerun.success and writes_of(estate) == [], writes_of(estate)


@pytest.mark.parametrize("nas", ["25.04", "25.10"], indirect=True)
def test_the_minimal_configuration_without_a_username_syncs_a_25_release(nas_estate, nas):
    # The documented example without `username` (and without any optional key): the key logs in
    # with auth.login_with_api_key, which these releases still offer.
    estate = nas_estate(username=None, timeout_s=None)
    assert "username" not in estate.config_path.read_text() and "timeout_s" not in estate.config_path.read_text()
    outcome = estate.sync()
    assert outcome.success, [r.error for r in outcome.runs]
    logins = [(c.method, c.outcome) for c in nas.calls if c.method.startswith("auth.login")]
    assert logins and set(logins) == {("auth.login_with_api_key", "ok")}
    host = estate.by_name("devices")["nas01"]
    assert host["platform"]["name"] == f"TrueNAS SCALE {VERSIONS[nas.version]}"
    assert sorted(estate.by_name("virtual_machines")) == ["homeassistant", "jellyfin", "pbs"]
    assert len(children_of(estate, "inventory_items", "device", host["id"])) == 10
