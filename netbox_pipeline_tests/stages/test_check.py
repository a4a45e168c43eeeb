"""`check-config` reports every defect a run would, all at once, each on one located line."""

import logging
import re
import shutil
from pathlib import Path

import pytest

from netbox_pipeline.cli import main
from netbox_pipeline.stages.check import check_everything

CORPUS = Path(__file__).parent.parent / "bad_input" / "corpus"


@pytest.fixture(autouse=True)
def isolated_config_env(monkeypatch):
    # `--config` exports NETBOX_PIPELINE_CONFIG (for Dagster subprocesses); undo it after each test.
    monkeypatch.setenv("NETBOX_PIPELINE_CONFIG", "unset")
    monkeypatch.delenv("NETBOX_PIPELINE_CONFIG")

# Inventory defects of every kind a run reports: a slug collision in one file and across records,
# an unknown custom field, a value of the wrong type, a control character, and a file that is gone.
FILES = ["slug_collision.yaml", "slug_collision.json", "custom_field_unknown.yaml", "custom_field_type.csv",
         "nul_in_name.csv", "missing.yaml"]
DECLARED = "custom_fields: {rack_unit: {type: integer}, owner: {type: text}, since: {type: date}}"


def instance(name: str) -> str:
    return name.replace("_", "-").replace(".", "-")


def write_estate(root: Path, netbox: str) -> Path:
    (root / "inventory").mkdir(parents=True)
    for name in FILES[:-1]:
        shutil.copy(CORPUS / name, root / "inventory" / name)
    entries = "\n".join(f"    - {{name: {instance(name)}, path: inventory/{name}}}" for name in FILES)
    config = root / "netbox_pipeline.yaml"
    config.write_text(f"{netbox}\n{DECLARED}\nsources:\n  filesystem:\n{entries}\n")
    return config


def inventory_defects(root: Path) -> list[str]:
    inv = root / "inventory"
    return [
        f"{inv}/slug_collision.yaml:3 home.lab field name: 'home.lab' and 'Home Lab' ({inv}/slug_collision.yaml:2) "
        "make the same slug 'home-lab'; NetBox keeps one site per slug: write one spelling everywhere",
        f"{inv}/custom_field_unknown.yaml:5 bad-1 field custom_fields.rack_unti: unknown custom field; did you mean "
        "'rack_unit'? (a file sets only the custom fields declared under custom_fields: in the configuration)",
        f"{inv}/custom_field_type.csv:3 bad-1 field custom_fields.rack_unit: is an integer field, got text 'twelve'",
        f"{inv}/nul_in_name.csv:3 bad\\x00one field name: contains the control character U+0000 at position 4; "
        "remove it",
        f"filesystem:missing-yaml: cannot read inventory file {inv}/missing.yaml: No such file or directory",
        f"{inv}/slug_collision.json:4: device home/web-2 field role: device role 'web.server' and 'Web Server' "
        f"({inv}/slug_collision.json:3) make the same slug 'web-server'; NetBox keeps one device role per slug: "
        "write one spelling everywhere",
        f"{inv}/slug_collision.yaml:7: device home-lab/bad-1 field site: site 'home-lab' and 'Home Lab' "
        f"({inv}/slug_collision.yaml:2) make the same slug 'home-lab'; NetBox keeps one site per slug: write one "
        "spelling everywhere",
    ]


def test_every_problem_of_the_configuration_and_the_files_is_reported_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    (tmp_path / "state").write_text("not a directory")
    monkeypatch.setenv("EMPTY_URL", "")
    config = write_estate(tmp_path, "netbox:\n  url: netbox.example.net\n  timeout_s: 1e400\n"
                                    "schedules:\n  filesystem: {cron: '61 * * * *'}\nstate_dir: state")
    config_defects = [
        f"{config}:2: netbox.url: must start with http:// or https:// and name a host, e.g. https://netbox.example.net",
        f"{config}:3: netbox.timeout_s: Input should be a finite number",
        f"{config}:5: schedules.filesystem.cron: '61 * * * *' is not a cron expression Dagster accepts: five fields "
        "(minute hour day-of-month month day-of-week), e.g. '*/15 * * * *'",
    ]
    place_defects = [f"{config}:6: state_dir: {tmp_path}/state is a file, not a directory; point it at a directory"]

    report = check_everything(config)
    assert report.config_problems == config_defects
    assert report.problems == place_defects + inventory_defects(tmp_path)
    assert report.records == {"slug-collision-yaml": 3, "slug-collision-json": 2, "custom-field-unknown-yaml": 1,
                              "custom-field-type-csv": 1, "nul-in-name-csv": 1, "missing-yaml": None}

    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "check-config"]) == 2  # the configuration itself is bad
    out, err = capsys.readouterr()
    assert err.splitlines() == config_defects + place_defects + inventory_defects(tmp_path) + ["11 problem(s) found"]
    assert "inventory slug-collision-yaml: 3 good record(s)" in out and "inventory missing-yaml: not readable" in out


def test_url_settings_a_run_refuses_are_each_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMPTY_URL", "")
    for url, message in [
        ("ftp://netbox.example.net", "must start with http:// or https:// and name a host, e.g. https://netbox.example.net"),
        ("${EMPTY_URL}", "is empty (an environment variable it names may be empty); give NetBox's base URL"),
        ("https://netbox.example.net/api/", "ends in /api; give the base URL without it (the client adds /api/)"),
        ("https://admin:hunter2@netbox.example.net", "holds credentials (user:password@); remove them: the API token "
                                                     "(netbox.token) is the only credential sent"),
    ]:
        config = tmp_path / "netbox_pipeline.yaml"
        config.write_text(f"netbox: {{url: '{url}'}}\n")
        assert main(["--config", str(config), "check-config"]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [f"{config}:1: netbox.url: {message}", "1 problem(s) found"]
        assert "hunter2" not in err


def test_a_good_configuration_with_clean_files_is_ok(tmp_path, monkeypatch, capsys):
    (tmp_path / "rack.yaml").write_text("devices:\n  - {name: good-1, site: home, custom_fields: {rack_unit: 12}}\n")
    config = tmp_path / "netbox_pipeline.yaml"
    config.write_text(f"netbox: {{url: 'https://netbox.example.net', token: '${{NB_TOKEN}}'}}\n{DECLARED}\n"
                      "sources:\n  filesystem: [{name: rack, path: rack.yaml}]\n")
    monkeypatch.setenv("NB_TOKEN", "0123456789abcdef0123456789abcdef01234567")
    assert main(["--config", str(config), "check-config"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["inventory rack: 1 good record(s)", "ok: no problems found"]


def test_check_config_reports_exactly_what_a_sync_reports(make_estate):
    """The same files, synced: every record error and every exclusion the run logs is one check-config
    reported beforehand, and nothing more."""
    import dagster as dg

    estate = make_estate(version="4.7", files={"rack": {"devices": [{"name": "fine", "site": "home"}]}})
    root = estate.root / "check"
    config = write_estate(root, estate.config_path.read_text().split("\nsources:")[0])
    report = check_everything(config)
    assert report.config_problems == []
    expected = inventory_defects(root)
    assert report.problems == expected

    estate.config_path.write_text(config.read_text())
    shutil.copytree(root / "inventory", estate.root / "inventory", dirs_exist_ok=True)
    outcome = estate.sync()
    run_reported = set()
    with dg.DagsterInstance.get() as instance:
        for run in outcome.runs:
            for entry in instance.all_logs(run.run_id):
                message = entry.user_message or ""
                if entry.level != logging.WARNING:
                    continue
                if message.startswith("left out of the plan: "):
                    run_reported.add(message.removeprefix("left out of the plan: "))
                elif message.startswith("filesystem:"):  # filesystem:<instance>: <record error>
                    run_reported.add(message.split(": ", 1)[1])
            if not run.success:  # a file that cannot be read fails its instance's run
                failed = re.fullmatch(r"filesystem_inventory: (filesystem:\S+) failed: (.*)", run.error)
                run_reported.add(f"{failed[1]}: {failed[2]}")
    assert run_reported == {line.replace(str(root), str(estate.root)) for line in expected}
