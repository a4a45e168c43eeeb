"""A corpus of bad inventory files and configurations (corpus/): each problem has one exact, located
message and the good record beside it still flows; a file that cannot be read at all fails alone,
with its line. test_sync_with_bad_input.py syncs the files into NetBox."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from netbox_pipeline.sources.filesystem import read_inventory_file
from netbox_pipeline.stages.collect import snapshot_rows

CORPUS = Path(__file__).parent / "corpus"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
# What the configuration declares for these files (`custom_fields: {rack_unit: {type: integer}, ...}`).
DECLARED = {"rack_unit": "integer", "owner": "text", "since": "date"}

# file -> (record errors as printed, names of the records that flow)
RECORD_ERRORS = {
    "unnamed.yaml": (["unnamed.yaml:4 field name: required field missing"], ["good-1"]),
    "null_name.yaml": (["null_name.yaml:4 field name: must have a value, got null"], ["good-1"]),
    "python_tag.yaml": (["python_tag.yaml:4: not allowed in an inventory file (line 5): could not determine a "
                         "constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"], ["good-1"]),
    "duplicate_key.yaml": (["duplicate_key.yaml:4 bad-1 field site: duplicate key (line 6)"], ["good-1"]),
    "duplicate_key.json": (["duplicate_key.json:4 bad-1 field site: duplicate key (the second value would "
                            "silently win)"], ["good-1"]),
    "nul_in_name.csv": (["nul_in_name.csv:3 bad\\x00one field name: contains the control character U+0000 at "
                         "position 4; remove it"], ["good-1"]),
    "huge_number.csv": (["huge_number.csv:3 bad-1 field memory_mb: number 1000000000000000000000000000000 is out "
                         "of range (at most 2,147,483,647)"], ["good-1"]),
    "name_as_text.yaml": ([], ["1.50"]),
    "name_as_text.json": ([], ["1.50"]),
    "text_scalars.yaml": ([], ["1.50"]),
    "slug_collision.yaml": (["slug_collision.yaml:3 home.lab field name: 'home.lab' and 'Home Lab' "
                             "(slug_collision.yaml:2) make the same slug 'home-lab'; NetBox keeps one site per slug: "
                             "write one spelling everywhere"], ["Home Lab", "good-1", "bad-1"]),
    "custom_field_unknown.yaml": (["custom_field_unknown.yaml:5 bad-1 field custom_fields.rack_unti: unknown custom "
                                   "field; did you mean 'rack_unit'? (a file sets only the custom fields declared "
                                   "under custom_fields: in the configuration)"], ["good-1"]),
    "custom_field_type.json": (["custom_field_type.json:4 bad-1 field custom_fields.rack_unit: is an integer field, "
                                "got text '12'; write the number without quotes"], ["good-1"]),
    "custom_field_type.csv": (["custom_field_type.csv:3 bad-1 field custom_fields.rack_unit: is an integer field, "
                               "got text 'twelve'"], ["good-1"]),
}

# file -> (what the plan leaves out, as reported, and the devices it creates): problems across records,
# found when the records are merged and planned.
PLAN_ERRORS = {
    "slug_collision.yaml": (["slug_collision.yaml:7: device home-lab/bad-1 field site: site 'home-lab' and 'Home Lab' "
                             "(slug_collision.yaml:2) make the same slug 'home-lab'; NetBox keeps one site per slug: "
                             "write one spelling everywhere"], ["home-lab/good-1"]),
    "slug_collision.json": (["slug_collision.json:4: device home/web-2 field role: device role 'web.server' and "
                             "'Web Server' (slug_collision.json:3) make the same slug 'web-server'; NetBox keeps one "
                             "device role per slug: write one spelling everywhere"], ["home/good-1"]),
    "slug_collision.csv": (["slug_collision.csv:3: device home/web-2 field tags: tag 'core-net' and 'Core Net' "
                            "(slug_collision.csv:2) make the same slug 'core-net'; NetBox keeps one tag per slug: "
                            "write one spelling everywhere"], ["home/good-1"]),
}

FILE_ERRORS = {
    "deep.yaml": "deep.yaml:3:72: nested more than 64 levels deep",
    "deep.json": "deep.json:1:97: nested more than 64 levels deep",
    "alias_bomb.yaml": "alias_bomb.yaml:7:14: aliases expand the document to more than 2,000,000 values (an alias bomb?)",
    "duplicate_column.csv": "duplicate_column.csv:1: CSV header names a column twice ('site' in columns 3 and 4); "
                            "the second would silently win: keep one",
}


def read(name: str):
    return read_inventory_file(CORPUS / name, "rack", observed_at=NOW, custom_fields=DECLARED)


@pytest.mark.parametrize("name", sorted(RECORD_ERRORS))
def test_a_bad_record_fails_alone_with_its_location(name):
    expected_errors, flowing = RECORD_ERRORS[name]
    result = read(name)
    assert result.status == "ok"
    assert [str(e).replace(f"{CORPUS}/", "") for e in result.errors] == expected_errors
    assert [r.name for r in result.records] == flowing
    # the snapshot of the file can be stored: the bad record under its location, if it has no name
    assert all(row["record_key"] for row in snapshot_rows(result))


def test_text_stays_as_written_and_custom_fields_get_their_declared_type():
    (text,) = read("text_scalars.yaml").records
    assert (text.description, text.asset_tag, text.custom_fields) == ("2024-01-01", "yes", {"owner": "0.10"})
    (number,) = read("name_as_text.json").records
    assert number.description == "2024"
    good = read("custom_field_type.csv").records[0]
    assert good.custom_fields == {"rack_unit": 12, "owner": "0123", "since": "2026-11-20"}


@pytest.mark.parametrize("name", sorted(PLAN_ERRORS))
def test_a_record_colliding_across_records_is_left_out_of_the_plan_with_both_places(name):
    from netbox_pipeline.model import key_text
    from netbox_pipeline.reconcile.desired import desired_objects
    from netbox_pipeline.reconcile.merge import merge
    from netbox_pipeline.sources import default_precedence
    from netbox_pipeline.reconcile.plan import blocking, build_plan, exclude_rejected, validate_plan

    expected, created = PLAN_ERRORS[name]
    desired = desired_objects(merge([read(name)], default_precedence()))
    plan = build_plan(desired, {})
    problems = exclude_rejected(plan, desired, validate_plan(plan, desired))
    assert blocking(problems) == []
    assert [p.message.replace(f"{CORPUS}/", "") for p in problems] == expected
    assert sorted(key_text(i.key) for i in plan.items if i.type == "devices" and i.action == "create") == created


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_a_file_that_cannot_be_read_fails_its_instance_with_a_location(name):
    result = read(name)
    assert result.status == "failed"
    assert result.error == f"inventory file {CORPUS}/{FILE_ERRORS[name]}"


CONFIG_ERRORS = {
    "config_duplicate_block.yaml": "config_duplicate_block.yaml:4: netbox: given twice (first at line 1); YAML would "
                                   "silently keep only the second",
    "config_url_credentials.yaml": "config_url_credentials.yaml:2: netbox.url: holds credentials (user:password@); "
                                   "remove them: the API token (netbox.token) is the only credential sent",
    "config_ha_url_credentials.yaml": "config_ha_url_credentials.yaml:6: sources.home_assistant[0].url: holds "
                                      "credentials (user:password@); remove them: the long-lived access token (token) "
                                      "is the only credential sent",
    "config_url_api.yaml": "config_url_api.yaml:2: netbox.url: ends in /api; give the base URL without it "
                           "(the client adds /api/)",
    "config_url_scheme.yaml": "config_url_scheme.yaml:2: netbox.url: must start with http:// or https:// and name "
                              "a host, e.g. https://netbox.example.net",
    "config_timeout_infinite.yaml": "config_timeout_infinite.yaml:3: netbox.timeout_s: Input should be a finite number",
    "config_bad_cron.yaml": "config_bad_cron.yaml:2: schedules.filesystem.cron: '61 * * * *' is not a cron expression "
                            "Dagster accepts: five fields (minute hour day-of-month month day-of-week), e.g. "
                            "'*/15 * * * *'",
}


def test_custom_field_declarations_are_checked_all_at_once():
    from netbox_pipeline.config import ConfigError, load_config

    with pytest.raises(ConfigError) as raised:
        load_config(CORPUS / "config_custom_fields.yaml")
    assert [p.replace(f"{CORPUS}/", "") for p in raised.value.problems] == [
        "config_custom_fields.yaml:3: custom_fields.rack-unit: a custom field name has letters, digits and single "
        "underscores only (NetBox's rule)",
        "config_custom_fields.yaml:4: custom_fields.owner.type: Input should be 'text', 'longtext', 'integer', "
        "'decimal', 'boolean', 'date', 'datetime', 'url' or 'json'",
    ]


@pytest.mark.parametrize("name", sorted(CONFIG_ERRORS))
def test_a_bad_configuration_is_refused_with_its_location_and_no_secret(name, monkeypatch):
    from netbox_pipeline.config import ConfigError, load_config

    monkeypatch.setenv("HA_TOKEN", "a-long-lived-access-token")

    with pytest.raises(ConfigError) as raised:
        load_config(CORPUS / name)
    assert [p.replace(f"{CORPUS}/", "") for p in raised.value.problems] == [CONFIG_ERRORS[name]]
    assert "hunter2" not in str(raised.value)
