"""A new site, role or manufacturer one typo away from an existing one is created, with a warning."""

from datetime import datetime, timezone

import pytest

from netbox_pipeline.netbox.schema import build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.sources import default_precedence
from netbox_pipeline.reconcile.plan import _edit_distance, _one_typo_apart, build_plan, near_names
from netbox_pipeline.sources.filesystem import read_inventory_file

NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def plan_of(tmp_path, text: str, live=None):
    path = tmp_path / "rack.yaml"
    path.write_text(text)
    desired = desired_objects(merge([read_inventory_file(path, "rack", observed_at=NOW)], default_precedence()))
    return build_plan(desired, live or {}), desired, path


@pytest.mark.parametrize(("a", "b", "distance"), [("home", "hoem", 1), ("home", "hom", 1), ("home", "homes", 1),
                                                  ("home", "hone", 1), ("home", "office", 5), ("lab", "lab", 0)])
def test_edit_distance_counts_a_swap_as_one(a, b, distance):
    assert min(_edit_distance(a, b), 3) == min(distance, 3)


@pytest.mark.parametrize(("a", "b", "close"), [("home", "hoem", True), ("Home", "HOME", False), ("rack-1", "rack-2", False),
                                               ("datacenter", "datacentre", True), ("home", "office", False),
                                               ("core", "edge", False), ("home lab", "home.lab", False),
                                               ("bench-a", "bench-b", False), ("Building A", "Building B", False),
                                               ("pdu.l", "pdu.r", False), ("bench-a", "bemch-a", True),
                                               ("rack-ab", "rack-ac", False), ("rackk-a", "rack-a", True)])
def test_one_typo_apart(a, b, close):
    assert _one_typo_apart(a, b) is close


def test_a_site_typo_in_a_file_is_named_with_its_line(tmp_path):
    plan, desired, path = plan_of(tmp_path, "devices:\n  - {name: a, site: home}\n  - {name: b, site: hoem}\n"
                                                 "  - {name: c, site: home}\n")
    [warning] = near_names(plan, desired)
    assert warning.severity == "warning" and warning.type == "sites"
    assert warning.message == (f"{path}:3: new site 'hoem' is close to 'home'; it is created as written: "
                               "check the spelling")
    assert [i.key for i in plan.items if i.type == "sites" and i.action == "create"] == [("hoem",), ("home",)]


def test_a_new_name_close_to_one_in_netbox_is_named(tmp_path):
    live = build_live({"sites": [{"id": 1, "name": "Office", "slug": "office", "tags": [], "custom_fields": {}}]},
                      owner_tag="netbox-pipeline")
    plan, desired, _ = plan_of(tmp_path, "devices:\n  - {name: a, site: Offce}\n", live)
    assert [w.message.split(": ", 1)[1] for w in near_names(plan, desired)] == [
        "new site 'Offce' is close to 'Office'; it is created as written: check the spelling"]


def test_distinct_names_give_no_warning(tmp_path):
    plan, desired, _ = plan_of(tmp_path, "devices:\n  - {name: a, site: home, role: server}\n"
                                         "  - {name: b, site: office, role: switch}\n  - {name: c, site: lab-1}\n"
                                         "  - {name: d, site: lab-2}\n")
    assert near_names(plan, desired) == []


def test_locations_are_compared_within_their_site(tmp_path):
    plan, desired, _ = plan_of(tmp_path, "devices:\n  - {name: a, site: home, location: Basement}\n"
                                         "  - {name: b, site: lab, location: Basemnt}\n"
                                         "  - {name: c, site: lab, location: Basement}\n"
                                         "  - {name: d, site: lab, location: Basement}\n")
    [warning] = near_names(plan, desired)
    assert warning.key == ("lab", "basemnt") and "'Basemnt' is close to 'Basement'" in warning.message


def test_of_two_close_new_roles_the_one_fewer_devices_name_is_the_typo_whatever_prefixes_name(tmp_path):
    # Prefixes name IPAM roles in their `role` field: they must not count as uses of a device role.
    plan, desired, _ = plan_of(tmp_path, "devices:\n  - {name: a, site: home, role: Webserver}\n"
                                         "  - {name: b, site: home, role: Webserver}\n"
                                         "  - {name: c, site: home, role: Webservr}\n"
                                         "prefixes:\n  - {prefix: 10.0.1.0/24, role: Webservr}\n"
                                         "  - {prefix: 10.0.2.0/24, role: Webservr}\n")
    warned = {(w.type, w.key) for w in near_names(plan, desired)}
    assert ("device_roles", ("webservr",)) in warned
    assert ("device_roles", ("webserver",)) not in warned
