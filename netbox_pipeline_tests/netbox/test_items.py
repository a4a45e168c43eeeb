"""A plan item survives the staging DB: `to_stored` is JSON that `from_stored` turns back into an equal item."""

import json
from dataclasses import MISSING, fields

from netbox_pipeline.netbox.items import PlanItem


def _every_field_set() -> PlanItem:
    return PlanItem(
        type="devices",
        key=("home", "web-01"),
        action="update",
        netbox_id=7,
        changes={"serial": ("A", "B"), "tags": ((), ("netbox-pipeline",))},
        payload_fields={"serial": "B", "site": ("home",), "tags": ("netbox-pipeline",),
                        "custom_fields": {"proxmox_vmid": 101}, "vids": frozenset({10, 20}), "weight": 1.5,
                        "comments": None, "enabled": False},
        reason="serial changed",
        drift={"description": ("ours", "theirs")},
        desired_hash="abc123",
        written_fields={"serial": "B", "site": ("home",)},
        instances=(("filesystem", "rack"), ("nmap", "lan")),
        missing_runs=2,
        removal=True,
        renamed_from=("home", "web-1"),
        provenance={"serial": {"source_kind": "filesystem", "instance": "rack", "location": "rack.yaml:3"}},
        live_fields={"serial": "A", "site": ("home",)},
        cascades=[("interfaces", ("home", "web-01", "eth0"), 11, {"name": "eth0", "enabled": True})],
        duplicate_of=3,
    )


def test_every_field_of_a_plan_item_survives_a_stored_round_trip():
    item = _every_field_set()
    for f in fields(PlanItem):  # the item sets them all, so none is left out of the stored form unnoticed
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        assert getattr(item, f.name) != default, f"{f.name} is left at its default"
    stored = json.loads(json.dumps(item.to_stored()))  # as the staging DB keeps it
    again = PlanItem.from_stored(stored)
    assert again == item
    assert type(again.key) is tuple and type(again.instances[0]) is tuple and type(again.cascades[0][1]) is tuple
    assert again.first_pass() == item.first_pass() and again.second_pass() == item.second_pass()


def test_a_stored_item_without_the_optional_fields_reads_back_with_their_defaults():
    stored = PlanItem(type="sites", key=("home",), action="create").to_stored()
    minimal = {name: stored[name] for name in ("type", "key", "action")}
    assert PlanItem.from_stored(minimal) == PlanItem(type="sites", key=("home",), action="create")
