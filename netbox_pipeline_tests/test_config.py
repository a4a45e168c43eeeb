import textwrap
from pathlib import Path

import pytest

from netbox_pipeline.config import ConfigError, load_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in ("NETBOX_PIPELINE_CONFIG", "NETBOX_TOKEN", "NETBOX_PIPELINE_NETBOX__URL", "NETBOX_PIPELINE_NETBOX__CHUNK_SIZE"):
        monkeypatch.delenv(key, raising=False)


def write(tmp_path: Path, text: str, name: str = "netbox_pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_good_file_loads_with_paths_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NB_TOKEN", "0123456789abcdef0123456789abcdef01234567")
    path = write(tmp_path, """
        netbox: {url: "http://127.0.0.1:8000", token: "${NB_TOKEN}", chunk_size: 50}
        staging: {url: "sqlite:///state/staging.sqlite"}
        sources:
          filesystem:
            - {name: rack-a, path: inventory/rack-a.yaml}
        deletion: {grace_runs: 5}
        schedules:
          filesystem: {cron: "0 * * * *"}
    """)
    config = load_config(path)
    assert config.netbox.url == "http://127.0.0.1:8000"
    assert config.netbox.token.get_secret_value() == "0123456789abcdef0123456789abcdef01234567"
    assert config.netbox.chunk_size == 50
    assert config.deletion.grace_runs == 5 and config.deletion.max_ratio == 0.1
    assert config.staging_url == f"sqlite:///{tmp_path / 'state' / 'staging.sqlite'}"
    assert config.resolve_path(config.sources.filesystem[0].path) == tmp_path / "inventory" / "rack-a.yaml"
    assert config.sources.configured_kinds() == ["filesystem"]
    assert config.schedules["filesystem"].enabled is False


def test_missing_default_file_means_empty_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.sources.configured_kinds() == []
    assert config.config_path is None
    assert config.staging_url == f"sqlite:///{tmp_path / '.netbox_pipeline' / 'staging.sqlite'}"


def test_explicit_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NETBOX_PIPELINE_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml: configuration file not found"):
        load_config()


def test_missing_required_field_names_file_line_and_key_path(tmp_path):
    path = write(tmp_path, """
        sources:
          proxmox:
            - name: pve1
              host: pve1.example.net
            - name: pve2
              user: root@pam
    """)
    assert problems_of(path) == [f"{path}:6: sources.proxmox[1].host: Field required"]


def test_unknown_key_is_an_error_not_ignored(tmp_path):
    path = write(tmp_path, """
        netbox:
          url: http://127.0.0.1:8000
          chunksize: 10
    """)
    assert problems_of(path) == [f"{path}:4: netbox.chunksize: unknown key (not a setting; check the spelling)"]


def test_unknown_section_is_an_error(tmp_path):
    path = write(tmp_path, "sourcez: {}\n")
    assert "sourcez: unknown key" in problems_of(path)[0]


def test_a_source_kind_with_no_collector_is_a_located_error(tmp_path):
    # Accepting it would give a green run that never looked at the system the user configured.
    path = write(tmp_path, """
        sources:
          filesystem:
            - {name: rack, path: rack.yaml}
          snmp:
            - {name: core, host: 127.0.0.1}
    """)
    from netbox_pipeline.sources import SOURCES

    assert "snmp" not in SOURCES and list(SOURCES)[:2] == ["filesystem", "proxmox"]
    assert problems_of(path) == [
        f"{path}:6: sources.snmp: unknown source kind 'snmp': this version has no collector for it "
        "(known kinds: filesystem, proxmox, truenas, home_assistant, nmap)"
    ]


def test_every_registered_kind_is_a_sources_key_with_its_own_model():
    from netbox_pipeline.config import SourcesConfig
    from netbox_pipeline.sources import SOURCES

    assert set(SourcesConfig.model_fields) == set(SOURCES)
    for kind, source in SOURCES.items():
        assert SourcesConfig.model_fields[kind].annotation == list[source.config_model]


def test_a_source_is_registered_by_one_line_and_every_source_module_is_registered():
    """`REGISTERED` names each source module once; each is imported from there (the layer test,
    which reads import statements, checks the modules themselves)."""
    import importlib
    import pkgutil

    import netbox_pipeline.sources as package
    from netbox_pipeline.sources import REGISTERED, SOURCES

    assert len(REGISTERED) == len(set(REGISTERED)) == len(SOURCES)
    for module, (kind, source) in zip(REGISTERED, SOURCES.items(), strict=True):
        assert importlib.import_module(f"netbox_pipeline.sources.{module}").KIND is source and source.kind == kind
    with_kind = {info.name for info in pkgutil.iter_modules(package.__path__)
                 if hasattr(importlib.import_module(f"netbox_pipeline.sources.{info.name}"), "KIND")}
    assert with_kind == set(REGISTERED)


def test_schedules_name_registered_kinds_only(tmp_path):
    path = write(tmp_path, "schedules: {snmp: {cron: '0 * * * *'}}\n")
    assert "unknown source kind(s) ['snmp']" in problems_of(path)[0]


def test_wrong_type_and_range(tmp_path):
    path = write(tmp_path, """
        netbox: {chunk_size: 0}
        deletion: {mode: shred}
    """)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:2: netbox.chunk_size:") and "greater than or equal to 1" in p for p in problems)
    assert any("deletion.mode:" in p and "'delete' or 'offline'" in p for p in problems)


def test_invalid_yaml_names_line_and_column(tmp_path):
    path = write(tmp_path, "netbox:\n  url: [unclosed\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3:") and "invalid YAML" in problem


def test_top_level_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "- just\n- a list\n")
    assert "top level must be a mapping" in problems_of(path)[0]


def test_secret_literal_in_file_is_refused_without_echoing_it(tmp_path):
    path = write(tmp_path, """
        netbox: {url: "http://127.0.0.1:8000", token: "0123456789abcdef0123456789abcdef01234567"}
    """)
    (problem,) = problems_of(path)
    assert "netbox.token: secrets are read from the environment only" in problem
    assert "${NETBOX_TOKEN}" in problem
    assert "0123456789abcdef" not in problem


def test_secret_of_a_source_must_be_a_reference(tmp_path):
    path = write(tmp_path, """
        sources:
          proxmox:
            - {name: pve, host: pve.example.net, token_name: np, token_value: plain-text}
    """)
    (problem,) = problems_of(path)
    assert "sources.proxmox[0].token_value: secrets are read from the environment only" in problem
    assert "plain-text" not in problem


def test_secret_from_default_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NETBOX_TOKEN", "nbt_abc.def")
    config = load_config(write(tmp_path, "netbox: {url: 'http://127.0.0.1:8000'}\n"))
    assert config.netbox.token.get_secret_value() == "nbt_abc.def"
    assert "nbt_abc" not in repr(config) and "nbt_abc" not in str(config.model_dump())


def test_unset_variable_reference_is_an_error(tmp_path):
    path = write(tmp_path, "netbox: {token: '${NO_SUCH_VARIABLE_X}'}\n")
    assert problems_of(path) == [f"{path}:1: netbox.token: environment variable NO_SUCH_VARIABLE_X is not set"]


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = write(tmp_path, "netbox: {url: 'http://127.0.0.1:8000', chunk_size: 100}\n")
    monkeypatch.setenv("NETBOX_PIPELINE_NETBOX__URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("NETBOX_PIPELINE_NETBOX__CHUNK_SIZE", "25")
    config = load_config(path)
    assert config.netbox.url == "http://127.0.0.1:9000"
    assert config.netbox.chunk_size == 25


def test_interpolation_in_ordinary_values(tmp_path, monkeypatch):
    monkeypatch.setenv("NB_HOST", "127.0.0.1:8123")
    config = load_config(write(tmp_path, "netbox: {url: 'http://${NB_HOST}/'}\n"))
    assert config.netbox.url == "http://127.0.0.1:8123/"


def test_duplicate_instance_names_are_an_error(tmp_path):
    path = write(tmp_path, """
        sources:
          filesystem:
            - {name: a, path: a.yaml}
            - {name: a, path: b.yaml}
    """)
    assert any("sources.filesystem: instance name 'a' is used twice" in p for p in problems_of(path))


def test_example_config_in_repo_is_valid(monkeypatch):
    from netbox_pipeline_tests.conftest import REPO_ROOT

    monkeypatch.setenv("NETBOX_TOKEN", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("PVE_TOKEN", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("HA_TOKEN", "eyJhbGciOiJIUzI1NiJ9.example")
    config = load_config(REPO_ROOT / "netbox_pipeline.example.yaml")
    assert config.sources.configured_kinds()


def test_every_problem_is_listed_at_once_even_after_a_key_given_twice(tmp_path):
    path = write(tmp_path, """
        netbox: {url: "http://127.0.0.1:8000"}
        netbox: {url: "ftp://x", timeout_s: 1e400}
        schedules:
          filesystem: {cron: "0 * * *", timezone: Mars/Olympus}
    """)
    assert problems_of(path) == [
        f"{path}:3: netbox: given twice (first at line 2); YAML would silently keep only the second",
        f"{path}:3: netbox.url: must start with http:// or https:// and name a host, e.g. https://netbox.example.net",
        f"{path}:3: netbox.timeout_s: Input should be a finite number",
        f"{path}:5: schedules.filesystem.cron: '0 * * *' is not a cron expression Dagster accepts: five fields "
        "(minute hour day-of-month month day-of-week), e.g. '*/15 * * * *'",
        f"{path}:5: schedules.filesystem.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC or "
        "Europe/Berlin",
    ]


def test_declared_custom_fields_join_the_sources_own(tmp_path):
    path = write(tmp_path, """
        netbox: {owner_tag: ours}
        custom_fields:
          rack_unit: {type: integer}
          owner: {type: text, label: Owner team, description: Who runs it}
    """)
    config = load_config(path)
    types = config.custom_field_types()
    assert (types["rack_unit"], types["owner"], types["proxmox_vmid"]) == ("integer", "text", "integer")
    specs = config.custom_field_specs()
    assert (specs["rack_unit"].label, specs["rack_unit"].description) == ("Rack unit", "Set by ours")
    assert (specs["owner"].label, specs["owner"].description) == ("Owner team", "Who runs it")
    assert problems_of(write(tmp_path, "custom_fields: {proxmox_vmid: {type: text}}\n")) == [
        f"{tmp_path}/netbox_pipeline.yaml:1: custom_fields.proxmox_vmid: a field the sources define themselves "
        "(type integer); remove it here"]


# --- environment overrides and short secrets name where the value came from -----------------------


def test_a_bad_environment_override_names_the_variable_not_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "netbox:\n  url: 'http://127.0.0.1:8000'\n  timeout_s: 5\n")
    monkeypatch.setenv("NETBOX_PIPELINE_NETBOX__TIMEOUT_S", "soon")
    monkeypatch.setenv("netbox_pipeline_netbox__url", "ftp://nb")  # matched case-insensitively, like pydantic does
    assert problems_of(path) == [
        "environment variable netbox_pipeline_netbox__url: netbox.url: must start with http:// or https:// and name a host, "
        "e.g. https://netbox.example.net",
        "environment variable NETBOX_PIPELINE_NETBOX__TIMEOUT_S: netbox.timeout_s: Input should be a valid number, "
        "unable to parse string as a number",
    ]


def test_a_section_override_that_is_not_json_names_the_variable(tmp_path, monkeypatch):
    path = write(tmp_path, "deletion: {grace_runs: 2}\n")
    monkeypatch.setenv("NETBOX_PIPELINE_DELETION", "{grace_runs: 3")
    assert problems_of(path) == [
        "environment variable NETBOX_PIPELINE_DELETION: the whole deletion section must be JSON here "
        "(Expecting property name enclosed in double quotes at character 1); or set one key with "
        "NETBOX_PIPELINE_DELETION__<KEY>"]


def test_a_json_section_override_names_the_variable(tmp_path, monkeypatch):
    path = write(tmp_path, "netbox:\n  retries: 2\n")
    monkeypatch.setenv("NETBOX_PIPELINE_NETBOX", '{"retries": -1}')
    assert problems_of(path) == ["environment variable NETBOX_PIPELINE_NETBOX: netbox.retries: Input should be greater than or equal to 0"]


def test_a_file_error_beside_an_unrelated_override_still_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "netbox:\n  url: 'http://127.0.0.1:8000'\n  retries: -1\n")
    monkeypatch.setenv("NETBOX_PIPELINE_NETBOX__TIMEOUT_S", "5")
    assert problems_of(path) == [f"{path}:3: netbox.retries: Input should be greater than or equal to 0"]


@pytest.mark.parametrize("where", ["reference", "default", "override"])
def test_a_secret_too_short_to_mask_is_refused_naming_its_variable(tmp_path, monkeypatch, where):
    text = {"reference": "netbox:\n  token: ${NB_TOKEN}\n", "default": "netbox:\n  url: 'http://127.0.0.1:8000'\n",
            "override": "netbox: {}\n"}[where]
    path = write(tmp_path, text)
    variable = {"reference": "NB_TOKEN", "default": "NETBOX_TOKEN", "override": "NETBOX_PIPELINE_NETBOX__TOKEN"}[where]
    monkeypatch.setenv(variable, "a")
    origin = f"{path}:2" if where == "reference" else f"environment variable {variable}"
    named = f" in ${variable}" if where == "reference" else ""
    assert problems_of(path) == [
        f"{origin}: netbox.token: the secret{named} is 1 character(s) long; at least 8 are needed to mask it in "
        "messages without blanking ordinary words: use a longer token (an API token rather than a password)"]


def test_a_short_source_password_is_refused_and_an_eight_character_one_is_accepted(tmp_path, monkeypatch):
    path = write(tmp_path, """
        sources:
          proxmox:
            - {name: pve, host: 127.0.0.1, user: root@pam, password: '${PVE_PASSWORD}'}
    """)
    monkeypatch.setenv("PVE_PASSWORD", "hunter2")
    assert problems_of(path) == [
        f"{path}:4: sources.proxmox[0].password: the secret in $PVE_PASSWORD is 7 character(s) long; at least 8 are "
        "needed to mask it in messages without blanking ordinary words: use a longer token (an API token rather than a password)"]
    monkeypatch.setenv("PVE_PASSWORD", "hunter22")
    assert load_config(path).sources.proxmox[0].password.get_secret_value() == "hunter22"
