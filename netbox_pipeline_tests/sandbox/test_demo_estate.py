import ipaddress
from datetime import datetime, timezone

import pytest

from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import build_plan, validate_plan
from netbox_pipeline.sandbox.demo_estate import (
    demo_records,
    generate_bench_inventory,
    interfaces_cell,
    write_demo_inventory,
)
from netbox_pipeline.sources.filesystem import parse_interfaces_cell, read_inventory_file

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
DOC_RANGES = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def load(paths):
    return [read_inventory_file(p, p.stem, observed_at=NOW) for p in paths]


def test_demo_files_load_without_errors(tmp_path):
    paths = write_demo_inventory(tmp_path)
    assert [p.name for p in paths] == ["demo-1-yaml.yaml", "demo-2-json.json", "demo-3-csv.csv", "demo-4-datacenter.yaml"]
    results = load(paths)
    assert [(r.status, r.errors) for r in results] == [("ok", [])] * 4
    inventory = merge(results, default_precedence())
    assert inventory.counts() == {"devices": 36, "virtual_machines": 10, "clusters": 1, "services": 0,
                                  "ip_addresses": 1, "inventory_items": 0, "regions": 2, "tenants": 1, "sites": 2,
                                  "vrfs": 1, "vlan_groups": 2, "vlans": 5, "prefixes": 5, "ip_ranges": 1, "cables": 3}
    assert inventory.conflicts == []


def test_demo_datacenter_puts_one_address_in_two_tables_and_cables_existing_ports(tmp_path):
    desired = desired_objects(merge(load(write_demo_inventory(tmp_path)), default_precedence()))
    switch = next(d for d in desired["devices"].values() if d.fields["name"] == "sw-home-01")
    mgmt0 = ("", "192.0.2.50")
    assert switch.fields["primary_ip4"] == mgmt0
    assert desired["ip_addresses"][mgmt0].fields["assigned_object"] == ("interfaces", ("home", "sw-home-01", "mgmt0"))
    oob = desired["ip_addresses"][("oob", "192.0.2.50")]
    assert (oob.fields["vrf"], oob.fields["tenant"], oob.fields["assigned_object"]) == (("oob",), ("home-it",), None)
    (pool,) = desired["ip_ranges"].values()
    assert (pool.key, pool.fields["role"]) == (("", "192.0.2.200", "192.0.2.249"), ("dhcp",))
    assert {key[0] for key in desired["prefixes"]} == {"", "oob"}
    ends = {tuple(sorted((c.fields["a_terminations"][0][1], c.fields["b_terminations"][0][1])))
            for c in desired["cables"].values()}
    assert ends == {(("home", "sw-home-01", "sfp1"), ("home", "sw-home-02", "sfp1")),
                    (("lab", "sw-lab-01", "sfp1"), ("lab", "sw-lab-02", "sfp1")),
                    (("home", "srv-home-01", "eno2"), ("home", "srv-home-02", "eno2"))}
    assert desired.problems == []


def test_demo_estate_is_realistic(tmp_path):
    inventory = merge(load(write_demo_inventory(tmp_path)), default_precedence())
    roles = {d.role for d in inventory.devices}
    assert roles == {"Switch", "Access Point", "Server", "UPS"}
    assert {d.site for d in inventory.devices} == {"home", "lab"}
    for site in ("home", "lab"):
        assert {d.role for d in inventory.devices if d.site == site} == roles
    addresses = [ipaddress.ip_interface(a) for d in inventory.devices for i in d.interfaces for a in i.ip_addresses]
    addresses += [ipaddress.ip_interface(a) for v in inventory.virtual_machines for i in v.interfaces for a in i.ip_addresses]
    assert all(any(a.ip in net for net in DOC_RANGES) for a in addresses)
    assert len({a.ip for a in addresses}) == len(addresses)
    assert all(d.interfaces and d.primary_ip4 for d in inventory.devices)
    assert {v.cluster for v in inventory.virtual_machines} == {"pve-demo"}


def test_demo_estate_plans_cleanly(tmp_path):
    desired = desired_objects(merge(load(write_demo_inventory(tmp_path)), default_precedence()))
    plan = build_plan(desired, {})
    assert validate_plan(plan, desired) == []
    assert plan.summary()["devices"]["create"] == 36


def test_same_seed_same_bytes_other_seed_other_estate(tmp_path):
    first = [p.read_bytes() for p in write_demo_inventory(tmp_path / "a", seed=7)]
    again = [p.read_bytes() for p in write_demo_inventory(tmp_path / "b", seed=7)]
    other = [p.read_bytes() for p in write_demo_inventory(tmp_path / "c", seed=8)]
    assert first == again and first != other


def test_demo_sizes_and_formats_are_parameters(tmp_path):
    paths = write_demo_inventory(tmp_path, devices=8, sites=("dc1",), vms=0, formats=("json", "yaml"))
    inventory = merge(load(paths), default_precedence())
    assert len(inventory.devices) == 8 and inventory.virtual_machines == [] and inventory.clusters == []
    assert len(inventory.cables) == 2 and len(inventory.prefixes) == 3  # one site: one uplink, no guest network
    with pytest.raises(ValueError, match="at most 2 sites"):
        demo_records(sites=("a", "b", "c"))


def test_bench_inventory(tmp_path):
    path = generate_bench_inventory(tmp_path / "bench.json", devices=200)
    result = read_inventory_file(path, "bench", observed_at=NOW)
    assert result.errors == [] and len(result.records) == 200
    assert all(len(d.interfaces) == 2 for d in result.records)
    assert sum(len(i.ip_addresses) for d in result.records for i in d.interfaces) == 400
    assert generate_bench_inventory(tmp_path / "again.json", devices=200).read_bytes() == path.read_bytes()


def test_bench_inventory_in_yaml_and_csv(tmp_path):
    for name in ("bench.yaml", "bench.csv"):
        path = generate_bench_inventory(tmp_path / name, devices=20, interfaces_per_device=3, ips_per_interface=2)
        result = read_inventory_file(path, "bench", observed_at=NOW)
        assert result.errors == [] and len(result.records) == 20
        assert sum(len(i.ip_addresses) for d in result.records for i in d.interfaces) == 120


def test_interfaces_cell_round_trips():
    interfaces = [{"name": "eth0", "type": "1000base-t", "mac": "02:00:00:00:00:01",
                   "ip_addresses": ["192.0.2.1/24", "192.0.2.2/24"], "description": "to core; left"},
                  {"name": "eth1", "enabled": False, "mtu": 9000}]
    parsed = parse_interfaces_cell(interfaces_cell(interfaces))
    assert parsed == [{"name": "eth0", "type": "1000base-t", "mac": "02:00:00:00:00:01",
                       "description": "to core; left", "ip_addresses": ["192.0.2.1/24", "192.0.2.2/24"]},
                      {"name": "eth1", "mtu": "9000", "enabled": "False"}]
