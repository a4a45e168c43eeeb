"""State-file persistence and reset."""

import json

import pytest

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.netbox.store import Store
from netbox_pipeline_tests.sandbox.netbox.conftest import Client


def test_state_file_survives_restart(tmp_path):
    state = tmp_path / "netbox.json"
    with NetBoxSandbox(state_file=str(state)) as sb:
        Client(sb).post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    assert json.loads(state.read_text())["tables"]["dcim/manufacturers"][0]["name"] == "Acme"
    with NetBoxSandbox(state_file=str(state)) as sb:
        client = Client(sb)
        assert [m["name"] for m in sb.objects("dcim/manufacturers")] == ["Acme"]
        assert client.post("dcim/manufacturers/", {"name": "B", "slug": "b"})["id"] == 2  # ids continue


def test_reset_wipes_objects_but_keeps_tokens():
    with NetBoxSandbox() as sb:
        client = Client(sb)
        client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        sb.reset()
        assert sb.objects("dcim/manufacturers") == []
        assert client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})["id"] == 1


def test_broken_state_file_is_reported_with_its_path(tmp_path):
    state = tmp_path / "broken.json"
    state.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json"):
        Store(state)
