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
