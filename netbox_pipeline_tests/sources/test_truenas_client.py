"""The TrueNAS client and collector against the TLS sandbox: auth per version, failures, degraded
parts, query options, and a 2,000-disk / 200-share NAS collected within bounded memory."""

import json
import socket
import tracemalloc
from datetime import datetime, timezone

import pytest
from pydantic import SecretStr

from netbox_pipeline.config import ConfigError, load_config
from netbox_pipeline.sandbox.truenas import TrueNASSandbox, generated_nas
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.sources.truenas import RpcError, TrueNASClient, TrueNASConfig, TrueNASError, collect_truenas
from netbox_pipeline.stages.collect import collect_context

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
DEFAULTS = {"site": "home", "device_role": "server", "vm_role": "vm"}
WRONG_KEY = "2-0000000000000000000000000000000000000000000000000000000000000000"


@pytest.fixture(params=["24.10", "25.04", "25.10"])
def nas(request):
    with TrueNASSandbox(request.param) as sandbox:
        yield sandbox


@pytest.fixture
def nas25():
    with TrueNASSandbox("25.04") as sandbox:
        yield sandbox


def config_for(sandbox, **changes):
    values = {"name": "nas01", "host": sandbox.host, "port": sandbox.port, "api_key": SecretStr(sandbox.api_key),
              "username": sandbox.username, "timeout_s": 20}  # generous: other test runs share the 2 cores
    values.update(changes)
    return TrueNASConfig(**values)


def collect(sandbox, ca_cert="sandbox", **changes):
    ca = sandbox.ca_cert_path if ca_cert == "sandbox" else ca_cert
    return collect_truenas(config_for(sandbox, **changes), NOW, DEFAULTS, ca_cert=ca)


def everything_stored(result) -> str:
    """All a run keeps or shows of a result: records, raw payloads, errors, warnings."""
    return json.dumps({"records": [r.model_dump(mode="json") for r in result.records], "raw": result.raw_records,
                       "errors": [e.to_dict() for e in result.errors], "warnings": result.warnings,
                       "error": result.error, "disks": [d.__dict__ for d in getattr(result, "disks", [])]},
                      default=str)


# ============================================================================ authentication per version


def test_each_version_logs_in_the_way_it_offers_and_is_collected(nas):
    result = collect(nas)
    assert result.status == "ok", result.error
    guests = 2 if nas.version == "24.10" else 3  # 25.04+ also answer virt.instance.query: a container
    assert result.counts() == {"device": 1, "cluster": 1, "virtual_machine": guests, "service": 2, "inventory_item": 10}
    assert (len(result.disks), len(result.pools), result.missing, result.warnings) == (8, 2, [], [])
    if nas.version != "24.10":
        (jellyfin,) = [v for v in result.of_type("virtual_machine") if v.name == "jellyfin"]
        assert (jellyfin.platform, jellyfin.vcpus, jellyfin.memory_mb, jellyfin.primary_ip4, jellyfin.description) == (
            "Debian", 2.0, 2048, "192.168.10.31", "container")
    methods = [c.method for c in nas.calls]
    expected_login = "auth.login_with_api_key" if nas.version == "24.10" else "auth.login_ex"
    assert methods[:2] == ["auth.mechanism_choices", expected_login]
    other_login = {"auth.login_ex", "auth.login_with_api_key"} - {expected_login}
    assert not other_login & set(methods)
    assert all(c.authenticated for c in nas.calls[2:])


def test_24_10_has_no_virt_instances_and_says_nothing_about_it():
    with TrueNASSandbox("24.10") as sandbox:
        result = collect(sandbox)
        assert result.status == "ok" and result.warnings == [] and result.missing == []
        assert [c.outcome for c in sandbox.calls if c.method == "virt.instance.query"] == ["-32601"]


def test_without_a_username_25_04_falls_back_to_the_older_login(nas25):
    assert collect(nas25, username=None).status == "ok"
    assert "auth.login_with_api_key" in [c.method for c in nas25.calls]


def test_without_a_username_and_without_the_older_login_the_error_says_set_username(nas25):
    nas25.remove_method("auth.login_with_api_key")
    result = collect(nas25, username=None)
    assert result.status == "failed"
    assert "set username" in result.error and f"truenas nas01 (127.0.0.1:{nas25.port})" in result.error


def test_a_bad_key_fails_the_instance_without_showing_any_key(nas):
    result = collect(nas, api_key=SecretStr(WRONG_KEY))
    assert result.status == "failed" and result.records == []
    assert result.error.startswith(f"truenas nas01 (127.0.0.1:{nas.port}): authentication failed")
    assert WRONG_KEY not in result.error and nas.api_key not in result.error
    assert WRONG_KEY[2:12] not in everything_stored(result)


def test_a_key_of_another_user_is_refused_on_25(nas25):
    result = collect(nas25, username="someone-else")
    assert result.status == "failed" and "'someone-else' was not accepted" in result.error


def test_an_expired_key_says_so(nas25):
    nas25.key_expired = True
    result = collect(nas25)
    assert result.status == "failed" and "expired or was revoked" in result.error


def test_no_key_configured_is_a_clear_failure(nas25):
    result = collect(nas25, api_key=None)
    assert result.status == "failed" and "no api_key configured" in result.error
    assert nas25.calls == []


# ============================================================================ connection failures


def test_a_refused_port_fails_the_instance():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = TrueNASConfig(name="nas01", host="127.0.0.1", port=port, api_key=SecretStr(WRONG_KEY), timeout_s=20)
    result = collect_truenas(config, NOW, DEFAULTS)
    assert result.status == "failed"
    assert result.error == f"truenas nas01 (127.0.0.1:{port}): cannot connect: connection refused"


def test_tls_verification_refuses_the_sandbox_certificate_without_its_ca(nas25):
    result = collect(nas25, ca_cert=None)
    assert result.status == "failed"
    assert "TLS error: the server certificate is not trusted" in result.error
    assert "ca_cert" in result.error and nas25.calls == []


def test_the_ca_cert_makes_it_trusted_and_verify_ssl_false_accepts_anything(nas25):
    assert collect(nas25).status == "ok"
    assert collect(nas25, ca_cert=None, verify_ssl=False).status == "ok"


def test_a_missing_ca_cert_file_is_named(nas25, tmp_path):
    result = collect(nas25, ca_cert=tmp_path / "nope.pem")
    assert result.status == "failed" and f"ca_cert {tmp_path / 'nope.pem'} is not a readable file" in result.error


def test_a_wrong_api_path_is_a_404_with_a_hint(nas25):
    result = collect(nas25, api_path="/api/v24.10.0")
    assert result.status == "failed" and "/api/v24.10.0 answered 404" in result.error


def test_a_pinned_api_version_works(nas25):
    assert collect(nas25, api_path="/api/v25.04.0").status == "ok"


def test_a_hung_call_times_out_and_fails_the_instance(nas25):
    nas25.delay("pool.query", 60)
    result = collect(nas25, timeout_s=2)
    assert result.status == "failed"
    assert result.error == f"truenas nas01 (127.0.0.1:{nas25.port}): pool.query: no answer within 2 s (timeout_s)"


# ============================================================================ degraded parts


def test_a_method_the_server_lacks_degrades_that_part_with_a_warning(nas25):
    nas25.remove_method("disk.query")
    result = collect(nas25)
    assert result.status == "ok"
    assert result.missing == ["disks"] and result.disks == [] and len(result.pools) == 2
    [warning] = result.warnings
    assert warning == (f"truenas nas01 (127.0.0.1:{nas25.port}): disk.query: this server has no such method; "
                       "disks are left as they are this run")
    assert result.counts()["device"] == 1


def test_a_share_method_missing_drops_only_that_service(nas25):
    nas25.remove_method("sharing.smb.query")
    result = collect(nas25)
    assert [s.name for s in result.of_type("service")] == ["NFS"] and result.missing == ["smb_shares"]


def test_a_method_the_key_may_not_call_is_a_warning_naming_the_role(nas25):
    nas25.deny("sharing.nfs.query")
    result = collect(nas25)
    assert result.status == "ok" and result.missing == ["nfs_shares"]
    assert "permission denied (Not authorized)" in result.warnings[0] and "READONLY_ADMIN" in result.warnings[0]


def test_without_system_info_the_instance_fails(nas25):
    nas25.deny("system.info")
    result = collect(nas25)
    assert result.status == "failed" and "system.info: permission denied" in result.error


# ============================================================================ the protocol itself


def test_calls_before_login_are_not_authenticated_and_unknown_methods_do_not_exist(nas25):
    with TrueNASClient(config_for(nas25), nas25.ca_cert_path) as client:
        with pytest.raises(RpcError) as refused:
            client.call("system.info")
        assert (refused.value.code, refused.value.errno, refused.value.reason) == (-32001, 199, "Not authenticated")
        client.login()
        with pytest.raises(RpcError) as missing:
            client.call("no.such.method")
        assert missing.value.method_missing and missing.value.reason == "Method does not exist"
        assert client.call("core.ping") == "pong"


def test_query_options_select_filter_and_count(nas25):
    with TrueNASClient(config_for(nas25), nas25.ca_cert_path) as client:
        client.login()
        rows = client.call("disk.query", [["type", "=", "SSD"]], {"select": ["name", "serial"]})
        assert rows == [{"name": "nvme0n1", "serial": "S4EWNX0R001230"}, {"name": "nvme1n1", "serial": "S4EWNX0R101231"}]
        assert client.call("disk.query", [], {"count": True}) == 8
        assert client.call("disk.query", [["name", "=", "sda"]], {"get": True, "select": ["pool"]}) == {"pool": None}
        assert client.call("disk.query", [["name", "=", "sda"]], {"get": True, "select": ["pool"],
                                                                  "extra": {"pools": True}}) == {"pool": "tank"}
        with pytest.raises(RpcError) as bad:
            client.call("disk.query", [["name", "like", "sd"]])
        assert bad.value.code == -32602


def test_a_closed_client_call_is_a_located_error(nas25):
    client = TrueNASClient(config_for(nas25), nas25.ca_cert_path)
    with pytest.raises(TrueNASError, match=r"truenas nas01 \(127.0.0.1:\d+\): not connected"):
        client.call("core.ping")


def test_no_secret_in_anything_stored(nas):
    result = collect(nas)
    assert nas.api_key not in everything_stored(result)
    assert nas.api_key[2:14] not in everything_stored(result)


# ============================================================================ scale


def test_a_2000_disk_200_share_nas_is_collected_within_bounded_memory():
    with TrueNASSandbox("25.10", nas=generated_nas(disks=2000, shares=200)) as sandbox:
        config = config_for(sandbox, timeout_s=60)
        tracemalloc.start()
        try:
            result = collect_truenas(config, NOW, DEFAULTS, ca_cert=sandbox.ca_cert_path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.status == "ok", result.error
    assert len(result.disks) == 2000 and len({d.key for d in result.disks}) == 2000
    assert all(d.pool == "archive" for d in result.disks)
    assert result.pools[0].layout == "200 x RAIDZ2"
    services = {s.name: s for s in result.of_type("service")}
    assert services["SMB"].description.startswith("100 shares:") and len(services["SMB"].description) <= 200
    assert services["NFS"].description.startswith("100 shares:")
    # Peak of everything traced in this process (client, sandbox and result): ~8 MiB measured
    # with `select`; the bound is generous, a leak or an unbounded copy per disk would cross it.
    assert peak < 48 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


# ============================================================================ registration and configuration


def test_registered_and_read_from_a_config_file(nas25, tmp_path, monkeypatch):
    assert SOURCES["truenas"].asset_name == "truenas_inventory"
    assert list(SOURCES).index("proxmox") < list(SOURCES).index("truenas") < list(SOURCES).index("nmap")
    (tmp_path / "ca.pem").write_bytes(nas25.ca_cert_path.read_bytes())
    monkeypatch.setenv("TRUENAS_API_KEY", nas25.api_key)
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text(f"""
sources:
  truenas:
    - name: nas01
      host: 127.0.0.1
      port: {nas25.port}
      api_key: ${{TRUENAS_API_KEY}}
      username: {nas25.username}
      ca_cert: ca.pem
      site: Basement
      role: Storage
      vm_role: Guest
""")
    config = load_config(path)
    (instance,) = config.sources.truenas
    result = SOURCES["truenas"].collect(instance, collect_context(config, NOW))
    assert result.status == "ok", result.error
    device = result.of_type("device")[0]
    assert (device.site, device.role) == ("Basement", "Storage")
    assert {vm.role for vm in result.of_type("virtual_machine")} == {"Guest"}


def test_a_literal_api_key_in_the_file_is_refused(tmp_path):
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text("sources:\n  truenas:\n    - {name: nas01, host: nas.lan, api_key: 1-abcdef}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "environment only" in str(refused.value) and "1-abcdef" not in str(refused.value)


def test_a_misspelt_key_is_a_located_configuration_error(tmp_path):
    path = tmp_path / "netbox_pipeline.yaml"
    path.write_text("sources:\n  truenas:\n    - {name: nas01, host: nas.lan, verify_tls: false}\n")
    with pytest.raises(ConfigError, match=r"netbox_pipeline.yaml:3: sources.truenas\[0\].verify_tls"):
        load_config(path)
