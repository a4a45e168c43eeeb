"""The nmap source: targets and config, privileges, the pure normaliser on recorded scans, and real
scans (loopback, and a namespace lab as root and as an unprivileged user)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from pydantic import ValidationError

from netbox_pipeline.config import ConfigError, PipelineConfig, load_config
from netbox_pipeline.model import Device, IPAddress, Service
from netbox_pipeline.netbox.schema import build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import SyncPolicy, build_plan, validate_plan
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.sources.base import SourceResult
from netbox_pipeline.sources.filesystem import read_inventory_file
from netbox_pipeline.sources.nmap import (
    NmapSourceConfig,
    Privileges,
    collect_nmap,
    combine_scans,
    detect_privileges,
    normalise_scan,
    parse_targets,
    scan_plan,
)
from netbox_pipeline.stages.collect import collect_context
from netbox_pipeline_tests.conftest import REPO_ROOT, require_real
from netbox_pipeline_tests.reconcile.test_plan import FakeNetBox, writes
from netbox_pipeline_tests.sources.nmap_lab import HOSTS, SCAN_PORTS, SCANNER_IP

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
ROOT = Privileges(True, "running as root")
NOBODY = Privileges(False, "euid 65534, no CAP_NET_RAW")


def config(**overrides) -> NmapSourceConfig:
    return NmapSourceConfig(**{"name": "lan", "hosts": "10.77.0.0/24", "site": "lab", **overrides})


def by_type(result: SourceResult) -> tuple[list[IPAddress], list[Device], list[Service]]:
    return result.of_type("ip_address"), result.of_type("device"), result.of_type("service")


def _port(state: str, name: str, product: str = "", version: str = "", extrainfo: str = "") -> dict:
    return {"state": state, "reason": "syn-ack", "name": name, "product": product, "version": version,
            "extrainfo": extrainfo, "conf": "10", "cpe": ""}


# A discovery pass and a service pass as python-nmap returned them for the lab (trimmed).
DISCOVERY = {"nmap": {"command_line": "nmap -oX - -sn -n -T4 10.77.0.0/24", "scaninfo": {}},
             "scan": {
    "10.77.0.1": {"hostnames": [{"name": "", "type": ""}], "addresses": {"ipv4": "10.77.0.1"},
                  "vendor": {}, "status": {"state": "up", "reason": "localhost-response"}},
    "10.77.0.11": {"hostnames": [{"name": "", "type": ""}],
                   "addresses": {"ipv4": "10.77.0.11", "mac": "52:54:00:77:00:11"},
                   "vendor": {"52:54:00:77:00:11": "QEMU virtual NIC"},
                   "status": {"state": "up", "reason": "arp-response"}},
    "10.77.0.12": {"hostnames": [{"name": "", "type": ""}],
                   "addresses": {"ipv4": "10.77.0.12", "mac": "00:50:56:77:00:12"},
                   "vendor": {"00:50:56:77:00:12": "VMware"},
                   "status": {"state": "up", "reason": "arp-response"}},
    "10.77.0.99": {"hostnames": [{"name": "", "type": ""}], "addresses": {"ipv4": "10.77.0.99"},
                   "vendor": {}, "status": {"state": "down", "reason": "no-response"}},
}}
SERVICES = {"nmap": {"command_line": "nmap -oX - -Pn -n -sV -O ..."}, "scan": {
    "10.77.0.11": {
        "hostnames": [{"name": "", "type": ""}],
        "addresses": {"ipv4": "10.77.0.11", "mac": "52:54:00:77:00:11"},
        "vendor": {"52:54:00:77:00:11": "QEMU virtual NIC"},
        "status": {"state": "up", "reason": "user-set"},
        "tcp": {22: _port("open", "ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3", "protocol 2.0"),
                25: _port("closed", "smtp"),
                80: _port("open", "http", "SimpleHTTPServer", "0.6", "Python 3.11.7"),
                8080: _port("open", "http", "nginx"),
                9999: _port("open", "unknown"),
                8443: _port("filtered", "https-alt")},
        "osmatch": [{"name": "Linux 3.2", "accuracy": "95"}, {"name": "Linux 5.3 - 5.4", "accuracy": "96"}],
    },
    "10.77.0.12": {
        "hostnames": [{"name": "", "type": ""}],
        "addresses": {"ipv4": "10.77.0.12", "mac": "00:50:56:77:00:12"},
        "vendor": {"00:50:56:77:00:12": "VMware"},
        "status": {"state": "up", "reason": "user-set"},
        "tcp": {25: _port("open", "smtp", "Postfix smtpd")},
        "osmatch": [{"name": "Linux 2.6.32", "accuracy": "85"}],
    },
    "10.77.0.1": {"hostnames": [{"name": "", "type": ""}], "addresses": {"ipv4": "10.77.0.1"},
                  "vendor": {}, "status": {"state": "up", "reason": "user-set"}, "tcp": {}},
}}


def recorded(**overrides) -> SourceResult:
    return normalise_scan(combine_scans(DISCOVERY, SERVICES), config(**overrides), NOW)


# ------------------------------------------------------------------------------ targets and config


def test_targets_of_every_syntax_with_their_sizes():
    targets = parse_targets("10.0.0.0/24 10.0.1.5, 10.0.2.1-20 10.0.3.250-10.0.4.5 10.0.5,7.1-2")
    assert [(t.text, t.size) for t in targets] == [
        ("10.0.0.0/24", 256), ("10.0.1.5", 1), ("10.0.2.1-20", 20),
        ("10.0.3.250-10.0.4.5", 12), ("10.0.5,7.1-2", 4)]
    assert targets[3].nmap_specs == ("10.0.3.250/31", "10.0.3.252/30", "10.0.4.0/30", "10.0.4.4/31")
    assert config(hosts=["10.0.0.1,10.0.0.2", "10.0.0.8/30"]).targets() == ["10.0.0.1", "10.0.0.2", "10.0.0.8/30"]


@pytest.mark.parametrize("hosts, problem", [
    ("10.0.0.300", "is not an IPv4 address, CIDR network"),
    ("10.0.0.0/33", "is not an IPv4 address, CIDR network"),
    ("nas.lan", "host names are not accepted"),
    ("10.0.0.9-10.0.0.1", "range ends before it starts"),
    ("10.0.0.1-300", "is not an IPv4 address"),
    ("fe80::1", "IPv6 targets are not supported"),
    ("-iL /etc/hosts", "is an option, not a target"),
    ("", "no targets given"),
])
def test_malformed_target_is_a_config_error_naming_the_instance(tmp_path, hosts, problem):
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text(f"sources:\n  nmap:\n    - name: lan\n      hosts: {json.dumps(hosts)}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (message,) = raised.value.problems
    assert message.startswith(f"{path}:3: sources.nmap[0]: ")
    assert "nmap instance 'lan': hosts" in message and problem in message


def test_a_target_larger_than_the_limit_is_refused_unless_allowed():
    with pytest.raises(ValidationError, match=r"nmap instance 'lan': hosts cover 131072 addresses, "
                                              r"more than max_addresses 65536.*allow_large: true"):
        config(hosts="10.0.0.0/15")
    assert config(hosts="10.0.0.0/16").targets() == ["10.0.0.0/16"]  # the default limit is /16
    assert config(hosts="10.0.0.0/15", allow_large=True).targets() == ["10.0.0.0/15"]
    with pytest.raises(ValidationError, match="hosts cover 257 addresses, more than max_addresses 256"):
        config(hosts=["10.0.0.0/24", "10.0.1.1"], max_addresses=256)


@pytest.mark.parametrize("arguments, problem", [
    ("-T4 -oX out.xml", "-oX: output options are not allowed"),
    ("-iL targets.txt", "-iL is not allowed"),
    ("-sV 192.0.2.1", "'192.0.2.1' looks like a scan target"),
    ("-sV -D RND:5", "-D is not allowed"),
    ("-p '22", "cannot parse"),
])
def test_unsafe_arguments_are_refused(arguments, problem):
    with pytest.raises(ValidationError, match=rf"nmap instance 'lan': service_arguments: .*{problem}"):
        config(service_arguments=arguments)


def test_reasonable_arguments_pass():
    instance = config(arguments="-T4 --max-retries 1 --exclude 10.77.0.5", service_arguments="-sV -p 22,80")
    assert instance.arguments.endswith("--exclude 10.77.0.5")


def test_device_name_pattern_and_status_are_checked():
    with pytest.raises(ValidationError, match=r"unknown placeholder\(s\) \['serial'\]"):
        config(device_name="{serial}")
    with pytest.raises(ValidationError, match="names every host alike"):
        config(device_name="scanned-{instance}")
    with pytest.raises(ValidationError, match="invalid device status 'gone'"):
        config(device_status="gone")
    assert config(device_status="Offline").device_status == "offline"


# ------------------------------------------------------------------------------ privileges and arguments


def test_privileges_come_from_root_or_an_inherited_cap_net_raw(tmp_path):
    full = "CapEff:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"
    none_ = "CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"
    ambient = f"CapEff:\t{1 << 13:016x}\nCapAmb:\t{1 << 13:016x}\n"
    effective_only = f"CapEff:\t{1 << 13:016x}\nCapAmb:\t0000000000000000\n"
    assert detect_privileges(euid=0, proc_status=full) == ROOT
    capable = detect_privileges(euid=1000, proc_status=ambient)
    assert capable.raw_sockets and capable.privileged_flag
    assert not detect_privileges(euid=1000, proc_status=effective_only).raw_sockets  # lost on exec
    nobody = detect_privileges(euid=65534, proc_status=none_, nmap_path=str(tmp_path / "nmap"))
    assert not nobody.raw_sockets and nobody.reason == "euid 65534, no CAP_NET_RAW"
    assert not detect_privileges(euid=0, proc_status=none_).raw_sockets  # root, capabilities dropped


def test_file_capabilities_on_the_nmap_binary_count(tmp_path):
    require_real(shutil.which("setcap") is not None and os.geteuid() == 0, "setcap, run as root")
    binary = tmp_path / "nmap-caps"
    shutil.copy("/bin/true", binary)
    subprocess.run(["setcap", "cap_net_raw,cap_net_admin+eip", str(binary)], check=True)
    capable = detect_privileges(euid=65534, proc_status="CapAmb:\t0000000000000000\n", nmap_path=str(binary))
    assert capable == Privileges(True, f"{binary} carries CAP_NET_RAW (euid 65534)", privileged_flag=True)


def test_scan_plan_skips_dns_and_adapts_to_privileges():
    instance = config(arguments="-sn -n -T4", service_arguments="-sS -sV -p 22,80 --max-retries 1 --min-rate 1",
                      os_detection=True)
    plan = scan_plan(instance, ROOT)
    assert plan.discovery == "-sn -n -T4"
    assert plan.services == "-Pn -n -sS -sV -p 22,80 --max-retries 1 --min-rate 1 -O --osscan-guess"
    unprivileged = scan_plan(instance, NOBODY)
    assert unprivileged.services == "-Pn -n -sT -sV -p 22,80 --max-retries 1 --min-rate 1"
    assert unprivileged.dropped == ("-sS", "-O", "--osscan-guess")
    capable = scan_plan(config(resolve_dns=True), Privileges(True, "cap", privileged_flag=True))
    assert capable == type(capable)("-sn --privileged -T4", None)


# ------------------------------------------------------------------------------ normalising recorded scans


def test_recorded_scan_becomes_addresses_devices_and_services():
    result = recorded(tags=["Scanned"])
    addresses, devices, services = by_type(result)
    assert result.status == "ok" and result.errors == []
    assert [a.address for a in addresses] == ["10.77.0.1", "10.77.0.11", "10.77.0.12"]  # down host left out
    assert {a.status for a in addresses} == {"active"} and addresses[0].tags == ["Scanned"]
    qemu = next(d for d in devices if d.name == "host-10-77-0-11")
    assert (qemu.site, qemu.manufacturer, qemu.status, qemu.primary_ip4) == ("lab", "QEMU virtual NIC", "active", "10.77.0.11")
    (nic,) = qemu.interfaces
    assert (nic.name, nic.mac, nic.ip_addresses) == ("nmap0", "52:54:00:77:00:11", ["10.77.0.11"])
    scanner = next(d for d in devices if d.name == "host-10-77-0-1")
    assert scanner.interfaces[0].mac is None and scanner.manufacturer is None
    assert qemu.provenance["interfaces[nmap0].mac"].location == "nmap lan 10.77.0.11"
    assert qemu.provenance["site"].location == "config sources.nmap lan"


def test_open_ports_become_services_grouped_by_name():
    services = {(s.parent, s.name): s for s in recorded().of_type("service")}
    assert set(services) == {("host-10-77-0-11", "ssh"), ("host-10-77-0-11", "http"),
                             ("host-10-77-0-11", "tcp-9999"), ("host-10-77-0-12", "smtp")}
    http = services[("host-10-77-0-11", "http")]
    assert (http.protocol, http.ports, http.parent_scope) == ("tcp", [80, 8080], "lab")
    assert http.description == "SimpleHTTPServer 0.6 (Python 3.11.7); nginx"
    assert services[("host-10-77-0-11", "ssh")].description == "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"
    assert services[("host-10-77-0-11", "tcp-9999")].description is None


def test_os_guess_sets_the_platform_only_above_the_accuracy():
    devices = {d.name: d for d in recorded(os_min_accuracy=90).of_type("device")}
    assert devices["host-10-77-0-11"].platform == "Linux 5.3 - 5.4"  # the most accurate match
    assert devices["host-10-77-0-12"].platform is None  # 85 % < 90 %
    lenient = {d.name: d for d in recorded(os_min_accuracy=80).of_type("device")}
    assert lenient["host-10-77-0-12"].platform == "Linux 2.6.32"


def test_ip_only_mode_records_addresses_alone():
    result = recorded(unknown_hosts="ip_only")
    assert result.counts() == {"ip_address": 3}


def test_names_from_dns_and_the_name_pattern():
    scan = {"scan": {"10.77.0.11": {**DISCOVERY["scan"]["10.77.0.11"],
                                    "hostnames": [{"name": "nas.lab.test", "type": "PTR"}]}}}
    result = normalise_scan(scan, config(resolve_dns=True, device_name="{hostname}", device_status="planned",
                                         role="Discovered"), NOW)
    (address,) = result.of_type("ip_address")
    (device,) = result.of_type("device")
    assert address.dns_name == "nas.lab.test"
    assert (device.name, device.status, device.role) == ("nas", "planned", "Discovered")
    by_mac = normalise_scan(scan, config(device_name="nmap-{mac}"), NOW).of_type("device")[0]
    assert by_mac.name == "nmap-525400770011"


def test_two_hosts_with_one_name_are_record_errors_not_a_silent_merge():
    hosts = {ip: {**DISCOVERY["scan"][ip], "hostnames": [{"name": f"box.{zone}", "type": "PTR"}]}
             for ip, zone in (("10.77.0.11", "a"), ("10.77.0.12", "b"))}
    result = normalise_scan({"scan": hosts}, config(device_name="{hostname}"), NOW)
    assert [d.name for d in result.of_type("device")] == ["box"]
    (error,) = result.errors
    assert (error.location, error.field) == ("nmap lan 10.77.0.12", "device_name")
    assert "also produced for 10.77.0.11" in error.message
    assert len(result.of_type("ip_address")) == 2  # the address still counts


def test_defaults_fill_site_and_role():
    result = normalise_scan(combine_scans(DISCOVERY), config(site=None), NOW,
                            defaults={"site": "home", "device_role": "server"})
    device = result.of_type("device")[0]
    assert (device.site, device.role) == ("home", "server")
    assert device.provenance["site"].location == "config sources.nmap lan"


def test_raw_records_match_the_records_for_staging():
    result = recorded()
    assert len(result.raw_records) == len(result.records)
    raw = result.raw_records[1]
    assert (raw["record_type"], raw["record_key"]) == ("device", "lab/host-10-77-0-1")
    json.dumps(result.raw_records)  # port numbers as keys must not break the staging DB
    assert "22" in result.raw_records[2]["payload"]["tcp"]


# ------------------------------------------------------------------------------ failures


def _fake_nmap(tmp_path: Path, body: str) -> str:
    script = tmp_path / "nmap"
    script.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Nmap version 7.93 ( https://nmap.org )"; exit 0; fi\n'
                      + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_missing_nmap_fails_the_instance_with_a_clear_message(tmp_path):
    result = collect_nmap(config(nmap_path=str(tmp_path / "no-such-nmap")), NOW, privileges=ROOT)
    assert (result.status, result.records) == ("failed", [])
    assert result.error.startswith("nmap instance 'lan': the nmap program was not found")
    assert "install nmap" in result.error


def test_failing_nmap_fails_the_instance(tmp_path):
    nmap_path = _fake_nmap(tmp_path, 'echo "Failed to open device eth9" >&2; exit 1')
    result = collect_nmap(config(nmap_path=nmap_path), NOW, privileges=ROOT)
    assert result.status == "failed"
    assert result.error == "nmap instance 'lan': nmap -sn -n -T4 failed: Failed to open device eth9"
    other = SourceResult("filesystem", "rack", records=[Device(name="a", site="lab")])
    assert [d.name for d in merge([result, other], default_precedence()).devices] == ["a"]  # nothing else is touched


def test_a_scan_beyond_its_timeout_fails_the_instance(tmp_path):
    nmap_path = _fake_nmap(tmp_path, "exec sleep 30")
    result = collect_nmap(config(nmap_path=nmap_path, timeout_s=0.5), NOW, privileges=ROOT)
    assert result.status == "failed"
    assert "timed out: nmap -sn -n -T4 ran longer than timeout_s (0.5 s)" in result.error


# ------------------------------------------------------------------------------ the pure pipeline


INVENTORY = """
devices:
  - name: mail
    site: lab
    model: ESXi guest
    interfaces:
      - {name: eth0, type: 1000base-t, mac: "00-50-56-77-00-12"}
"""


def plan_for(*results: SourceResult):
    desired = desired_objects(merge(list(results), default_precedence()))
    return desired, build_plan(desired, {})


def inventory_file(tmp_path: Path) -> SourceResult:
    path = tmp_path / "rack.yaml"
    path.write_text(INVENTORY)
    return read_inventory_file(path, "rack", observed_at=NOW)


def test_recorded_scan_plans_the_expected_netbox_objects():
    desired, plan = plan_for(recorded())
    created = {(i.type, i.key) for i in plan.by_action("create")}
    assert {("ip_addresses", ("", ip)) for ip in ("10.77.0.1", "10.77.0.11", "10.77.0.12")} <= created
    assert {("manufacturers", ("qemu-virtual-nic",)), ("manufacturers", ("vmware",)),
            ("platforms", ("linux-5-3-5-4",))} <= created
    mac = next(o for o in desired["mac_addresses"].values() if o.fields["mac_address"] == "00:50:56:77:00:12")
    assert mac.fields["assigned_object"] == ("interfaces", ("lab", "host-10-77-0-12", "nmap0"))
    address = desired["ip_addresses"][("", "10.77.0.12")]
    assert (address.fields["status"], address.fields["assigned_object"][0]) == ("active", "interfaces")
    ssh = desired["services"][("devices", "lab", "host-10-77-0-11", "tcp", "ssh")]
    assert ssh.fields["ports"] == (22,) and ssh.fields["tags"] == ("netbox-pipeline", "source-nmap")
    assert [p for p in validate_plan(plan, desired) if p.severity == "error"] == []


def test_a_target_in_a_vrf_puts_its_addresses_there():
    desired, plan = plan_for(recorded(vrf="mgmt"))
    assert {key for key in desired["ip_addresses"]} == {("mgmt", ip) for ip in ("10.77.0.1", "10.77.0.11", "10.77.0.12")}
    assert set(desired["vrfs"]) == {("mgmt",)}
    device = desired["devices"][("lab", "host-10-77-0-12")]
    assert device.fields["primary_ip4"] == ("mgmt", "10.77.0.12")
    assert [p for p in validate_plan(plan, desired) if p.severity == "error"] == []


def test_a_mac_known_from_an_inventory_file_attaches_to_that_device(tmp_path):
    desired, _ = plan_for(recorded(), inventory_file(tmp_path))
    names = {key[1] for key in desired["devices"]}
    assert "mail" in names and "host-10-77-0-12" not in names
    interface = desired["interfaces"][("lab", "mail", "eth0")]
    assert interface.fields["type"] == "1000base-t"
    address = desired["ip_addresses"][("", "10.77.0.12")]
    assert address.fields["assigned_object"] == ("interfaces", ("lab", "mail", "eth0"))
    device = desired["devices"][("lab", "mail")]
    assert device.fields["device_type"] == ("vmware", "esxi-guest")  # vendor from the MAC
    assert device.source_kinds == {"filesystem", "nmap"}


def test_services_of_a_host_matched_by_mac_land_on_that_device(tmp_path):
    desired, _ = plan_for(recorded(), inventory_file(tmp_path))
    assert ("devices", "lab", "mail", "tcp", "smtp") in desired["services"]


def test_an_address_the_file_gives_with_prefix_length_is_not_a_collision(tmp_path):
    path = tmp_path / "rack.yaml"
    path.write_text(INVENTORY.replace('mac: "00-50-56-77-00-12"}',
                                      'mac: "00-50-56-77-00-12", ip_addresses: [10.77.0.12/24]}'))
    result = read_inventory_file(path, "rack", observed_at=NOW)
    desired, plan = plan_for(recorded(), result)
    assert [p.check for p in validate_plan(plan, desired) if p.severity == "error"] == []


def test_recorded_scan_round_trip_plans_nothing():
    desired, plan = plan_for(recorded())
    netbox = FakeNetBox("4.6")
    netbox.apply(plan)
    again = build_plan(desired, build_live(netbox.snapshot()), object_map=netbox.stored_object_map(),
                       healthy_instances={("nmap", "lan")})
    assert writes(again) == {"create": 0, "update": 0, "delete": 0}, [
        (i.type, i.key, i.changes) for i in again.writes()]


# ------------------------------------------------------------------------------ real scans: loopback


class _BannerServer(threading.Thread):
    def __init__(self, banner: bytes):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.banner = banner

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(self.banner)
                except OSError:
                    pass


@pytest.mark.nmap
def test_loopback_scan_finds_the_listeners_started_here():
    require_real(shutil.which("nmap") is not None, "the nmap binary")
    http = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    ssh = _BannerServer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    ssh.start()
    try:
        instance = config(hosts="127.0.0.1", service_arguments=f"-sV -T5 -p {http.server_port},{ssh.port}",
                          timeout_s=60)
        result = collect_nmap(instance, NOW)
    finally:
        http.shutdown()
        http.server_close()
        ssh.sock.close()
    assert result.status == "ok", result.error
    (address,) = result.of_type("ip_address")
    assert address.address == "127.0.0.1"
    services = {s.name: s for s in result.of_type("service")}
    assert services["http"].ports == [http.server_port]
    assert services["ssh"].ports == [ssh.port] and services["ssh"].description.startswith("OpenSSH 9.2p1")


# ------------------------------------------------------------------------------ real scans: the lab


@pytest.fixture(scope="module")
def lab_instance(nmap_lab) -> NmapSourceConfig:
    return NmapSourceConfig(name="lab", hosts=nmap_lab.subnet, site="lab",
                            service_arguments=f"-sV -T4 -p {SCAN_PORTS}", os_detection=True,
                            os_min_accuracy=90, timeout_s=180, nmap_path=nmap_lab.nmap_wrapper)


@pytest.fixture(scope="module")
def lab_scan(lab_instance) -> SourceResult:
    """`nmap_scan` materialised through the registry, as root, against the lab."""
    pipeline = PipelineConfig(sources={"nmap": [lab_instance.model_dump()]})
    result = SOURCES["nmap"].collect(pipeline.sources.nmap[0], collect_context(pipeline, NOW))
    assert result.status == "ok", result.error
    return result


@pytest.mark.nmap
def test_lab_scan_returns_every_host_with_mac_vendor_and_services(lab_scan):
    assert SOURCES["nmap"].asset_name == "nmap_scan"
    addresses, devices, services = by_type(lab_scan)
    assert [a.address for a in addresses] == [SCANNER_IP, *(h.ip for h in HOSTS)]
    assert lab_scan.warnings == [] and lab_scan.errors == []
    found = {d.primary_ip4: d for d in devices}
    for host in HOSTS:
        device = found[host.ip]
        assert device.name == f"host-{host.ip.replace('.', '-')}"
        assert (device.interfaces[0].mac, device.manufacturer) == (host.mac.upper(), host.vendor)
        ports = {(s.name, tuple(s.ports)) for s in services if s.parent == device.name}
        expected = {("http" if kind == "http" else kind, (port,)) for kind, port in host.listeners}
        assert ports == expected, host
    descriptions = {s.description for s in services}
    assert "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)" in descriptions
    assert "Postfix smtpd" in descriptions
    assert found[SCANNER_IP].interfaces[0].mac is None  # nmap sees no MAC for its own address


@pytest.mark.nmap
def test_lab_os_guesses_become_platforms_only_when_accurate(lab_scan, lab_instance):
    raw = {r["record_key"]: r["payload"] for r in lab_scan.raw_records if r["record_type"] == "ip_address"}
    for host in HOSTS:
        assert "osmatch" in raw[f"/{host.ip}"], "the OS pass ran"  # the global table's key
        matches = raw[f"/{host.ip}"]["osmatch"]
        top = max((int(m["accuracy"]) for m in matches), default=None)
        # nmap lists matches most likely first; among equally accurate ones the first wins
        best = next((m["name"] for m in matches if int(m["accuracy"]) == top), None)
        device = next(d for d in lab_scan.of_type("device") if d.primary_ip4 == host.ip)
        expected = best if top is not None and top >= lab_instance.os_min_accuracy else None
        assert device.platform == expected


@pytest.mark.nmap
def test_lab_scan_through_the_pipeline_plans_the_netbox_objects_and_round_trips(lab_scan):
    desired, plan = plan_for(lab_scan)
    created = {(i.type, i.key): i for i in plan.by_action("create")}
    for host in HOSTS:
        assert ("ip_addresses", ("", host.ip)) in created
        assert created[("ip_addresses", ("", host.ip))].payload_fields["status"] == "active"
    macs = {o.fields["mac_address"] for o in desired["mac_addresses"].values()}
    assert macs == {h.mac.upper() for h in HOSTS}
    manufacturers = {o.fields["name"] for o in desired["manufacturers"].values()}
    assert {h.vendor for h in HOSTS} <= manufacturers
    smtp = desired["services"][("devices", "lab", "host-10-77-0-12", "tcp", "smtp")]
    assert (smtp.fields["ports"], smtp.fields["description"]) == ((25,), "Postfix smtpd")
    assert [p for p in validate_plan(plan, desired) if p.severity == "error"] == []
    netbox = FakeNetBox("4.6")
    netbox.apply(plan)
    again = build_plan(desired, build_live(netbox.snapshot()), object_map=netbox.stored_object_map(),
                       healthy_instances={("nmap", "lab")})
    assert writes(again) == {"create": 0, "update": 0, "delete": 0}


@pytest.mark.nmap
def test_lab_mac_known_from_an_inventory_file_attaches_to_that_device(lab_scan, tmp_path):
    desired, _ = plan_for(lab_scan, inventory_file(tmp_path))
    names = {key[1] for key in desired["devices"]}
    assert "mail" in names and "host-10-77-0-12" not in names
    assert desired["ip_addresses"][("", "10.77.0.12")].fields["assigned_object"] == (
        "interfaces", ("lab", "mail", "eth0"))
    assert len(desired["devices"]) == 1 + len(HOSTS)  # the scanner, two lab hosts, and mail


@pytest.mark.nmap
def test_lab_unprivileged_scan_records_ips_and_services_but_no_macs_and_says_why(nmap_lab):
    """The collector itself runs as nobody inside the scanner namespace: detection is real."""
    code = (
        "import json, sys\n"
        "from datetime import datetime, timezone\n"
        "from netbox_pipeline.sources.nmap import NmapSourceConfig\n"
        "from netbox_pipeline.sources.nmap import collect_nmap\n"
        "c = NmapSourceConfig(name='lab', hosts=sys.argv[1], site='lab', os_detection=True,\n"
        "                     service_arguments='-sV -T4 -p ' + sys.argv[2], timeout_s=120)\n"
        "r = collect_nmap(c, datetime.now(timezone.utc))\n"
        "print(json.dumps({'status': r.status, 'error': r.error, 'warnings': r.warnings,\n"
        "                  'records': [dict(kind=type(x).__name__, **x.model_dump(mode='json'))\n"
        "                              for x in r.records]}))\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        ["ip", "netns", "exec", nmap_lab.scanner, "setpriv", "--reuid=65534", "--regid=65534",
         "--clear-groups", "--inh-caps=-all", sys.executable, "-c", code, nmap_lab.subnet, SCAN_PORTS],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["status"] == "ok", result["error"]
    (warning,) = result["warnings"]
    assert warning.startswith("nmap runs without root or CAP_NET_RAW (euid 65534, no CAP_NET_RAW): "
                              "MAC addresses, vendors and OS guesses cannot be collected")
    assert warning.endswith("Left out of this scan: -O --osscan-guess.")
    records = result["records"]
    assert [r["address"] for r in records if r["kind"] == "IPAddress"] == [SCANNER_IP, *(h.ip for h in HOSTS)]
    devices = [r for r in records if r["kind"] == "Device"]
    assert all(d["interfaces"][0]["mac"] is None and d["manufacturer"] is None and d["platform"] is None
               for d in devices)
    services = {(r["parent"], r["name"], tuple(r["ports"])) for r in records if r["kind"] == "Service"}
    assert ("host-10-77-0-12", "smtp", (25,)) in services and ("host-10-77-0-13", "http", (8123,)) in services
    assert len(services) == sum(len(h.listeners) for h in HOSTS)


@pytest.mark.nmap
def test_lab_stopped_listener_loses_its_service_only_after_the_grace_runs(nmap_lab, lab_instance, lab_scan):
    desired, plan = plan_for(lab_scan)
    netbox = FakeNetBox("4.6")
    netbox.apply(plan)
    host = HOSTS[2]
    gone = ("devices", "lab", "host-10-77-0-13", "tcp", "http")
    nmap_lab.stop_listener(host, 8123)
    try:
        rescan = collect_nmap(lab_instance.model_copy(update={"os_detection": False}), NOW)
    finally:
        nmap_lab.start_listener(host, 8123)
    assert rescan.status == "ok", rescan.error
    assert all(not (s.parent == "host-10-77-0-13" and s.name == "http") for s in rescan.of_type("service"))
    desired = desired_objects(merge([rescan], default_precedence()))
    actions = []
    for _ in range(3):
        plan = build_plan(desired, build_live(netbox.snapshot()), object_map=netbox.stored_object_map(),
                          healthy_instances={("nmap", "lab")},
                          policy=SyncPolicy(grace_runs=3, max_delete_ratio=1.0))
        actions.append(plan.item("services", gone).action)
        assert writes(plan)["delete"] == (1 if actions[-1] == "delete" else 0)
        netbox.apply(plan)
    assert actions == ["orphan", "orphan", "delete"]


def test_lab_teardown_removes_everything_even_when_setup_fails():
    from netbox_pipeline_tests.sources.nmap_lab import LabHost, NmapLab, lab_available

    available, why = lab_available()
    require_real(available, f"nmap namespace lab ({why})")
    bad = LabHost(1, "10.77.0.11", "not-a-mac", "none", (("http", 80),))
    lab = NmapLab(suffix=f"{os.getpid()}-broken", hosts=(bad,))
    with pytest.raises(RuntimeError, match="failed"):
        lab.start()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"-{os.getpid()}-broken" not in left
    assert lab.namespaces == [] and not Path(str(lab.workdir)).exists()
