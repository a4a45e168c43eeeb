"""A corpus of bad inventory files (corpus/): each problem has one exact, located message and the
good record beside it still flows; a file that cannot be read at all fails alone, with its line."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from netbox_pipeline.sources.filesystem import read_inventory_file
from netbox_pipeline.stages.collect import snapshot_rows

CORPUS = Path(__file__).parent / "corpus"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)

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
}

FILE_ERRORS = {
    "deep.yaml": "deep.yaml:3:72: nested more than 64 levels deep",
    "deep.json": "deep.json:1:97: nested more than 64 levels deep",
    "alias_bomb.yaml": "alias_bomb.yaml:7:14: aliases expand the document to more than 2,000,000 values (an alias bomb?)",
}


def read(name: str):
    return read_inventory_file(CORPUS / name, "rack", observed_at=NOW)


@pytest.mark.parametrize("name", sorted(RECORD_ERRORS))
def test_a_bad_record_fails_alone_with_its_location(name):
    expected_errors, flowing = RECORD_ERRORS[name]
    result = read(name)
    assert result.status == "ok"
    assert [str(e).replace(f"{CORPUS}/", "") for e in result.errors] == expected_errors
    assert [r.name for r in result.records] == flowing
    # the snapshot of the file can be stored: the bad record under its location, if it has no name
    assert all(row["record_key"] for row in snapshot_rows(result))


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
    "config_url_api.yaml": "config_url_api.yaml:2: netbox.url: ends in /api; give the base URL without it "
                           "(the client adds /api/)",
    "config_url_scheme.yaml": "config_url_scheme.yaml:2: netbox.url: must start with http:// or https:// and name "
                              "a host, e.g. https://netbox.example.net",
}


@pytest.mark.parametrize("name", sorted(CONFIG_ERRORS))
def test_a_bad_configuration_is_refused_with_its_location_and_no_secret(name):
    from netbox_pipeline.config import ConfigError, load_config

    with pytest.raises(ConfigError) as raised:
        load_config(CORPUS / name)
    assert [p.replace(f"{CORPUS}/", "") for p in raised.value.problems] == [CONFIG_ERRORS[name]]
    assert "hunter2" not in str(raised.value)
