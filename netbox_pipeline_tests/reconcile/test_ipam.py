"""Addresses in VRFs and IP ranges: parsing with located errors (YAML, JSON, CSV), identity by
(VRF, host) and (VRF, start, end), overlaps caught before NetBox would refuse them, a moved range
as one update, and NetBox's JSON read back under the same keys."""

import json
from datetime import datetime, timezone

import yaml

from netbox_pipeline.netbox.schema import OWNER_TAG, build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import build_plan, exclude_rejected, validate_plan
from netbox_pipeline.sources.filesystem import read_inventory_file

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
HEALTHY = [("filesystem", "ipam")]


def read(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return read_inventory_file(path, "ipam", observed_at=NOW)


def desired_from(tmp_path, data: dict):
    result = read(tmp_path, "ipam.yaml", yaml.safe_dump(data, sort_keys=False))
    assert result.errors == []
    return desired_objects(merge([result], default_precedence()))


RANGES = [
    {"start_address": "192.0.2.200/24", "end_address": "192.0.2.249/24", "vrf": "oob", "status": "reserved",
     "tenant": "Home IT", "role": "DHCP", "description": "pool"},
    {"start_address": "192.0.2.9", "end_address": "192.0.2.1"},
    {"start_address": "192.0.2.1/24", "end_address": "2001:db8::1/64"},
    {"start_address": "192.0.2.1/24", "end_address": "192.0.2.9/25"},
    {"start_address": "192.0.2.7/24", "end_address": "192.0.2.7/24"},
    {"start_address": "2001:db8::/64", "end_address": "2001:db8::1:0:0/64"},
]


def test_ip_ranges_and_vrf_addresses_parse_alike_in_every_format_with_located_errors(tmp_path):
    document = {"ip_ranges": RANGES, "ip_addresses": [{"address": "192.0.2.50/24", "vrf": "oob", "tenant": "Home IT"}]}
    rows = ["record_type,start_address,end_address,vrf,status,tenant,role,description,address",
            "ip_range,192.0.2.200/24,192.0.2.249/24,oob,reserved,Home IT,DHCP,pool,",
            "ip_range,192.0.2.9,192.0.2.1,,,,,,",
            "ip_range,192.0.2.1/24,2001:db8::1/64,,,,,,",
            "ip_range,192.0.2.1/24,192.0.2.9/25,,,,,,",
            "ip_range,192.0.2.7/24,192.0.2.7/24,,,,,,",
            "ip_range,2001:db8::/64,2001:db8::1:0:0/64,,,,,,",
            "ip_address,,,oob,,Home IT,,,192.0.2.50/24"]
    results = {
        "yaml": read(tmp_path, "r.yaml", yaml.safe_dump(document, sort_keys=False)),
        "json": read(tmp_path, "r.json", json.dumps(document, indent=0).replace("\n{", "{").replace("\n\"", "\"")),
        "csv": read(tmp_path, "r.csv", "\n".join(rows) + "\n"),
    }
    for fmt, result in results.items():
        assert result.counts() == {"ip_range": 1, "ip_address": 1}, fmt
        (pool,) = result.of_type("ip_range")
        assert (pool.key, pool.status, pool.tenant, pool.role) == (("oob", "192.0.2.200", "192.0.2.249"),
                                                                   "reserved", "Home IT", "DHCP"), fmt
        (address,) = result.of_type("ip_address")
        assert (address.key, address.tenant) == (("oob", "192.0.2.50"), "Home IT"), fmt
        errors = [(e.location.rsplit(":", 1)[1], e.record_key, e.field, e.message) for e in result.errors]
        assert [e[2] for e in errors] == ["end_address"] * 5, fmt
        assert [e[3] for e in errors] == [
            "end 192.0.2.1 is before start 192.0.2.9",
            "start 192.0.2.1/24 and end 2001:db8::1/64 are of different families (IPv4, IPv6); a range is in one",
            "start 192.0.2.1/24 and end 192.0.2.9/25 must have the same prefix length (or neither one)",
            "start and end are both 192.0.2.7/24; for one address, use an ip_addresses record",
            "2001:db8::/64 - 2001:db8::1:0:0/64 holds more than 4,294,967,295 addresses (NetBox's limit)"], fmt
        assert errors[0][1] == "192.0.2.9-192.0.2.1", fmt
    assert [int(e.location.rsplit(":", 1)[1]) for e in results["csv"].errors] == [3, 4, 5, 6, 7]
    yaml_lines = [int(e.location.rsplit(":", 1)[1]) for e in results["yaml"].errors]
    assert yaml_lines == sorted(yaml_lines) and len(set(yaml_lines)) == 5  # each error on its own record's line


def test_an_address_is_its_vrf_and_host(tmp_path):
    data = {
        "devices": [
            {"name": "sw-1", "site": "home", "primary_ip4": "192.0.2.5",
             "interfaces": [{"name": "mgmt0", "ip_addresses": ["192.0.2.5/24"]}]},
            {"name": "srv-1", "site": "home", "primary_ip4": "192.0.2.5",
             "interfaces": [{"name": "idrac", "vrf": "oob", "ip_addresses": ["192.0.2.5/24", "192.0.2.6/24"]}]},
            {"name": "web-2", "site": "home",
             "interfaces": [{"name": "eth0", "ip_addresses": ["192.0.2.5/24"]}]},  # the global one again
        ],
        "ip_addresses": [{"address": "192.0.2.6", "vrf": "oob", "tenant": "Home IT", "dns_name": "bmc.oob.example"}],
    }
    desired = desired_from(tmp_path, data)
    addresses = desired["ip_addresses"]
    assert sorted(addresses) == [("", "192.0.2.5"), ("oob", "192.0.2.5"), ("oob", "192.0.2.6")]
    assert addresses[("", "192.0.2.5")].fields["assigned_object"] == ("interfaces", ("home", "sw-1", "mgmt0"))
    assert addresses[("", "192.0.2.5")].fields["vrf"] is None
    in_oob = addresses[("oob", "192.0.2.5")]
    assert (in_oob.fields["vrf"], in_oob.fields["assigned_object"]) == (("oob",), ("interfaces", ("home", "srv-1", "idrac")))
    details = addresses[("oob", "192.0.2.6")].fields  # the standalone record adds to the interface's address
    assert (details["address"], details["tenant"], details["dns_name"]) == ("192.0.2.6/24", ("home-it",), "bmc.oob.example")
    assert set(desired["vrfs"]) == {("oob",)}
    devices = {d.fields["name"]: d for d in desired["devices"].values()}
    assert devices["sw-1"].fields["primary_ip4"] == ("", "192.0.2.5")
    assert devices["srv-1"].fields["primary_ip4"] == ("oob", "192.0.2.5")  # in its interface's VRF
    (collision,) = desired.problems
    assert collision.check == "identity_collision" and collision.location == f"{tmp_path}/ipam.yaml:18"  # web-2
    assert collision.message == "IP 192.0.2.5 in the global table is claimed by sw-1 mgmt0 and by web-2 eth0; kept on the first"
    plan = build_plan(desired, build_live({}), object_map={}, healthy_instances=HEALTHY)
    assert [p.check for p in validate_plan(plan, desired)] == ["identity_collision"]  # both primaries are their own


def test_overlapping_ranges_in_the_files_keep_the_first_and_name_both_lines(tmp_path):
    desired = desired_from(tmp_path, {"ip_ranges": [
        {"start_address": "192.0.2.100", "end_address": "192.0.2.150"},
        {"start_address": "192.0.2.100", "end_address": "192.0.2.150", "vrf": "oob"},  # another VRF: fine
        {"start_address": "2001:db8::1", "end_address": "2001:db8::ff"},  # another family: fine
        {"start_address": "192.0.2.150", "end_address": "192.0.2.160"},  # shares .150 with the first
    ]})
    assert sorted(desired["ip_ranges"]) == [("", "192.0.2.100", "192.0.2.150"), ("", "2001:db8::1", "2001:db8::ff"),
                                            ("oob", "192.0.2.100", "192.0.2.150")]
    (problem,) = desired.problems
    assert (problem.check, problem.location) == ("ip_range_overlap", f"{tmp_path}/ipam.yaml:9")
    assert problem.message == (f"IP range 192.0.2.150-192.0.2.160 overlaps IP range 192.0.2.100-192.0.2.150 "
                               f"({tmp_path}/ipam.yaml:2) in the global table; NetBox refuses overlapping ranges, not synced")


def netbox_range(object_id: int, start: str, end: str, *, owned: bool, vrf: dict | None = None) -> dict:
    """An IP range as NetBox 4.4-4.7 answers it (the fields the plan reads)."""
    return {"id": object_id, "start_address": start, "end_address": end, "vrf": vrf, "tenant": None, "role": None,
            "status": {"value": "active", "label": "Active"}, "description": "",
            "tags": [{"id": 1, "slug": OWNER_TAG, "name": OWNER_TAG}] if owned else []}


def test_a_moved_range_is_one_update_and_one_over_a_persons_range_is_left_out_with_its_line(tmp_path):
    oob = {"id": 3, "name": "oob", "display": "oob"}
    live = build_live({
        "vrfs": [{"id": 3, "name": "oob", "rd": None, "enforce_unique": True, "tenant": None, "description": "",
                  "tags": []}],
        "ip_ranges": [netbox_range(7, "192.0.2.200/24", "192.0.2.249/24", owned=True),
                      netbox_range(8, "192.0.2.100/24", "192.0.2.150/24", owned=False),
                      netbox_range(9, "192.0.2.100/24", "192.0.2.150/24", owned=False, vrf=oob)],
    })
    assert set(live.objects["ip_ranges"]) == {("", "192.0.2.200", "192.0.2.249"), ("", "192.0.2.100", "192.0.2.150"),
                                              ("oob", "192.0.2.100", "192.0.2.150")}
    desired = desired_from(tmp_path, {"ip_ranges": [
        {"start_address": "192.0.2.200/24", "end_address": "192.0.2.239/24", "description": "pool"},  # shrunk
        {"start_address": "192.0.2.140/24", "end_address": "192.0.2.160/24"},  # over the person's range
        {"start_address": "192.0.2.160/24", "end_address": "192.0.2.170/24", "vrf": "oob"},  # clear in oob
    ]})
    plan = build_plan(desired, live, object_map={}, healthy_instances=HEALTHY)
    moved = plan.item("ip_ranges", ("", "192.0.2.200", "192.0.2.239"))
    assert (moved.action, moved.netbox_id, moved.renamed_from) == ("update", 7, ("", "192.0.2.200", "192.0.2.249"))
    assert moved.payload_fields == {"end_address": "192.0.2.239/24", "description": "pool",
                                    "tags": (OWNER_TAG, "source-filesystem")}
    assert plan.deletions() == []  # the old key is the same range, moved
    problems = exclude_rejected(plan, desired, validate_plan(plan, desired))
    (problem,) = problems
    assert (problem.check, problem.severity, problem.location) == ("ip_range_overlap", "excluded", f"{tmp_path}/ipam.yaml:5")
    assert problem.message.endswith("IP range 192.0.2.140-192.0.2.160 overlaps NetBox's IP range id 8 "
                                    "(192.0.2.100-192.0.2.150, not ours) in the global table; NetBox refuses overlapping ranges")
    assert plan.item("ip_ranges", ("", "192.0.2.140", "192.0.2.160")).action == "skip"
    assert plan.item("ip_ranges", ("oob", "192.0.2.160", "192.0.2.170")).action == "create"


def test_netbox_addresses_are_read_back_under_their_vrf_and_a_primary_ip_finds_its_own():
    vrf = {"id": 3, "url": "http://nb/api/ipam/vrfs/3/", "display": "oob", "name": "oob", "rd": None,
           "description": ""}
    interface = {"id": 10, "display": "mgmt0", "name": "mgmt0", "device": {"id": 5, "name": "sw-1"}}

    def address(object_id: int, vrf_ref):
        return {"id": object_id, "address": "192.0.2.5/24", "vrf": vrf_ref, "tenant": None,
                "status": {"value": "active", "label": "Active"}, "dns_name": "", "description": "",
                "assigned_object_type": "dcim.interface", "assigned_object_id": 10, "assigned_object": interface,
                "tags": [{"slug": OWNER_TAG}]}

    live = build_live({
        "sites": [{"id": 1, "slug": "home", "name": "home", "tags": []}],
        "vrfs": [{"id": 3, "name": "oob", "tags": []}],
        "devices": [{"id": 5, "name": "sw-1", "site": {"id": 1}, "tags": [],
                     "primary_ip4": {"id": 21, "address": "192.0.2.5/24", "family": {"value": 4}}}],
        "interfaces": [{"id": 10, "name": "mgmt0", "device": {"id": 5}, "tags": []}],
        "ip_addresses": [address(20, None), address(21, vrf)],
    })
    assert set(live.objects["ip_addresses"]) == {("", "192.0.2.5"), ("oob", "192.0.2.5")} and live.duplicates == []
    assert live.objects["devices"][("home", "sw-1")].fields["primary_ip4"] == ("oob", "192.0.2.5")


def _doc_blocks(heading: str, next_heading: str) -> dict[str, str]:
    from netbox_pipeline_tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "docs" / "inventory-files.md").read_text()
    section = text[text.index(f"\n{heading}\n"):text.index(f"\n{next_heading}\n")]
    blocks = {}
    for fmt in ("yaml", "json", "csv"):
        start = section.index(f"```{fmt}\n") + len(fmt) + 4
        blocks[fmt] = section[start:section.index("```", start)]
    return blocks


def test_documented_ip_address_and_ip_range_examples_load_alike_in_every_format(tmp_path):
    for heading, next_heading, counts in (
            ("### ip_addresses", "### The datacenter skeleton", {"vrf": 1, "device": 1, "ip_address": 2}),
            ("### ip_ranges", "### cables", {"ip_range": 2})):
        merged = []
        for fmt, body in _doc_blocks(heading, next_heading).items():
            result = read(tmp_path, f"example.{fmt}", body)
            assert (result.status, [str(e) for e in result.errors], result.counts()) == ("ok", [], counts), (heading, fmt)
            inventory = merge([result], default_precedence()).model_dump(exclude={"contributors"}, mode="json")
            for records in inventory.values():
                for record in records if isinstance(records, list) else ():
                    record.pop("provenance", None)
            merged.append(inventory)
        assert merged[0] == merged[1] == merged[2], heading
    desired = desired_objects(merge([read(tmp_path, "ex.yaml", _doc_blocks("### ip_addresses", "### The datacenter skeleton")["yaml"])], default_precedence()))
    assert sorted(desired["ip_addresses"]) == [("", "192.0.2.50"), ("", "192.0.2.60"), ("oob", "192.0.2.50"), ("oob", "192.0.2.61")]
