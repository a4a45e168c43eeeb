"""Locations: a device's location (and its parent) become NetBox locations under the device's site."""

from netbox_pipeline.model import Device, Inventory
from netbox_pipeline.netbox.schema import TYPES, from_live, key_from_fields
from netbox_pipeline.reconcile.desired import desired_objects


def inventory(*devices: Device) -> Inventory:
    return Inventory(devices=list(devices))


def test_a_location_and_its_parent_are_made_under_the_device_site():
    desired = desired_objects(inventory(
        Device(name="lamp", site="Lab Home", location="Living Room", location_parent="Ground Floor"),
        Device(name="tv", site="Lab Home", location="Living Room", location_parent="Ground Floor"),
        Device(name="nas", site="Lab Home", location="Office"),
        Device(name="loose", site="Lab Home"),
    ))
    locations = desired["locations"]
    assert set(locations) == {("lab-home", "living room"), ("lab-home", "ground floor"), ("lab-home", "office")}
    room = locations[("lab-home", "living room")].fields
    assert (room["name"], room["slug"], room["site"], room["parent"]) == (
        "Living Room", "living-room", ("lab-home",), ("lab-home", "ground floor"))
    assert locations[("lab-home", "office")].fields["parent"] is None
    devices = {key[-1]: obj.fields for key, obj in desired["devices"].items()}
    assert devices["lamp"]["location"] == ("lab-home", "living room")
    assert devices["loose"]["location"] is None


def test_the_same_room_name_on_two_sites_is_two_locations():
    desired = desired_objects(inventory(Device(name="a", site="Home", location="Office"),
                                        Device(name="b", site="Cabin", location="Office")))
    assert set(desired["locations"]) == {("home", "office"), ("cabin", "office")}


def test_a_live_location_reads_back_to_the_same_key_and_parent():
    t = TYPES["locations"]
    live = from_live(t, {"id": 7, "name": "Living Room", "slug": "living-room", "site": {"id": 1},
                         "parent": {"id": 3, "name": "Ground Floor"}, "tags": []},
                     lambda type_name, ref_id: ("lab-home",) if type_name == "sites" else None)
    assert live.key == key_from_fields(t, {"site": ("lab-home",), "name": "Living Room"})
    assert live.fields["parent"] == ("lab-home", "ground floor")
    assert "parent" in t.second_pass and t.reference and not t.prunable
