"""Duplicates in NetBox (pure): the pipeline's own extra copies are deleted by the plan, every other
duplicate is a finding naming each id. The live side is NetBox's JSON as one read returns it."""

from netbox_pipeline.model import Interface
from netbox_pipeline.netbox.schema import build_live
from netbox_pipeline.reconcile.desired import desired_objects
from netbox_pipeline.reconcile.duplicates import duplicate_referrers, sort_duplicates
from netbox_pipeline.reconcile.plan import SyncPolicy, build_plan, duplicate_removals, validate_plan
from netbox_pipeline_tests.reconcile.test_plan_parts import NAS, OWNED, _inventory

MAC = "02:00:00:00:00:01"
MAC_KEY = ("interfaces", "home", "nas01", "eth0", MAC)


def _snapshot(macs, primary_mac=None, extra_interfaces=()):
    """NetBox as read: a site, our device nas01 with eth0 (its primary MAC `primary_mac`), MACs on eth0."""
    interfaces = [{"id": 200, "device": {"id": 10}, "name": "eth0", "tags": OWNED,
                   "primary_mac_address": None if primary_mac is None else {"id": primary_mac, "mac_address": MAC}}]
    interfaces += extra_interfaces
    return {
        "sites": [{"id": 1, "slug": "home", "name": "home", "tags": []}],
        "devices": [{"id": 10, "site": {"id": 1}, "name": "nas01", "tags": OWNED}],
        "interfaces": interfaces,
        "mac_addresses": [{"id": object_id, "mac_address": MAC, "assigned_object_type": "dcim.interface",
                           "assigned_object_id": 200, "tags": tags} for object_id, tags in macs],
    }


def _read(snapshot):
    """What `stages.plan.read_netbox` does with one read."""
    live = build_live(snapshot)
    live.referrers = duplicate_referrers(snapshot, live)
    return live


def _plan(live):
    desired = desired_objects(_inventory(disks=(), interfaces=[Interface(name="eth0", mac=MAC)]))
    return build_plan(desired, live, healthy_instances={NAS}, policy=SyncPolicy(grace_runs=3)), desired


def test_our_unreferenced_copy_is_deleted_and_the_first_kept():
    plan, _ = _plan(_read(_snapshot([(301, OWNED), (302, OWNED)], primary_mac=301)))

    [removal] = duplicate_removals(plan)
    assert (removal.type, removal.key, removal.action, removal.netbox_id, removal.duplicate_of) == (
        "mac_addresses", MAC_KEY, "delete", 302, 301)
    assert "id 302 duplicates id 301" in removal.reason and "removed" in removal.reason
    assert plan.item("mac_addresses", MAC_KEY).netbox_id == 301  # the key still means the one kept
    assert plan.duplicate_findings == []
    # The object stays in NetBox once: not a removal the deletion guard counts.
    assert plan.delete_ratio() == 0 and not removal.removal and removal.cascades == []


def test_the_copy_an_interface_points_at_is_kept_and_the_other_deleted():
    # A racing run's second pass set eth0's primary MAC to its own copy, the higher id.
    plan, _ = _plan(_read(_snapshot([(301, OWNED), (302, OWNED)], primary_mac=302)))

    [removal] = duplicate_removals(plan)
    assert (removal.netbox_id, removal.duplicate_of) == (301, 302)
    assert plan.item("mac_addresses", MAC_KEY).netbox_id == 302
    assert plan.index.resolve_id("mac_addresses", MAC_KEY) == 302  # references resolve to the copy kept
    assert plan.item("interfaces", ("home", "nas01", "eth0")).action == "unchanged"


def test_a_person_s_copy_is_a_finding_with_both_ids_and_nothing_is_deleted():
    live = _read(_snapshot([(301, OWNED), (302, [])], primary_mac=301))
    plan, desired = _plan(live)

    assert duplicate_removals(plan) == [] and plan.deletions() == []
    [finding] = plan.duplicate_findings
    assert finding.ids == (301, 302)
    assert "ids 301, 302" in finding.message and "id 302 does not carry the owner tag" in finding.message
    [problem] = [p for p in validate_plan(plan, desired) if p.check == "live_duplicate"]
    assert problem.severity == "warning" and "ids 301, 302" in problem.message


def test_copies_that_differ_are_a_finding_naming_the_fields():
    tagged = OWNED + [{"slug": "person-added"}]
    plan, _ = _plan(_read(_snapshot([(301, OWNED), (302, tagged)], primary_mac=301)))

    assert duplicate_removals(plan) == []
    [finding] = plan.duplicate_findings
    assert finding.why == "they differ in tags"


def test_copies_each_pointed_at_are_a_finding_naming_who_points():
    # Another interface of ours names the second copy as its primary MAC.
    other = {"id": 201, "device": {"id": 10}, "name": "eth1", "tags": OWNED,
             "primary_mac_address": {"id": 302, "mac_address": MAC}}
    plan, _ = _plan(_read(_snapshot([(301, OWNED), (302, OWNED)], primary_mac=301, extra_interfaces=[other])))

    assert duplicate_removals(plan) == []
    [finding] = plan.duplicate_findings
    assert "id 301 is used by interfaces 200" in finding.why and "id 302 is used by interfaces 201" in finding.why


def test_without_the_referrers_of_the_read_nothing_is_deleted():
    plan, _ = _plan(build_live(_snapshot([(301, OWNED), (302, OWNED)])))

    assert duplicate_removals(plan) == []
    assert [f.why for f in plan.duplicate_findings] == ["what points at them was not read"]


def test_duplicates_of_a_type_never_pruned_are_findings():
    snapshot = {"sites": [{"id": 1, "slug": "home", "name": "home", "tags": OWNED},
                          {"id": 2, "slug": "home", "name": "home", "tags": OWNED}]}
    live = _read(snapshot)

    found = sort_duplicates(live.objects, live.duplicates, live.referrers)

    assert found.removals == []
    assert [(f.ids, f.why) for f in found.findings] == [((1, 2), "sites are never deleted by the pipeline")]


def test_a_removed_copy_no_longer_holds_the_copy_it_points_at():
    # Three copies of one MAC on eth0, none pointed at: the two extras go, the first stays.
    live = _read(_snapshot([(301, OWNED), (302, OWNED), (303, OWNED)]))

    found = sort_duplicates(live.objects, live.duplicates, live.referrers)

    assert sorted(r.extra.id for r in found.removals) == [302, 303]
    assert {r.kept.id for r in found.removals} == {301} and found.findings == []


def test_referrers_come_from_the_read_and_only_for_duplicated_objects():
    snapshot = _snapshot([(301, OWNED), (302, OWNED)], primary_mac=302)
    live = build_live(snapshot)

    referrers = duplicate_referrers(snapshot, live)

    assert referrers == {("mac_addresses", 301): (), ("mac_addresses", 302): (("interfaces", 200),)}
    assert duplicate_referrers(_snapshot([(301, OWNED)]), build_live(_snapshot([(301, OWNED)]))) == {}

