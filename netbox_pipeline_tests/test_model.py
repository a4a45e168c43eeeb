import pytest
from pydantic import ValidationError

from netbox_pipeline.model import (
    Cluster,
    Device,
    Interface,
    Inventory,
    IPAddress,
    Service,
    VirtualMachine,
    key_text,
    record_type_of,
)


def test_device_key_is_site_slug_and_folded_name():
    assert Device(name="Leaf-01", site="Home Lab").key == ("home-lab", "leaf-01")
    assert Device(name="leaf-01", site="home-lab").key == Device(name="LEAF-01", site="Home Lab").key


def test_vm_key_is_cluster_and_folded_name():
    assert VirtualMachine(name="VM1", cluster="pve").key == ("pve", "vm1")
    assert VirtualMachine(name="vm1").key == ("", "vm1")


def test_other_keys():
    assert Cluster(name="pve").key == ("pve",)
    assert IPAddress(address="192.0.2.1/24").key == ("", "192.0.2.1")
    assert IPAddress(address="192.0.2.1/24", vrf="blue").key == ("blue", "192.0.2.1")
    service = Service(name="ssh", protocol="tcp", ports=[22], parent="NAS", parent_scope="home")
    assert service.key == ("device", "home", "nas", "tcp", "ssh")


def test_input_models_forbid_unknown_fields():
    with pytest.raises(ValidationError) as info:
        Device(name="a", colour="red")
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError):
        Interface(name="eth0", speed=1000)


def test_values_are_normalised_on_input():
    device = Device(name=" a ", status="Active", primary_ip4="192.0.2.1",
                    interfaces=[{"name": "eth0", "mac": "00-11-22-aa-bb-cc", "type": "1000BASE-T",
                                 "ip_addresses": ["2001:DB8::1/64"]}])
    assert device.name == "a" and device.status == "active"
    assert device.interfaces[0].mac == "00:11:22:AA:BB:CC"
    assert device.interfaces[0].type == "1000base-t"
    assert device.interfaces[0].ip_addresses == ["2001:db8::1/64"]
    assert device.macs() == {"00:11:22:AA:BB:CC"}


@pytest.mark.parametrize(("cls", "payload"), [
    (Device, {"name": "a", "status": "paused"}),  # a VM status, not a device one
    (VirtualMachine, {"name": "a", "status": "inventory"}),
    (VirtualMachine, {"name": "a", "vcpus": 0}),
    (Cluster, {"name": "c", "status": "retired"}),
    (IPAddress, {"address": "192.0.2.1", "status": "up"}),
    (Service, {"name": "s", "protocol": "icmp", "ports": [1], "parent": "a"}),
    (Service, {"name": "s", "protocol": "tcp", "ports": [0], "parent": "a"}),
    (Service, {"name": "s", "protocol": "tcp", "ports": [], "parent": "a"}),
    (Interface, {"name": "eth0", "mtu": 0}),
    (Interface, {"name": "eth0", "vlan": 4095}),
    (Device, {"name": ""}),
])
def test_invalid_values_are_rejected(cls, payload):
    with pytest.raises(ValidationError):
        cls(**payload)


def test_numbers_are_accepted_where_strings_are_expected():
    assert Device(name=101, serial=12345).serial == "12345"


def test_service_ports_are_sorted_and_unique():
    assert Service(name="web", protocol="TCP", ports=[443, 80, 80], parent="a").ports == [80, 443]


def test_record_type_and_key_text():
    assert record_type_of(Cluster(name="c")) == "cluster"
    assert key_text(("interfaces", ("home", "a", "eth0"))) == "interfaces/home/a/eth0"
    with pytest.raises(TypeError):
        record_type_of(Interface(name="eth0"))


def test_inventory_counts_and_contributors():
    inventory = Inventory(devices=[Device(name="a", site="home")],
                          contributors={"devices": {"home/a": [("filesystem", "rack")]}})
    assert inventory.counts()["devices"] == 1
    assert inventory.instances_of("devices", ("home", "a")) == [("filesystem", "rack")]
    assert inventory.instances_of("devices", ("home", "b")) == []


def test_custom_field_values_are_checked_against_their_declared_type():
    from datetime import date, datetime, timezone

    from netbox_pipeline.model import custom_field_value

    assert custom_field_value("integer", 12) == 12
    assert custom_field_value("decimal", 12) == 12 and custom_field_value("decimal", 1.5) == 1.5
    assert custom_field_value("boolean", False) is False
    assert custom_field_value("date", date(2026, 11, 20)) == custom_field_value("date", "2026-11-20") == "2026-11-20"
    assert custom_field_value("datetime", datetime(2026, 11, 20, 10, tzinfo=timezone.utc)) == "2026-11-20T10:00:00+00:00"
    assert custom_field_value("url", "https://wiki.example.net/x") == "https://wiki.example.net/x"
    assert custom_field_value("json", {"a": [1]}) == {"a": [1]}
    assert custom_field_value("integer", None) is None  # clears the field
    for field_type, value, message in [
        ("integer", "12", "is an integer field, got text '12'; write the number without quotes"),
        ("integer", True, "is an integer field, got a boolean True"),
        ("integer", 1.5, "is an integer field, got a number 1.5"),
        ("decimal", "abc", "is a decimal field, got text 'abc'"),
        ("boolean", "yes", "is a boolean field (true or false), got text 'yes'"),
        ("text", 12, "is a text field, got a number 12; quote it to write it as text"),
        ("url", "wiki/x", "is a url field, got 'wiki/x'; write a URL such as https://host/path"),
        ("date", "20.11.2026", "is a date field (YYYY-MM-DD), got text '20.11.2026'"),
        ("date", datetime(2026, 11, 20), "is a date field, got a date and time '2026-11-20T00:00:00'; give the date "
                                         "alone (YYYY-MM-DD)"),
        ("select", "a", "has the type 'select', which the pipeline cannot check; use one of text, longtext, integer, "
                        "decimal, boolean, date, datetime, url, json"),
    ]:
        with pytest.raises(ValueError) as raised:
            custom_field_value(field_type, value)
        assert str(raised.value) == message, (field_type, value)


def test_a_slug_collision_is_two_spellings_of_a_key_field_not_two_mentions_of_one_name():
    from netbox_pipeline.model import Site, slug_collision

    assert slug_collision(Site(name="Home Lab"), Site(name="home.lab")) == ("name", "site", "Home Lab", "home.lab",
                                                                            "home-lab")
    assert slug_collision(Device(name="web", site="Home Lab"), Device(name="web", site="home-lab")) == (
        "site", "site", "Home Lab", "home-lab", "home-lab")
    assert slug_collision(Site(name="Home Lab"), Site(name="home lab")) is None  # the same name, as NetBox compares
    assert slug_collision(Device(name="web", site="home"), Device(name="WEB", site="home")) is None
    # a field outside the key: two devices that merge may disagree on it (a conflict, not a collision)
    assert slug_collision(Device(name="web", site="home", role="Web Server"),
                          Device(name="web", site="home", role="web-server")) is None
