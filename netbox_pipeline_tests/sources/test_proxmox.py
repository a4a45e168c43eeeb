"""The Proxmox VE source: pure parsing and mapping, the collector against the TLS sandbox, and the
core end to end (collect -> merge -> desired -> plan -> fake NetBox -> replan)."""

import json
from datetime import datetime, timezone

import pytest
from pydantic import SecretStr

from netbox_pipeline.config import Defaults, load_config
from netbox_pipeline.netbox.schema import build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import SyncPolicy, build_plan, validate_plan
from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
from netbox_pipeline.sources import SOURCES, declared_custom_fields, stable_keys
from netbox_pipeline.sources.proxmox import (
    VMID_FIELD,
    ProxmoxSourceConfig,
    agent_enabled,
    cluster_name_of,
    collect_proxmox,
    guest_disks,
    guest_interfaces,
    guest_memory_mib,
    guest_status,
    guest_vcpus,
    node_interface,
    parse_property_string,
    parse_tags,
    size_mib,
    unique_guest_names,
)
from netbox_pipeline.stages.collect import collect_context
from netbox_pipeline_tests.reconcile.test_plan import FakeNetBox

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
SECRET = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
DEFAULTS = Defaults().model_dump()
INSTANCE = ("proxmox", "lab")


# ============================================================================ pure parsing


def test_property_strings():
    assert parse_property_string("virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,tag=20,firewall=1") == {
        "virtio": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "tag": "20", "firewall": "1"}
    assert parse_property_string("local-lvm:vm-100-disk-0,size=32G", "volume") == {
        "volume": "local-lvm:vm-100-disk-0", "size": "32G"}


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("0", False), ("enabled=1,fstrim_cloned_disks=1", True), ("enabled=0", False),
    (None, False), (1, True), ("", False)])
def test_agent_enabled(value, expected):
    assert agent_enabled(value) is expected


@pytest.mark.parametrize("text, mib", [("32G", 32768), ("512M", 512), ("1T", 1048576), ("4096K", 4),
                                       ("1073741824", 1024), ("1.5G", 1536), (None, None), ("big", None)])
def test_sizes_in_mib(text, mib):
    assert size_mib(text) == mib


def test_tags_split_on_proxmox_separators():
    assert parse_tags("prod;web") == ["prod", "web"]
    assert parse_tags("b,a c") == ["a", "b", "c"]
    assert parse_tags(None) == []


def test_cluster_name_from_status_else_config_else_node():
    status = [{"type": "cluster", "name": "lab"}, {"type": "node", "name": "pve1"}]
    assert cluster_name_of(status, "ignored", ["pve1"]) == "lab"
    assert cluster_name_of([{"type": "node", "name": "pve1"}], "homelab", ["pve1"]) == "homelab"
    assert cluster_name_of([{"type": "node", "name": "pve1"}], None, ["pve1"]) == "pve1"


def test_duplicate_guest_names_get_their_vmid():
    names = unique_guest_names([("qemu", 100, "web"), ("lxc", 101, "WEB"), ("qemu", 102, "db")])
    assert names == ["web (100)", "WEB (101)", "db"]


def test_guest_numbers():
    assert guest_vcpus("qemu", {}, {"cores": 4, "sockets": 2}) == 8
    assert guest_vcpus("qemu", {}, {"cores": 4, "sockets": 2, "vcpus": 3}) == 3
    assert guest_vcpus("lxc", {"cpus": 2}, {}) == 2  # no cores limit: what the list reports
    assert guest_memory_mib("qemu", {}, {"memory": "4096"}) == 4096
    assert guest_memory_mib("qemu", {}, {"memory": "current=2048"}) == 2048
    assert guest_memory_mib("qemu", {}, {}) == 512
    assert guest_memory_mib("lxc", {"maxmem": 1024**3}, {}) == 1024
    assert guest_status("qemu", {"status": "running", "qmpstatus": "paused"}) == "paused"
    assert guest_status("lxc", {"status": "stopped"}) == "offline"
    assert guest_status("qemu", {"status": "unknown"}) is None


def test_qemu_disks_skip_cdroms_efi_and_unused():
    config = {"scsi0": "local-lvm:vm-1-disk-0,iothread=1,size=32G", "ide2": "local:iso/x.iso,media=cdrom,size=600M",
              "ide0": "none,media=cdrom", "efidisk0": "local-lvm:vm-1-disk-1,size=4M",
              "unused0": "local-lvm:vm-1-disk-9", "virtio10": "ceph:vm-1-disk-2,size=1T", "virtio2": "ceph:d,size=1G"}
    disks = guest_disks("qemu", config)
    assert [(d.name, d.size_mb, d.description) for d in disks] == [
        ("scsi0", 32768, "local-lvm:vm-1-disk-0"), ("virtio2", 1024, "ceph:d"),
        ("virtio10", 1048576, "ceph:vm-1-disk-2")]


def test_lxc_disks_skip_bind_mounts():
    config = {"rootfs": "local-lvm:vm-2-disk-0,size=8G", "mp0": "/mnt/host,mp=/data",
              "mp1": "local-lvm:vm-2-disk-1,mp=/srv,size=16G"}
    assert [(d.name, d.size_mb) for d in guest_disks("lxc", config)] == [("rootfs", 8192), ("mp1", 16384)]


def test_qemu_interfaces_take_agent_addresses_by_mac():
    guest = {
        "kind": "qemu", "entry": {"vmid": 100},
        "config": {"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20", "net1": "e1000=BC:24:11:00:00:02,bridge=vmbr1,link_down=1,mtu=1",
                   "net2": "vmxnet3=BC:24:11:00:00:03,bridge=vmbr0,mtu=9000", "ipconfig2": "ip=192.0.2.9/24,gw=192.0.2.1"},
        "agent": {"result": [
            {"name": "lo", "hardware-address": "00:00:00:00:00:00",
             "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
            {"name": "ens19", "hardware-address": "bc:24:11:00:00:02",
             "ip-addresses": [{"ip-address": "198.51.100.7", "ip-address-type": "ipv4", "prefix": 24}]},
            {"name": "ens18", "hardware-address": "bc:24:11:00:00:01",
             "ip-addresses": [{"ip-address": "10.0.20.10", "ip-address-type": "ipv4", "prefix": 24},
                              {"ip-address": "fe80::1", "ip-address-type": "ipv6", "prefix": 64}]},
            {"name": "docker0", "hardware-address": "02:42:ac:11:00:01",
             "ip-addresses": [{"ip-address": "172.17.0.1", "ip-address-type": "ipv4", "prefix": 16}]}]},
    }
    net0, net1, net2 = guest_interfaces(guest)
    assert (net0.name, net0.mac, net0.vlan, net0.ip_addresses, net0.description) == (
        "net0", "BC:24:11:00:00:01", 20, ["10.0.20.10/24"], "virtio on vmbr0")
    assert (net1.enabled, net1.mtu, net1.ip_addresses) == (False, None, ["198.51.100.7/24"])
    # the agent knows nothing about net2: the cloud-init config pins its address
    assert (net2.mtu, net2.ip_addresses) == (9000, ["192.0.2.9/24"])
    assert not any("172.17" in a for i in (net0, net1, net2) for a in i.ip_addresses)


def test_lxc_interfaces_from_runtime_else_config():
    config = {"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:DD:EE:FF,ip=10.0.20.5/24,ip6=dhcp,tag=30,type=veth",
              "net1": "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:DD:EE:00,ip=dhcp,type=veth"}
    older = guest_interfaces({"kind": "lxc", "entry": {"vmid": 101}, "config": config, "interfaces": None})
    assert [(i.name, i.ip_addresses, i.vlan, i.description) for i in older] == [
        ("net0", ["10.0.20.5/24"], 30, "eth0 on vmbr0"), ("net1", [], None, "eth1 on vmbr1")]
    runtime = [{"name": "eth0", "hwaddr": "bc:24:11:dd:ee:ff", "inet": "10.0.20.5/24", "inet6": "2001:db8::5/64"},
               {"name": "eth1", "hardware-address": "bc:24:11:dd:ee:00",
                "ip-addresses": [{"ip-address": "192.0.2.50", "ip-address-type": "ipv4", "prefix": 24}]}]
    newer = guest_interfaces({"kind": "lxc", "entry": {"vmid": 101}, "config": config, "interfaces": runtime})
    assert [i.ip_addresses for i in newer] == [["10.0.20.5/24", "2001:db8::5/64"], ["192.0.2.50/24"]]


@pytest.mark.parametrize("entry, expected", [
    ({"iface": "vmbr0", "type": "bridge", "active": 1, "cidr": "192.0.2.11/24", "bridge_ports": "bond0", "mtu": "9000"},
     ("bridge", True, 9000, ["192.0.2.11/24"], None, "ports: bond0")),
    ({"iface": "bond0", "type": "bond", "slaves": "eno1 eno2", "bond_mode": "802.3ad"},
     ("lag", False, None, [], None, "members: eno1 eno2 (802.3ad)")),
    ({"iface": "vmbr0.30", "type": "vlan", "active": 1, "address": "10.0.30.2", "netmask": "255.255.255.0",
      "address6": "2001:db8:30::2", "netmask6": "64", "comments": "mgmt\nsecond line"},
     ("virtual", True, None, ["10.0.30.2/24", "2001:db8:30::2/64"], 30, "mgmt")),
    ({"iface": "eno1", "type": "eth", "active": 1}, ("other", True, None, [], None, None)),
    ({"iface": "ovs1", "type": "OVSIntPort", "ovs_tag": "40"}, ("virtual", False, None, [], 40, None)),
])
def test_node_interfaces(entry, expected):
    interface = node_interface(entry)
    assert (interface.type, interface.enabled, interface.mtu, interface.ip_addresses, interface.vlan,
            interface.description) == expected


# ============================================================================ against the sandbox


@pytest.fixture
def pve():
    with ProxmoxSandbox(token_id="root@pam!netbox-pipeline", secret=SECRET, password="pw-of-root") as sandbox:
        yield sandbox


def source_config(pve: ProxmoxSandbox, **overrides) -> ProxmoxSourceConfig:
    values = {"name": "lab", "host": "127.0.0.1", "port": pve.port, "user": pve.user,
              "token_name": pve.token_name, "token_value": SecretStr(SECRET), "timeout_s": 30}
    values.update(overrides)
    return ProxmoxSourceConfig(**values)


def collect(pve: ProxmoxSandbox, ca_cert="sandbox", **overrides):
    return collect_proxmox(source_config(pve, **overrides), observed_at=NOW, defaults=DEFAULTS,
                           ca_cert=pve.ca_cert_path if ca_cert == "sandbox" else ca_cert)


def by_name(result, record_type):
    return {r.name: r for r in result.of_type(record_type)}


def test_collects_cluster_nodes_and_guests(pve):
    result = collect(pve)
    assert (result.status, result.error) == ("ok", None)
    assert result.counts() == {"cluster": 1, "device": 3, "virtual_machine": 8}  # the template is skipped
    (cluster,) = result.of_type("cluster")
    assert (cluster.name, cluster.type, cluster.site) == ("lab", "Proxmox VE", "home")
    node = by_name(result, "device")["pve1"]
    assert (node.cluster, node.site, node.role, node.manufacturer, node.model, node.platform, node.status) == (
        "lab", "home", "server", "Generic", "Generic device", "Proxmox VE", "active")
    assert node.primary_ip4 == "192.0.2.11"
    assert {i.name: i.type for i in node.interfaces} == {
        "bond0": "lag", "eno1": "other", "eno2": "other", "eno3": "other", "vmbr0": "bridge",
        "vmbr0.20": "virtual", "vmbr1": "bridge"}
    vms = by_name(result, "virtual_machine")
    web = vms["web01"]
    assert (web.device, web.status, web.vcpus, web.memory_mb, web.platform, web.tags) == (
        "pve1", "active", 2, 4096, "Linux", ["prod", "web"])
    assert web.custom_fields == {VMID_FIELD: 100} and web.primary_ip4 == "10.0.20.10"
    assert [(d.name, d.size_mb) for d in web.disks] == [("scsi0", 32768)]
    assert (vms["db01"].vcpus, len(vms["db01"].interfaces), vms["db01"].interfaces[1].ip_addresses) == (
        8, 2, ["198.51.100.20/24"])
    assert (vms["win01"].status, vms["win01"].platform) == ("offline", "Windows 11")
    assert (vms["build01"].status, vms["mqtt01"].platform) == ("paused", "Alpine Linux")
    assert vms["dns01"].interfaces[0].ip_addresses == ["10.0.20.5/24"]  # from /lxc/101/interfaces
    assert vms["legacy01"].interfaces[0].ip_addresses == ["10.0.20.40/24"]  # agent-less: cloud-init
    assert vms["web01"].provenance["memory_mb"].location.endswith("/nodes/pve1/qemu/100/config")
    assert vms["web01"].provenance["role"].location == "config"


def test_agent_is_asked_only_where_enabled_and_running(pve):
    collect(pve)
    agent_calls = sorted(e.path for e in pve.requests if "/agent/" in e.path)
    assert agent_calls == [f"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces"
                           for node, vmid in (("pve1", 100), ("pve2", 102), ("pve3", 106))]
    assert all(e.auth == "token" for e in pve.requests)
    assert not any("/9000/" in e.path for e in pve.requests)  # templates are not read


def test_agent_error_on_one_vm_is_a_warning(pve):
    pve.set_agent(102, "error")
    result = collect(pve)
    assert result.status == "ok" and result.counts()["virtual_machine"] == 8
    assert any("VM 102 (db01) on pve2: guest agent: 500" in w and "got timeout" in w for w in result.warnings)
    assert any("VM 106 (app02) on pve3: guest agent: 500 QEMU guest agent is not running" in w
               for w in result.warnings)
    vms = by_name(result, "virtual_machine")
    assert vms["db01"].interfaces[0].ip_addresses == [] and vms["web01"].interfaces[0].ip_addresses


def test_verify_ssl_refuses_the_self_signed_certificate(pve):
    result = collect(pve, ca_cert=None)
    assert result.status == "failed" and result.records == []
    assert f"127.0.0.1:{pve.port}" in result.error
    assert "TLS error: the server certificate is not trusted" in result.error
    assert "ca_cert" in result.error and SECRET not in result.error


def test_a_missing_ca_cert_file_is_named(pve, tmp_path):
    result = collect(pve, ca_cert=tmp_path / "nope.pem")
    assert result.status == "failed"
    assert result.error == f"proxmox 127.0.0.1:{pve.port}: ca_cert {tmp_path / 'nope.pem'} is not a readable file (a PEM CA certificate)"


def test_verify_ssl_false_accepts_it(pve):
    assert collect(pve, ca_cert=None, verify_ssl=False).status == "ok"


def test_bad_token_fails_the_instance_without_leaking_it(pve):
    result = collect(pve, token_value=SecretStr("wrong-secret"))
    assert result.status == "failed"
    assert result.error == (f"proxmox 127.0.0.1:{pve.port} GET /api2/json/version: authentication failed "
                            "(401 invalid token value!); check user, token_name and token_value")
    assert "wrong-secret" not in result.error


def test_unreachable_cluster_fails_the_instance(pve):
    port = pve.port
    pve.stop()
    config = ProxmoxSourceConfig(name="lab", host="127.0.0.1", port=port, token_name="x",
                                 token_value=SecretStr(SECRET), timeout_s=2)
    result = collect_proxmox(config, observed_at=NOW)
    assert result.status == "failed"
    assert result.error == f"proxmox 127.0.0.1:{port} GET /api2/json/version: cannot connect: Connection refused"


def test_no_credentials_is_a_clear_failure(pve):
    result = collect(pve, token_name=None, token_value=None)
    assert result.status == "failed" and "no credentials configured" in result.error


def test_password_auth_uses_a_ticket(pve):
    result = collect(pve, token_name=None, token_value=None, password=SecretStr("pw-of-root"))
    assert result.status == "ok"
    assert pve.requests[0].path == "/access/ticket" and pve.requests[-1].auth == "ticket"
    wrong = collect(pve, token_name=None, token_value=None, password=SecretStr("nope-pw"))
    assert wrong.status == "failed" and "user or password rejected" in wrong.error
    assert "nope-pw" not in wrong.error


def test_offline_node_fails_the_instance_so_nothing_is_pruned(pve):
    pve.set_node_online("pve2", False)
    result = collect(pve)
    assert result.status == "failed"
    assert "node pve2 is offline" in result.error


def test_api_error_names_the_request(pve):
    pve.fail(r"/nodes/pve3/network", 403, "Permission check failed (/nodes/pve3, Sys.Audit)")
    result = collect(pve)
    assert result.status == "failed"
    assert result.error == (f"proxmox 127.0.0.1:{pve.port} GET /api2/json/nodes/pve3/network: permission "
                            "denied (403 Permission check failed (/nodes/pve3, Sys.Audit)); the token needs the "
                            "PVEAuditor role on / (and privilege separation off or the same role for the token)")


def test_older_release_takes_container_addresses_from_the_config():
    with ProxmoxSandbox(secret=SECRET, lxc_interfaces=False) as old:
        result = collect_proxmox(ProxmoxSourceConfig(
            name="old", host="127.0.0.1", port=old.port, user=old.user, token_name=old.token_name,
            token_value=SecretStr(SECRET)), observed_at=NOW, ca_cert=old.ca_cert_path)
        assert any(e.status == 501 for e in old.requests)
    assert result.status == "ok" and not [w for w in result.warnings if "interfaces" in w]
    assert by_name(result, "virtual_machine")["dns01"].interfaces[0].ip_addresses == ["10.0.20.5/24"]


def test_standalone_host_is_named_from_config():
    with ProxmoxSandbox(secret=SECRET, nodes=1) as single:
        config = ProxmoxSourceConfig(name="solo", host="127.0.0.1", port=single.port, user=single.user,
                                     token_name=single.token_name, token_value=SecretStr(SECRET),
                                     cluster_name="homelab", site="attic")
        result = collect_proxmox(config, observed_at=NOW, ca_cert=single.ca_cert_path)
    (cluster,) = result.of_type("cluster")
    assert (cluster.name, cluster.site) == ("homelab", "attic")
    assert {d.cluster for d in result.of_type("device")} == {"homelab"}


def test_duplicate_names_are_disambiguated_with_a_warning(pve):
    pve.rename(104, "web01")
    result = collect(pve)
    names = set(by_name(result, "virtual_machine"))
    assert {"web01 (100)", "web01 (104)"} <= names and "web01" not in names
    assert any("'web01' is used by more than one guest" in w for w in result.warnings)


def test_no_secret_in_anything_stored(pve):
    result = collect(pve)
    stored = json.dumps([r.model_dump(mode="json") for r in result.records] + result.raw_records + result.warnings,
                        default=str)
    assert SECRET not in stored


def test_raw_records_pair_with_records(pve):
    result = collect(pve)
    assert len(result.raw_records) == len(result.records)
    web = next(r for r in result.raw_records if r["record_key"] == "lab/web01")
    assert web["record_type"] == "virtual_machine" and web["payload"]["config"]["name"] == "web01"


def test_registry_and_config_file(pve, tmp_path, monkeypatch):
    assert SOURCES["proxmox"].asset_name == "proxmox_inventory"
    (tmp_path / "ca.pem").write_bytes(pve.ca_cert_path.read_bytes())
    monkeypatch.setenv("PVE_TOKEN", SECRET)
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text(f"""
sources:
  proxmox:
    - name: lab
      host: 127.0.0.1
      port: {pve.port}
      user: {pve.user}
      token_name: {pve.token_name}
      token_value: ${{PVE_TOKEN}}
      ca_cert: ca.pem
      site: Basement
      node_role: Hypervisor
      vm_role: Guest
      container_role: Container
""")
    config = load_config(path)
    (instance,) = config.sources.proxmox
    result = SOURCES["proxmox"].collect(instance, collect_context(config, NOW))
    assert result.status == "ok", result.error
    vms = by_name(result, "virtual_machine")
    assert (vms["web01"].role, vms["dns01"].role, vms["web01"].site) == ("Guest", "Container", "Basement")
    assert {d.role for d in result.of_type("device")} == {"Hypervisor"}


# ============================================================================ end to end through the core


VLAN_TEMPLATE = {
    "id": 0, "url": "", "display_url": "", "display": "", "site": None, "group": None, "vid": 0, "name": "",
    "tenant": None, "status": {"value": "active", "label": "Active"}, "role": None, "description": "",
    "qinq_role": None, "qinq_svlan": None, "comments": "", "l2vpn_termination": None, "tags": [],
    "custom_fields": {}, "created": "2026-11-20T23:09:09Z", "last_updated": "2026-11-20T23:09:09Z",
    "prefix_count": 0,
}
DISK_TEMPLATE = {
    "id": 0, "url": "", "display_url": "", "display": "", "virtual_machine": None, "name": "",
    "description": "", "size": 0, "tags": [], "custom_fields": {}, "created": "2026-11-20T23:09:09Z",
    "last_updated": "2026-11-20T23:09:09Z",
}


class ProxmoxFakeNetBox(FakeNetBox):
    """The round-trip fake NetBox, also rendering the VLANs and virtual disks the mapping writes."""

    def __init__(self, version: str = "4.4"):
        super().__init__(version)
        self.templates["vlans"] = dict(VLAN_TEMPLATE, **({"owner": None} if version == "4.6" else {}))
        self.templates["virtual_disks"] = dict(DISK_TEMPLATE, **({"owner": None} if version == "4.6" else {}))

    def apply_and_follow(self, plan) -> None:
        """Apply, then move object-map entries to renamed keys (what the apply layer must do)."""
        self.apply(plan)
        for (type_name, old), new in plan.renamed.items():
            entry = self.object_map.pop((type_name, old), None)
            if entry is not None:
                self.object_map.setdefault((type_name, new), entry)


def plan_for(pve_results, netbox: ProxmoxFakeNetBox, **options):
    results = pve_results if isinstance(pve_results, list) else [pve_results]
    desired = desired_objects(merge(results, default_precedence()), defaults=DEFAULTS)
    healthy = {(r.source_kind, r.instance) for r in results if r.healthy}
    plan = build_plan(desired, build_live(netbox.snapshot()), object_map=netbox.stored_object_map(),
                      healthy_instances=healthy,
                      policy=SyncPolicy(stable_keys=stable_keys(), **options))
    return desired, plan


def writes(plan):
    return [(i.type, i.key, i.action) for i in plan.items if i.action in ("create", "update", "delete")]


@pytest.fixture(params=["4.4", "4.6"])
def synced(request, pve):
    netbox = ProxmoxFakeNetBox(request.param)
    desired, plan = plan_for(collect(pve), netbox)
    assert validate_plan(plan, desired) == []
    assert plan.totals()["create"] == desired.count()
    netbox.apply_and_follow(plan)
    return pve, netbox


def test_first_sync_lands_the_estate_and_a_rerun_writes_nothing(synced):
    pve, netbox = synced
    desired, again = plan_for(collect(pve), netbox)
    assert writes(again) == []
    assert again.totals()["unchanged"] == desired.count()
    snapshot = netbox.snapshot()
    names = {t: sorted(str(o.get("name") or o.get("address") or o.get("mac_address")) for o in objs)
             for t, objs in snapshot.items()}
    assert names["clusters"] == ["lab"] and names["cluster_types"] == ["Proxmox VE"]
    assert names["devices"] == ["pve1", "pve2", "pve3"]
    assert names["virtual_machines"] == ["app02", "build01", "db01", "dns01", "legacy01", "mqtt01", "web01", "win01"]
    assert names["vlans"] == ["VLAN 20"]
    assert len(snapshot["virtual_disks"]) == 10 and len(snapshot["vm_interfaces"]) == 9
    web = next(v for v in snapshot["virtual_machines"] if v["name"] == "web01")
    assert web["custom_fields"][VMID_FIELD] == 100 and web["device"]["name"] == "pve1"
    assert web["primary_ip4"]["address"] == "10.0.20.10/24"
    interface = next(i for i in snapshot["vm_interfaces"] if i["virtual_machine"]["name"] == "web01")
    assert interface["mode"]["value"] == "access" and interface["untagged_vlan"]["name"] == "VLAN 20"
    disk = next(d for d in snapshot["virtual_disks"] if d["virtual_machine"]["name"] == "db01" and d["name"] == "scsi1")
    assert disk["size"] == 204800
    node = next(d for d in snapshot["devices"] if d["name"] == "pve2")
    assert node["cluster"]["name"] == "lab" and node["primary_ip4"]["address"] == "192.0.2.12/24"
    assert {i["address"] for i in snapshot["ip_addresses"]} >= {"10.0.20.5/24", "192.0.2.11/24", "2001:db8::11/64"}


def test_renamed_vm_is_updated_in_place(synced):
    pve, netbox = synced
    vm_id = netbox.find("virtual_machines", name="web01")
    pve.rename(100, "frontend01")
    _, plan = plan_for(collect(pve), netbox)
    assert writes(plan) == [("virtual_machines", ("lab", "frontend01"), "update")]
    item = plan.item("virtual_machines", ("lab", "frontend01"))
    assert item.netbox_id == vm_id and item.payload_fields == {"name": "frontend01"}
    assert item.renamed_from == ("lab", "web01") and item.reason.startswith("renamed from lab/web01")
    assert plan.by_action("orphan") == []
    interface = plan.item("vm_interfaces", ("lab", "frontend01", "net0"))
    assert interface.action == "unchanged" and interface.renamed_from == ("lab", "web01", "net0")
    assert plan.index.resolve_id("virtual_machines", ("lab", "frontend01")) == vm_id
    netbox.apply_and_follow(plan)
    _, again = plan_for(collect(pve), netbox)
    assert writes(again) == [] and again.by_action("orphan") == []
    assert [v["name"] for v in netbox.snapshot()["virtual_machines"]].count("frontend01") == 1


def test_vm_moved_to_another_node_is_updated(synced):
    pve, netbox = synced
    pve.move(102, "pve3")
    _, plan = plan_for(collect(pve), netbox)
    assert writes(plan) == [("virtual_machines", ("lab", "db01"), "update")]
    assert plan.item("virtual_machines", ("lab", "db01")).changes == {"device": (("home", "pve2"), ("home", "pve3"))}


def test_removed_vm_is_an_orphan_then_deleted_after_grace(synced):
    pve, netbox = synced
    pve.remove(104)
    _, plan = plan_for(collect(pve), netbox)
    assert writes(plan) == []
    orphans = {(i.type, i.key) for i in plan.by_action("orphan")}
    assert {("virtual_machines", ("lab", "legacy01")), ("vm_interfaces", ("lab", "legacy01", "net0")),
            ("virtual_disks", ("lab", "legacy01", "virtio0")), ("ip_addresses", ("", "10.0.20.40"))} <= orphans
    netbox.apply_and_follow(plan)
    for _ in range(2):
        _, plan = plan_for(collect(pve), netbox)
        netbox.apply_and_follow(plan)
    deleted = {(i.type, i.key) for i in plan.deletions()}
    assert ("virtual_machines", ("lab", "legacy01")) in deleted and len(deleted) == 5
    assert "legacy01" not in {v["name"] for v in netbox.snapshot()["virtual_machines"]}


def test_unreachable_cluster_deletes_nothing(synced):
    pve, netbox = synced
    port = pve.port
    pve.stop()
    down = collect_proxmox(ProxmoxSourceConfig(name="lab", host="127.0.0.1", port=port, token_name="x",
                                               token_value=SecretStr(SECRET), timeout_s=2), observed_at=NOW)
    assert down.status == "failed"
    for ident in netbox.object_map:
        netbox.object_map[ident]["missing_runs"] = 5
    _, plan = plan_for(down, netbox)
    assert writes(plan) == []
    item = plan.item("virtual_machines", ("lab", "web01"))
    assert item.action == "orphan" and "proxmox/lab did not succeed" in item.reason


def test_agent_error_on_one_vm_leaves_the_rest_intact(synced):
    pve, netbox = synced
    pve.set_agent(100, "error")
    _, plan = plan_for(collect(pve), netbox)
    assert writes(plan) == []
    orphans = {(i.type, i.key) for i in plan.by_action("orphan")}
    assert orphans == {("ip_addresses", ("", "10.0.20.10"))}  # the address only the agent knew
    assert plan.item("virtual_machines", ("lab", "web01")).action == "unchanged"


def test_vmid_custom_field_is_declared():
    spec = declared_custom_fields()[VMID_FIELD]
    assert (spec.type, spec.object_types) == ("integer", ("virtualization.virtualmachine",))


# ============================================================================ renames in the pure core


def tiny_snapshot(vm_name: str = "app") -> dict:
    """What fetch_snapshot returns for one node with one VM (no I/O needed)."""
    return {
        "version": {"version": "8.2.4"}, "warnings": [],
        "cluster_status": [{"type": "node", "name": "solo", "ip": "192.0.2.5"}],
        "nodes": [{
            "node": {"node": "solo", "status": "online"}, "status": {},
            "network": [{"iface": "vmbr0", "type": "bridge", "active": 1, "cidr": "192.0.2.5/24"}],
            "guests": [{"kind": "qemu", "entry": {"vmid": 300, "status": "running"}, "interfaces": None,
                        "config": {"name": vm_name, "cores": 1, "memory": "1024", "agent": "1",
                                   "net0": "virtio=BC:24:11:00:03:00,bridge=vmbr0",
                                   "scsi0": "local:300/vm-300-disk-0.qcow2,size=10G"},
                        "agent": {"result": [{"hardware-address": "bc:24:11:00:03:00", "ip-addresses": [
                            {"ip-address": "192.0.2.30", "ip-address-type": "ipv4", "prefix": 24}]}]}}],
        }],
    }


def tiny_result(vm_name: str = "app"):
    from netbox_pipeline.sources.proxmox import ProxmoxOptions, normalise_snapshot

    return normalise_snapshot(tiny_snapshot(vm_name), ProxmoxOptions(site="home", cluster_name="solo-cluster"),
                              instance="lab", observed_at=NOW)


def test_normalise_a_standalone_snapshot_without_io():
    result = tiny_result()
    assert [c.name for c in result.of_type("cluster")] == ["solo-cluster"]
    (vm,) = result.of_type("virtual_machine")
    assert (vm.cluster, vm.device, vm.interfaces[0].ip_addresses, vm.disks[0].size_mb) == (
        "solo-cluster", "solo", ["192.0.2.30/24"], 10240)


def test_rename_moves_children_and_references_in_the_plan():
    netbox = ProxmoxFakeNetBox()
    _, first = plan_for(tiny_result("app"), netbox)
    netbox.apply_and_follow(first)
    _, plan = plan_for(tiny_result("app-renamed"), netbox)
    assert writes(plan) == [("virtual_machines", ("solo-cluster", "app-renamed"), "update")]
    moved = {("vm_interfaces", ("solo-cluster", "app", "net0")): ("solo-cluster", "app-renamed", "net0"),
             ("virtual_disks", ("solo-cluster", "app", "scsi0")): ("solo-cluster", "app-renamed", "scsi0"),
             ("mac_addresses", ("vm_interfaces", "solo-cluster", "app", "net0", "BC:24:11:00:03:00")):
                 ("vm_interfaces", "solo-cluster", "app-renamed", "net0", "BC:24:11:00:03:00")}
    assert moved.items() <= plan.renamed.items()
    address = plan.live["ip_addresses"][("", "192.0.2.30")]
    assert address.fields["assigned_object"] == ("vm_interfaces", ("solo-cluster", "app-renamed", "net0"))


def test_without_a_vmid_a_rename_is_still_a_new_vm():
    """Other sources carry no stable id: their renamed VM is created and the old one orphaned."""
    netbox = ProxmoxFakeNetBox()
    result = tiny_result("app")
    for record in result.records:
        if hasattr(record, "custom_fields"):
            record.custom_fields = {}
    _, first = plan_for(result, netbox)
    netbox.apply_and_follow(first)
    renamed = tiny_result("app-renamed")
    for record in renamed.records:
        if hasattr(record, "custom_fields"):
            record.custom_fields = {}
    _, plan = plan_for(renamed, netbox)
    assert plan.renamed == {}
    assert plan.item("virtual_machines", ("solo-cluster", "app-renamed")).action == "create"
    assert plan.item("virtual_machines", ("solo-cluster", "app")).action == "orphan"


def test_an_invalid_guest_is_a_located_record_error_not_a_crash():
    from netbox_pipeline.sources.proxmox import ProxmoxOptions, normalise_snapshot

    snapshot = tiny_snapshot()
    snapshot["nodes"][0]["guests"][0]["config"]["memory"] = "-5"
    result = normalise_snapshot(snapshot, ProxmoxOptions(), instance="lab", observed_at=NOW,
                                base_url="https://pve:8006/api2/json")
    assert result.status == "ok" and result.of_type("virtual_machine") == []
    (error,) = result.errors
    assert (error.location, error.record_key, error.field) == (
        "https://pve:8006/api2/json/nodes/solo/qemu/300/config", "qemu/300", "memory_mb")
