"""Settling an uncertain write: by NetBox's change log when it can tell, else by the server's timeout."""

import time

from netbox_pipeline.netbox.client import NetBoxClient, NetBoxError

MESSAGE = "netbox-pipeline sync, plan run p1"


def client(server_timeout_s: float) -> NetBoxClient:
    return NetBoxClient("http://127.0.0.1:9", "0" * 40, changelog_message=MESSAGE, server_timeout_s=server_timeout_s)


def test_the_change_log_confirms_the_creates_without_waiting_for_the_server_timeout(monkeypatch):
    nb = client(server_timeout_s=3600)
    entries = [{"action": {"value": "create"}, "message": MESSAGE}] * 3 + [{"action": {"value": "create"}, "message": "someone else"}]
    asked = []
    monkeypatch.setattr(nb, "list_all", lambda endpoint, params=None: asked.append((endpoint, params)) or entries)
    assert nb.wait_until_settled(time.monotonic(), content_type="dcim.macaddress", creates=3) == "confirmed by NetBox's change log"
    assert asked == [("core/object-changes", {"changed_object_type": "dcim.macaddress", "action": "create"})]


def test_fewer_logged_creates_than_sent_wait_for_the_server_timeout(monkeypatch):
    nb = client(server_timeout_s=0.3)
    monkeypatch.setattr(nb, "list_all", lambda endpoint, params=None: [{"action": "create", "message": MESSAGE}])
    assert nb.wait_until_settled(time.monotonic(), content_type="dcim.macaddress", creates=2, poll_s=0.05).startswith("NetBox's request timeout")


def test_without_a_change_log_to_ask_it_waits_for_the_server_timeout(monkeypatch):
    nb = client(server_timeout_s=0.2)

    def no_changelog(endpoint, params=None):
        raise NetBoxError("GET core/object-changes: NetBox answered 404", status=404)

    monkeypatch.setattr(nb, "list_all", no_changelog)
    assert "request timeout" in nb.wait_until_settled(time.monotonic(), content_type="ipam.ipaddress", creates=1, poll_s=0.05)
