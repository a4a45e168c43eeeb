"""Bootstrapping custom fields: a field NetBox already types differently is named, never retyped."""

import dagster as dg

from netbox_pipeline.model import CustomField
from netbox_pipeline.netbox.client import NetBoxClient
from netbox_pipeline.stages.apply import type_conflicts
from netbox_pipeline_tests.estate import small_estate

DECLARED = {"rack_unit": CustomField("rack_unit", "integer", (), "Rack unit", "")}


def test_a_field_netbox_types_differently_is_a_conflict_naming_both_types():
    existing = {"rack_unit": {"name": "rack_unit", "type": {"value": "text", "label": "Text"}}}

    [conflict] = type_conflicts(DECLARED, existing, ["rack_unit"])

    assert conflict.startswith("custom field 'rack_unit' is declared as integer but NetBox has it as text")


def test_the_same_type_a_missing_field_or_an_undeclared_one_is_no_conflict():
    same = {"rack_unit": {"name": "rack_unit", "type": {"value": "integer"}}}
    undeclared = {"owner": {"name": "owner", "type": {"value": "text"}}}

    assert type_conflicts(DECLARED, same, ["rack_unit"]) == []
    assert type_conflicts(DECLARED, {}, ["rack_unit"]) == []
    assert type_conflicts(DECLARED, undeclared, ["owner"]) == []


def test_a_sync_warns_of_a_field_netbox_types_differently_and_leaves_its_type(make_estate):
    data = small_estate()
    data["devices"][0]["custom_fields"] = {"rack_unit": 12}
    estate = make_estate(files={"rack": data}, extra_config="custom_fields: {rack_unit: {type: integer}}")
    NetBoxClient(estate.sandbox.url, estate.sandbox.token).request(
        "POST", "extras/custom-fields", json={"name": "rack_unit", "type": "text", "object_types": ["dcim.device"]})

    estate.sync()

    [field] = [f for f in estate.sandbox.objects("extras/custom-fields") if f["name"] == "rack_unit"]
    assert field["type"]["value"] == "text"  # a person's field keeps its type (and its values)
    records = dg.DagsterInstance.get().fetch_materializations(dg.AssetKey("netbox_bootstrap"), limit=1).records
    metadata = records[0].asset_materialization.metadata
    assert "declared as integer but NetBox has it as text" in metadata["custom_field_type_conflicts"].value
