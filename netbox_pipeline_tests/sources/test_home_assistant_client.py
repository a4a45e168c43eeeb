"""Home Assistant source: the WebSocket client and the collector against the stand-in HA."""

import socket
import threading
from datetime import datetime, timezone

import pytest
import requests

from netbox_pipeline.sandbox.home_assistant import NEWER_HA_VERSION, HomeAssistantSandbox
from netbox_pipeline.sources.home_assistant import (
    CommandError,
    HomeAssistantClient,
    HomeAssistantConfig,
    HomeAssistantError,
    collect_home_assistant,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.sandbox-secret-token"
DEFAULTS = {"site": "home", "device_role": "server"}
# The demo estate: 16 registry entries, of which a service, a virtual and a disabled device are skipped.
SYNCED = 13


@pytest.fixture(scope="module")
def ha():
    with HomeAssistantSandbox(TOKEN) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def ha_tls():
    with HomeAssistantSandbox(TOKEN, tls=True, version=NEWER_HA_VERSION) as sandbox:
        yield sandbox


def config(url: str, token: str = TOKEN, **extra) -> HomeAssistantConfig:
    # A ceiling, not a measurement: generous so a loaded CI machine cannot fail a handshake.
    return HomeAssistantConfig(name="home", url=url, token=token, timeout_s=30, **extra)


def collect(cfg: HomeAssistantConfig, ca_cert=None):
    return collect_home_assistant(cfg, NOW, DEFAULTS, ca_cert=ca_cert)


def assert_failed_without_secret(result, *phrases: str) -> None:
    assert result.status == "failed" and result.records == []
    for phrase in phrases:
        assert phrase in result.error, result.error
    assert TOKEN not in result.error


def test_collects_the_estate_over_ws(ha):
    result = collect(config(ha.url, role_map={"unifi": "network"}))
    assert result.status == "ok", result.error
    names = {d.name: d for d in result.records}
    assert len(names) == SYNCED
    assert "Forecast Home" not in names and "Virtual Switch" not in names and "Old Plug" not in names
    assert names["Garage Door"].custom_fields["ha_device_id"] == ha.device_id("shelly1-aabbcc")
    assert names["Living Room AP"].role == "network"
    assert names["Living Room AP"].custom_fields["ha_via_device"] == "Closet Switch"
    assert result.warnings == []


def test_a_ws_url_works_as_well_as_http(ha):
    assert collect(config(ha.websocket_url)).status == "ok"


def test_wss_with_the_ca_cert(ha_tls):
    result = collect(config(ha_tls.url), ca_cert=ha_tls.ca_cert_path)
    assert result.status == "ok", result.error
    places = {(d.location, d.location_parent) for d in result.records}
    assert {("Network Closet", "Basement"), ("Living Room", "Ground Floor"), ("Office", "First Floor")} <= places


def test_wss_with_ca_cert_from_the_config(ha_tls):
    assert collect(config(ha_tls.url, ca_cert=str(ha_tls.ca_cert_path))).status == "ok"


def test_wss_without_trust_fails_with_a_tls_error(ha_tls):
    result = collect(config(ha_tls.url))
    assert_failed_without_secret(result, "TLS error", "not trusted", ha_tls.url.replace("https", "https"), "ca_cert")


def test_wss_with_verification_off(ha_tls):
    assert collect(config(ha_tls.url, verify_ssl=False)).status == "ok"


def test_a_missing_ca_cert_file_is_named(ha_tls, tmp_path):
    result = collect(config(ha_tls.url), ca_cert=tmp_path / "nope.pem")
    assert_failed_without_secret(result, "nope.pem", "not a readable file")


def test_a_wrong_token_is_auth_invalid(ha):
    result = collect(config(ha.url, token="wrong-" + TOKEN))
    assert_failed_without_secret(result, "auth_invalid", "Invalid access token", ha.url, "access token")
    assert "wrong-" not in result.error


def test_a_refused_connection_is_named():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = collect(config(f"http://127.0.0.1:{port}"))
    assert_failed_without_secret(result, "connection refused", f"127.0.0.1:{port}")


def test_a_silent_server_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        cfg = HomeAssistantConfig(name="home", url=f"http://127.0.0.1:{listener.getsockname()[1]}", token=TOKEN,
                                  timeout_s=0.5)
        result = collect(cfg)
        assert_failed_without_secret(result, "no answer within 0.5 s")
    finally:
        listener.close()


def test_a_server_that_is_not_home_assistant(ha):
    result = collect(config(ha.url + "/not-here"))
    assert_failed_without_secret(result, "HTTP 404")


def test_user_info_in_the_url_never_reaches_a_message():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = collect(config(f"http://admin:hunter2@127.0.0.1:{port}"))
    assert result.status == "failed" and "hunter2" not in result.error and "admin" not in result.error


def test_an_unknown_floor_command_degrades_with_a_warning():
    with HomeAssistantSandbox(TOKEN, version="2023.12.4") as old:
        old.fail("config/floor_registry/list")
        result = collect(config(old.url))
    assert result.status == "ok" and len(result.records) == SYNCED
    [warning] = result.warnings
    assert "config/floor_registry/list is unknown to Home Assistant 2023.12.4" in warning
    assert TOKEN not in warning


def test_without_config_entries_devices_still_sync_with_a_warning():
    with HomeAssistantSandbox(TOKEN) as sandbox:
        sandbox.fail("config_entries/get", "unauthorized", "Unauthorized")
        result = collect(config(sandbox.url))
    assert result.status == "ok"
    assert "config_entries/get is refused (unauthorized: Unauthorized)" in result.warnings[0]
    assert all(not d.tags for d in result.records)


def test_a_failing_device_registry_fails_the_instance():
    with HomeAssistantSandbox(TOKEN) as sandbox:
        sandbox.fail("config/device_registry/list", "unknown_error", "boom")
        result = collect(config(sandbox.url))
    assert_failed_without_secret(result, "config/device_registry/list", "unknown_error", "boom")


def test_the_client_reports_the_version_and_command_errors(ha):
    with HomeAssistantClient(ha.websocket_url, TOKEN, where=ha.url) as client:
        assert client.ha_version == ha.version
        with pytest.raises(CommandError) as raised:
            client.call("no/such_command")
        assert raised.value.code == "unknown_command"
        assert isinstance(client.call("config/device_registry/list"), list)  # the connection is still usable


def test_calling_a_closed_client_is_an_error(ha):
    client = HomeAssistantClient(ha.websocket_url, TOKEN, where=ha.url)
    with pytest.raises(HomeAssistantError, match="not connected"):
        client.call("get_config")


def test_rest_api_answers_like_home_assistant(ha):
    assert requests.get(ha.url + "/api/", timeout=5).status_code == 401
    answer = requests.get(ha.url + "/api/config", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["location_name"] == "Lab Home"


def test_the_sandbox_changes_what_it_answers():
    with HomeAssistantSandbox(TOKEN) as sandbox:
        sandbox.rename("plug-desk", "Standing Desk")
        sandbox.move("plug-desk", "Attic")
        sandbox.remove("plug-tv")
        result = collect(config(sandbox.url))
    names = {d.name for d in result.records}
    assert "Standing Desk" in names and "Desk Plug" not in names and "TV Plug" not in names
    [raw] = [r for r in result.raw_records if r["payload"]["device"]["name_by_user"] == "Standing Desk"]
    assert raw["payload"]["area"] == "Attic"
