import json

from netbox_pipeline.reconcile.diff import diff_fields, hash_managed, managed_view
from netbox_pipeline.values import jsonable


def test_only_managed_fields_with_an_opinion_are_compared():
    found = diff_fields("devices", {"name": "a", "serial": None, "comments": "x"},
                        {"name": "a", "serial": "S", "comments": "y"})
    assert found.changes == {} and found.payload == {}


def test_changes_carry_normalised_before_and_after():
    found = diff_fields("devices", {"status": "offline", "site": ["home"]},
                        {"status": {"value": "active", "label": "Active"}, "site": ("lab",)})
    assert found.changes == {"status": ("active", "offline"), "site": (("lab",), ("home",))}
    assert found.payload == {"status": "offline", "site": ("home",)}


def test_three_way_drift_and_policies():
    desired, live, written = {"description": "A"}, {"description": "B"}, {"description": "A"}
    overwrite = diff_fields("devices", desired, live, written)
    assert overwrite.drift == {"description": ("A", "B")} and overwrite.payload == {"description": "A"}
    keep = diff_fields("devices", desired, live, written, drift_policy="keep")
    assert keep.drift == {"description": ("A", "B")} and keep.payload == {}
    source_changed = diff_fields("devices", {"description": "C"}, live, written, drift_policy="keep")
    assert source_changed.drift == {} and source_changed.payload == {"description": "C"}
    never_written = diff_fields("devices", desired, live, {}, drift_policy="keep")
    assert never_written.drift == {} and never_written.payload == {"description": "A"}


def test_tag_drift_only_when_our_tag_was_removed():
    written = {"tags": ["netbox-pipeline", "x"]}
    added = diff_fields("devices", {"tags": ("netbox-pipeline", "x")}, {"tags": ("netbox-pipeline", "x", "mine")}, written)
    assert added.changes == {}
    removed = diff_fields("devices", {"tags": ("netbox-pipeline", "x")}, {"tags": ("mine", "netbox-pipeline")},
                          written, drift_policy="keep")
    assert removed.drift == {"tags": (("netbox-pipeline", "x"), ("mine", "netbox-pipeline"))}
    assert removed.payload == {}


def test_hash_is_stable_across_json_and_key_order():
    fields = {"site": ("home",), "tags": ("a", "b"), "custom_fields": {"b": 1, "a": 2}}
    stored = json.loads(json.dumps(jsonable(fields)))
    assert hash_managed(fields) == hash_managed(stored) == hash_managed(dict(reversed(list(fields.items()))))
    assert hash_managed(fields) != hash_managed({**fields, "site": ("lab",)})


def test_managed_view_drops_fields_without_opinion():
    view = managed_view("devices", {"name": "a", "serial": None, "tags": (), "custom_fields": {},
                                    "site": ["home"], "vcpus": 2.0})
    assert view == {"name": "a", "site": ("home",)}
