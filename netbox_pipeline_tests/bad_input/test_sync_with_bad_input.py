"""End to end against the NetBox stand-in (and the real NetBox 4.7): bad records beside good ones, in one sync."""

from pathlib import Path

import pytest

from netbox_pipeline_tests.real_netbox import REAL

CORPUS = Path(__file__).parent / "corpus"



def test_bad_records_are_left_out_and_every_good_record_reaches_netbox(make_estate):
    good = {"name": "good-1", "site": "home", "interfaces": [
        {"name": "eth0", "mac": "02:00:00:00:00:01", "ip_addresses": ["192.0.2.1/24"]}], "primary_ip4": "192.0.2.1"}
    estate = make_estate(files={"rack": {
        "sites": [{"name": "東京"}],
        "devices": [
            good,
            {"name": "tokyo-1", "site": "東京"},
            {"site": "home"},  # no name: fails alone
            {"name": "shared-mac", "site": "home", "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:01"}]},
            {"name": "wrong-primary", "site": "home", "primary_ip4": "192.0.2.1",
             "interfaces": [{"name": "eth0", "ip_addresses": ["192.0.2.50/24"]}]},
        ],
    }})
    outcome = estate.sync()
    assert outcome.success, [run.error for run in outcome.runs]
    assert estate.by_name("sites")["東京"]["slug"] == "dongjing"
    devices = estate.by_name("devices")
    assert set(devices) == {"good-1", "tokyo-1", "shared-mac", "wrong-primary"}
    assert devices["good-1"]["primary_ip4"]["address"] == "192.0.2.1/24"
    assert devices["wrong-primary"]["primary_ip4"] is None
    macs = {m["mac_address"] for m in estate.objects("mac_addresses")}
    assert "02:00:00:00:00:01" not in macs  # claimed twice: neither claim written, both reported
    with estate.staging().session() as session:
        from netbox_pipeline.staging import store

        rows = store.plan_for_run(session, store.latest_plan_run_id(session))
    skipped = {r["natural_key"]: r["reason"] for r in rows if r["action"] == "skip"}
    inventory = estate.inventory_path()
    assert any(reason.startswith(f"excluded: {inventory}:") and "MAC 02:00:00:00:00:01 is claimed by 2" in reason
               for reason in skipped.values())


# The silently-accepted class: each file holds a good record beside a bad one.
SILENT = ["slug_collision.yaml", "slug_collision.json", "slug_collision.csv", "custom_field_unknown.yaml",
          "custom_field_type.json", "custom_field_type.csv", "name_as_text.json"]


@pytest.mark.parametrize("version", ["4.7", REAL])
def test_what_was_silently_accepted_is_refused_with_its_place_and_the_good_records_reach_netbox(make_estate, version):
    entries = "\n".join(f"    - {{name: {Path(name).stem.replace('_', '-')}-{Path(name).suffix[1:]}, path: '{CORPUS / name}'}}"
                        for name in SILENT)
    estate = make_estate(version=version, files={}, extra_config="  filesystem:\n" + entries + "\n"
                         "custom_fields: {rack_unit: {type: integer}, owner: {type: text, label: Owner}, since: {type: date}}")
    outcome = estate.sync()
    assert outcome.success, [run.error for run in outcome.runs]

    devices = {(d["site"]["slug"], d["name"]) for d in estate.objects("devices")}
    assert devices == {("home-lab", "good-1"), ("home", "good-1"), ("home", "1.50")}
    assert {s["slug"]: s["name"] for s in estate.objects("sites")} == {"home-lab": "Home Lab", "home": "home"}
    assert [r["name"] for r in estate.objects("device_roles") if r["slug"] == "web-server"] == ["Web Server"]
    assert [t["name"] for t in estate.objects("tags") if t["slug"] == "core-net"] == ["Core Net"]
    # the docs' own example: rack_unit is an integer field in NetBox, and 12 is written as 12
    fields = {f["name"]: f for f in estate.sandbox.objects("extras/custom-fields")}
    assert (fields["rack_unit"]["type"]["value"], fields["owner"]["type"]["value"], fields["owner"]["label"]) == (
        "integer", "text", "Owner")
    assert "rack_unti" not in fields
    good = next(d for d in estate.objects("devices") if d["site"]["slug"] == "home" and d["name"] == "good-1")
    assert (good["custom_fields"]["rack_unit"], good["custom_fields"]["owner"], good["custom_fields"]["since"]) == (
        12, "0123", "2026-11-20")

    with estate.staging().session() as session:
        from netbox_pipeline.staging import store

        rows = store.plan_for_run(session, store.latest_plan_run_id(session))
    skipped = {r["natural_key"]: r["reason"] for r in rows if r["action"] == "skip" and r["object_type"] == "devices"}
    assert skipped == {
        "home-lab/bad-1": f"excluded: {CORPUS}/slug_collision.yaml:7: device home-lab/bad-1 field site: site 'home-lab' "
                          f"and 'Home Lab' ({CORPUS}/slug_collision.yaml:2) make the same slug 'home-lab'; NetBox keeps "
                          "one site per slug: write one spelling everywhere",
        # web-2 of the JSON and of the CSV file are one device (same site and name); the first of its two
        # collisions is its reason
        "home/web-2": f"excluded: {CORPUS}/slug_collision.json:4: device home/web-2 field role: device role "
                      f"'web.server' and 'Web Server' ({CORPUS}/slug_collision.json:3) make the same slug "
                      "'web-server'; NetBox keeps one device role per slug: write one spelling everywhere",
    }
    # the typed values read back as written: a rerun changes nothing
    rerun = estate.sync()
    assert rerun.success and estate.writes() == []
