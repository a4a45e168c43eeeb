import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from netbox_pipeline.model import Device, InventoryItem, VirtualMachine
from netbox_pipeline.sandbox.demo_estate import interfaces_cell
from netbox_pipeline.sources.filesystem import (
    parse_interfaces_cell,
    read_inventory_file,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
GOOD = {"name": "good-1", "site": "home"}


def read(path: Path, defaults=None, custom_fields=None):
    return read_inventory_file(path, "rack", observed_at=NOW, defaults=defaults, custom_fields=custom_fields)


def to_csv(records: list[dict], record_type: str = "device") -> str:
    rows = []
    for record in records:
        row = {"record_type": record_type}
        for key, value in record.items():
            if key == "interfaces":
                row[key] = interfaces_cell(value)
            elif key == "tags":
                row[key] = ",".join(value)
            else:
                row[key] = value
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write(tmp_path: Path, fmt: str, bad: dict) -> tuple[Path, int]:
    """[GOOD, bad] in one file; returns the path and the line where the bad record starts."""
    records = [GOOD, {"name": "bad-1", "site": "home", **bad}]
    path = tmp_path / f"inventory.{fmt}"
    if fmt == "yaml":
        path.write_text(yaml.safe_dump({"devices": records}, sort_keys=False))
        return path, 4
    if fmt == "json":
        path.write_text(json.dumps({"devices": records}, indent=2))
        return path, 7
    path.write_text(to_csv(records))
    return path, 3


BAD_RECORDS = [
    ("unknown_key", {"colour": "red"}, "colour", "unknown field"),
    ("bad_mac", {"interfaces": [{"name": "eth0"}, {"name": "eth1", "mac": "zz:zz"}]},
     "interfaces[1].mac", "invalid MAC address 'zz:zz'"),
    ("bad_interface_ip", {"interfaces": [{"name": "eth0", "ip_addresses": ["10.0.0.300/24"]}]},
     "interfaces[0].ip_addresses", "invalid IP address '10.0.0.300/24'"),
    ("bad_primary_ip", {"primary_ip4": "not-an-ip"}, "primary_ip4", "invalid IP address 'not-an-ip'"),
    ("bad_status", {"status": "broken"}, "status",
     "invalid device status 'broken'; expected one of active, decommissioning, failed, inventory, "
     "offline, planned, staged"),
    ("bad_interface_type", {"interfaces": [{"name": "eth0", "type": "Fast Ethernet!"}]},
     "interfaces[0].type", "invalid interface type 'Fast Ethernet!'"),
    ("duplicate_interface", {"interfaces": [{"name": "eth0"}, {"name": "eth0"}]},
     "interfaces", "duplicate interface name 'eth0' (interfaces[0] and interfaces[1])"),
]


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
@pytest.mark.parametrize(("case", "bad", "field", "message"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_bad_record_is_located_and_good_records_flow(tmp_path, fmt, case, bad, field, message):
    path, line = write(tmp_path, fmt, bad)
    result = read(path)
    assert result.status == "ok"
    assert [(e.location, e.record_key, e.field, e.message) for e in result.errors] == [
        (f"{path}:{line}", "bad-1", field, message)
    ]
    assert [r.name for r in result.records] == ["good-1"]
    assert str(result.errors[0]).startswith(f"{path}:{line} bad-1 field {field}: ")


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_duplicate_natural_key_is_an_error_on_the_second_occurrence(tmp_path, fmt):
    path, line = write(tmp_path, fmt, {})
    records = [GOOD, {"name": "GOOD-1", "site": "Home"}]  # NetBox ignores case in device names
    if fmt == "yaml":
        path.write_text(yaml.safe_dump({"devices": records}, sort_keys=False))
    elif fmt == "json":
        path.write_text(json.dumps({"devices": records}, indent=2))
    else:
        path.write_text(to_csv(records))
    result = read(path)
    assert len(result.records) == 1
    (error,) = result.errors
    assert error.location == f"{path}:{line}"
    assert error.record_key == "GOOD-1"
    first_line = {"yaml": 2, "json": 3, "csv": 2}[fmt]
    assert error.message == f"duplicate device 'home/good-1': first defined at {path}:{first_line}"


def test_missing_file_fails_only_that_instance(tmp_path):
    result = read(tmp_path / "nope.yaml")
    assert result.status == "failed"
    assert result.records == [] and not result.healthy
    assert result.error == f"cannot read inventory file {tmp_path / 'nope.yaml'}: No such file or directory"


def test_directory_is_unreadable(tmp_path):
    target = tmp_path / "dir.yaml"
    target.mkdir()
    result = read(target)
    assert result.status == "failed"
    assert str(target) in result.error and "Is a directory" in result.error


def test_non_utf8_file_fails(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"devices:\n  - name: caf\xe9\n")
    result = read(path)
    assert result.status == "failed" and "not UTF-8" in result.error


def test_yaml_parse_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("devices:\n  - name: a\n    tags: [x\n")
    result = read(path)
    assert result.status == "failed"
    assert result.error.startswith(f"inventory file {path}:4:1: invalid YAML")


def test_json_parse_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "devices": [\n    {"name": "a",}\n  ]\n}\n')
    result = read(path)
    assert result.status == "failed"
    assert result.error == (f"inventory file {path}:3:18: invalid JSON: "
                            "Expecting property name enclosed in double quotes")


def test_unsupported_extension_fails(tmp_path):
    path = tmp_path / "inventory.toml"
    path.write_text("")
    result = read(path)
    assert result.status == "failed" and "unsupported extension '.toml'" in result.error


@pytest.mark.parametrize(("name", "text"), [
    ("list.yaml", "- name: a\n"),
    ("list.json", '[{"name": "a"}]'),
])
def test_top_level_must_be_a_mapping(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    result = read(path)
    assert result.status == "failed"
    assert "top level must be a mapping" in result.error and "got list" in result.error


def test_csv_without_record_type_column_fails(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,site\na,home\n")
    result = read(path)
    assert result.status == "failed"
    assert result.error == f"inventory file {path}:1: CSV header needs a 'record_type' column (the header has 'name', 'site')"


@pytest.mark.parametrize("fmt", ["csv", "yaml", "json"])
def test_a_byte_order_mark_is_accepted(tmp_path, fmt):
    # Excel's "CSV UTF-8" starts the file with one; it used to become part of the first column's name.
    document = {"devices": [{"name": "bom-1", "site": "home"}]}
    text = {"csv": "record_type,name,site\ndevice,bom-1,home\n", "yaml": yaml.safe_dump(document),
            "json": json.dumps(document)}[fmt]
    path = tmp_path / f"bom.{fmt}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = read(path)
    assert result.status == "ok", result.error
    assert [r.name for r in result.records] == ["bom-1"] and not result.errors


@pytest.mark.parametrize("delimiter, name", [(";", "';'"), ("\t", "a tab")])
def test_a_semicolon_or_tab_delimited_csv_names_its_delimiter(tmp_path, delimiter, name):
    path = tmp_path / "regional.csv"
    path.write_text(delimiter.join(["record_type", "name", "site"]) + "\n" + delimiter.join(["device", "a", "home"]) + "\n")
    result = read(path)
    assert result.status == "failed"
    assert result.error == (f"inventory file {path}:1: the columns are separated by {name}, but inventory CSV files "
                            "use ','; export again with ',' as the field delimiter")


def test_unknown_section_is_reported_and_other_sections_flow(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("devices:\n  - name: a\n    site: home\nswitches:\n  - name: b\n")
    result = read(path)
    assert [r.name for r in result.records] == ["a"]
    (error,) = result.errors
    assert (error.location, error.field) == (f"{path}:4", "switches")
    assert error.message.startswith("unknown section")


def test_record_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"devices": [\n  "just-a-name",\n  {"name": "a", "site": "home"}\n]}')
    result = read(path)
    assert [r.name for r in result.records] == ["a"]
    (error,) = result.errors
    assert (error.location, error.message) == (f"{path}:2", "record must be a mapping, got string")


def test_duplicate_yaml_key_inside_a_record(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("devices:\n  - name: a\n    site: home\n    site: lab\n")
    result = read(path)
    assert result.records == []
    (error,) = result.errors
    assert (error.location, error.field, error.message) == (f"{path}:2", "site", "duplicate key (line 4)")


def test_provenance_field_cannot_be_set_from_a_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("devices:\n  - name: a\n    provenance: {}\n")
    result = read(path)
    assert result.records == [] and result.errors[0].field == "provenance"


def test_yaml_keeps_macs_and_serials_as_written(tmp_path):
    """YAML 1.1 would read 52:54:00:12:34:56 as a base-60 integer and 0123 as octal."""
    path = tmp_path / "x.yaml"
    path.write_text(
        "devices:\n  - name: a\n    site: home\n    serial: 0123\n    asset_tag: 12345\n"
        "    interfaces:\n      - name: eth0\n        mac: 52:54:00:12:34:56\n        mtu: 1500\n"
    )
    (device,) = read(path).records
    assert device.serial == "0123" and device.asset_tag == "12345"
    assert device.interfaces[0].mac == "52:54:00:12:34:56"
    assert device.interfaces[0].mtu == 1500


def test_defaults_fill_missing_fields_with_their_own_provenance(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("devices:\n  - name: a\n    role: switch\nvirtual_machines:\n  - name: vm1\n")
    result = read(path, defaults={"site": "home", "device_role": "server", "status": "active",
                                  "cluster": "pve"})
    device, vm = result.records
    assert isinstance(device, Device) and isinstance(vm, VirtualMachine)
    assert (device.site, device.role, device.status) == ("home", "switch", "active")
    assert (vm.cluster, vm.role, vm.status) == ("pve", "server", "active")
    assert device.provenance["role"].location == f"{path}:2"
    assert device.provenance["site"].location == "defaults of rack"
    assert device.provenance["name"].source_kind == "filesystem"
    assert device.provenance["name"].instance == "rack"
    assert device.provenance["name"].observed_at == NOW


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_inventory_items_are_read_with_the_default_site(tmp_path, fmt):
    item = {"device": "nas-rack", "name": "bay 3", "serial": "ZL20000000", "role": "Disk"}
    path = tmp_path / f"x.{fmt}"
    path.write_text(yaml.safe_dump({"inventory_items": [item]}) if fmt == "yaml" else to_csv([item], "inventory_item"))
    result = read(path, defaults={"site": "home"})
    assert result.errors == []
    (record,) = result.records
    assert isinstance(record, InventoryItem)
    assert (record.key, record.serial, record.role) == (("home", "nas-rack", "bay 3"), "ZL20000000", "Disk")
    assert record.provenance["site"].location == "defaults of rack"


def test_interface_attributes_get_provenance(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"devices": [{"name": "a", "site": "home", "interfaces": [
        {"name": "eth0", "mac": "00:11:22:33:44:55", "ip_addresses": ["192.0.2.1/24"]}]}]}))
    (device,) = read(path).records
    assert device.provenance["interfaces[eth0].mac"].record_id == "device:home/a"
    assert "interfaces[eth0].ip_addresses" in device.provenance


def test_raw_records_keep_every_record_as_received(tmp_path):
    path, line = write(tmp_path, "yaml", {"colour": "red"})
    result = read(path)
    assert [(r["record_key"], r["location"]) for r in result.raw_records] == [
        ("home/good-1", f"{path}:2"), ("bad-1", f"{path}:{line}")]
    assert result.raw_records[1]["payload"]["colour"] == "red"


def test_all_sections_in_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({
        "clusters": [{"name": "pve", "type": "Proxmox VE", "site": "home"}],
        "virtual_machines": [{"name": "vm1", "cluster": "pve", "vcpus": 2, "memory_mb": 2048}],
        "devices": [{"name": "nas", "site": "home"}],
        "services": [{"name": "ssh", "protocol": "TCP", "ports": [22], "parent": "nas"}],
        "ip_addresses": [{"address": "203.0.113.5", "dns_name": "printer.lan"}],
    }, indent=2))
    result = read(path)
    assert result.errors == []
    assert result.counts() == {"cluster": 1, "virtual_machine": 1, "device": 1, "service": 1,
                               "ip_address": 1}
    assert result.of_type("service")[0].protocol == "tcp"


def test_csv_rows_of_several_types_custom_fields_and_tags(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "record_type,name,site,cluster,vcpus,memory_mb,tags,cf_owner,interfaces\n"
        'device,sw-1,home,,,,"core,poe",net,"eth0 type=1000base-t mac=00:11:22:33:44:55 '
        'ip=192.0.2.2/24,192.0.2.3/24 description=""to core""; eth1 enabled=no mtu=9000"\n'
        "\n"
        "vm,vm-1,,pve,2,2048,,,net0 mac=52:54:00:00:00:01\n"
        "switch,x,home,,,,,,\n"
    )
    result = read(path, custom_fields={"owner": "text"})
    device, vm = result.records
    assert device.tags == ["core", "poe"] and device.custom_fields == {"owner": "net"}
    eth0, eth1 = device.interfaces
    assert eth0.ip_addresses == ["192.0.2.2/24", "192.0.2.3/24"] and eth0.description == "to core"
    assert (eth1.enabled, eth1.mtu) == (False, 9000)
    assert (vm.cluster, vm.vcpus, vm.memory_mb) == ("pve", 2.0, 2048)
    (error,) = result.errors
    assert (error.location, error.field) == (f"{path}:5", "record_type")


def test_csv_interface_syntax_error_is_located(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('record_type,name,site,interfaces\ndevice,a,home,"eth0 mac"\n')
    (error,) = read(path).errors
    assert (error.location, error.field) == (f"{path}:2", "interfaces")
    assert error.message == "interface 'eth0': expected key=value, got 'mac'"


@pytest.mark.parametrize(("cell", "expected"), [
    ("eth0", [{"name": "eth0"}]),
    ("eth0 ip=10.0.0.1/24 ip=10.0.0.2/24", [{"name": "eth0", "ip_addresses": ["10.0.0.1/24", "10.0.0.2/24"]}]),
    ("a mac=00:11:22:33:44:55;b type=virtual", [{"name": "a", "mac": "00:11:22:33:44:55"},
                                                 {"name": "b", "type": "virtual"}]),
    ('a description="x; y"', [{"name": "a", "description": "x; y"}]),
    ("", []),
])
def test_parse_interfaces_cell(cell, expected):
    assert parse_interfaces_cell(cell) == expected


@pytest.mark.parametrize("cell", ["mac=1 eth0", 'eth0 description="open'])
def test_parse_interfaces_cell_rejects(cell):
    with pytest.raises(ValueError):
        parse_interfaces_cell(cell)


def test_empty_file_is_ok_but_not_healthy(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    result = read(path)
    assert result.status == "ok" and result.records == [] and not result.healthy


def _doc_examples() -> dict[str, str]:
    from netbox_pipeline_tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "docs" / "inventory-files.md").read_text()
    blocks = {}
    for fmt in ("yaml", "json", "csv"):
        start = text.index(f"```{fmt}\n", text.index(f"## {fmt.upper()}")) + len(fmt) + 4
        blocks[fmt] = text[start:text.index("```", start)]
    return blocks


def _doc_custom_fields(tmp_path: Path) -> dict[str, str]:
    """The custom fields the docs declare, as the configuration loads them."""
    from netbox_pipeline.config import load_config
    from netbox_pipeline_tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "docs" / "inventory-files.md").read_text()
    start = text.index("```yaml\n", text.index("## Custom fields")) + len("```yaml\n")
    config = tmp_path / "netbox_pipeline.yaml"
    config.write_text(text[start:text.index("```", start)])
    return load_config(config).custom_field_types()


def test_documented_examples_load_cleanly_and_agree(tmp_path):
    from netbox_pipeline.reconcile.merge import merge
    from netbox_pipeline.sources import default_precedence

    inventories = []
    declared = _doc_custom_fields(tmp_path)
    assert declared["rack_unit"] == "integer"
    for fmt, body in _doc_examples().items():
        path = tmp_path / f"example.{fmt}"
        path.write_text(body)
        result = read(path, custom_fields=declared)
        assert (result.status, [str(e) for e in result.errors]) == ("ok", []), fmt
        assert result.counts() == {"cluster": 1, "device": 1, "virtual_machine": 1, "service": 1,
                                   "ip_address": 1}, fmt
        inventories.append(merge([result], default_precedence()).model_dump(exclude={"contributors"}, mode="json"))
    for inventory in inventories:
        for section in ("devices", "virtual_machines", "clusters", "services", "ip_addresses"):
            for record in inventory[section]:
                record.pop("provenance")
    assert inventories[0] == inventories[1] == inventories[2]


def test_json_record_lines_survive_brackets_in_strings_and_compact_layout(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(
        '{"clusters" : [],\n'
        ' "virtual_machines": [{"name": "vm]{1", "description": "a [b] {c}\\"]"}],\n'
        ' "devices": [\n'
        '   {"name": "a", "site": "home", "tags": ["x", "]"]}, {"name": "b", "site": "home",\n'
        '    "colour": 1}\n'
        ' ]}\n'
    )
    result = read(path, defaults={"site": "home"})
    assert [r.name for r in result.records] == ["vm]{1", "a"]
    (error,) = result.errors
    assert (error.location, error.record_key, error.field) == (f"{path}:4", "b", "colour")
    assert [r["location"] for r in result.raw_records] == [f"{path}:2", f"{path}:4", f"{path}:4"]
