"""Every write names the pipeline run in `changelog_message`, which NetBox 4.4+ records on each change-log entry.

The stand-in keeps no change log: its request log holds the message of each object a write sent.
"""

import re

import pytest

from netbox_pipeline.netbox.client import CHANGELOG_MESSAGE_MAX, NetBoxClient
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.staging import store
from netbox_pipeline_tests.estate import small_estate

MESSAGE = "netbox-pipeline sync, plan run 0f3c"


def makers(count: int) -> list[dict]:
    return [{"name": f"m-{i}", "slug": f"m-{i}"} for i in range(count)]


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_every_kind_of_write_carries_the_message_once_per_object(version):
    with NetBoxSandbox(version=version) as sb:
        client = NetBoxClient(sb.url, sb.token, backoff_s=0.01, changelog_message=MESSAGE)
        items = makers(5)
        created = client.bulk_create("dcim/manufacturers", items, chunk_size=2)
        ids = [returned["id"] for _, returned in created.done]
        client.bulk_update("dcim/manufacturers", [{"id": i, "description": "x"} for i in ids], chunk_size=10)
        client.request("PATCH", f"dcim/manufacturers/{ids[0]}", json={"description": "y"})
        client.request("POST", "dcim/sites", json={"name": "Home", "slug": "home"})
        client.request("DELETE", f"dcim/manufacturers/{ids[0]}")
        client.bulk_delete("dcim/manufacturers", ids[1:], chunk_size=10)

        writes = sb.writes()
        assert [(e.method, e.status) for e in writes] == [
            ("POST", 201)] * 3 + [("PATCH", 200), ("PATCH", 200), ("POST", 201), ("DELETE", 204), ("DELETE", 204)]
        counts = [len(e.changelog_messages) for e in writes]  # one message per object sent
        assert sorted(counts[:3]) == [1, 2, 2] and counts[3:] == [5, 1, 1, 1, 4]  # chunks run in parallel
        assert {m for e in writes for m in e.changelog_messages} == {MESSAGE}
        assert all("changelog_message" not in item for item in items)  # the caller's dicts are left alone
        assert [sent for sent, _ in created.done] == items  # and are what the outcome reports
        assert sb.objects("dcim/manufacturers") == []


def test_the_message_is_write_only_and_reads_carry_none():
    with NetBoxSandbox(version="4.6") as sb:
        client = NetBoxClient(sb.url, sb.token, changelog_message=MESSAGE)
        [(_, returned)] = client.bulk_create("dcim/manufacturers", makers(1), chunk_size=10).done
        assert "changelog_message" not in returned
        assert all("changelog_message" not in o for o in sb.objects("dcim/manufacturers"))
        client.list_all("dcim/manufacturers")
        assert [e.changelog_messages for e in sb.request_log if e.method == "GET"] == [()]


def test_without_a_message_writes_carry_none():
    with NetBoxSandbox(version="4.4") as sb:
        NetBoxClient(sb.url, sb.token).bulk_create("dcim/manufacturers", makers(2), chunk_size=10)
        [entry] = sb.writes()
        assert entry.changelog_messages == (None, None)


def test_a_long_message_is_cut_to_what_netbox_accepts():
    with NetBoxSandbox(version="4.4") as sb:
        raw = NetBoxClient(sb.url, sb.token)
        refused = raw.bulk_create("dcim/manufacturers", [{**makers(1)[0], "changelog_message": "x" * 201}], chunk_size=10)
        assert refused.failed[0][1] == {"changelog_message": ["Ensure this field has no more than 200 characters."]}

        client = NetBoxClient(sb.url, sb.token, changelog_message="x" * 300)
        assert client.bulk_create("dcim/manufacturers", makers(1), chunk_size=10).done
        assert sb.writes()[-1].changelog_messages == ("x" * CHANGELOG_MESSAGE_MAX,)


def test_a_sync_names_its_plan_run_on_every_write_including_custom_fields(make_estate):
    data = small_estate()
    data["devices"][0]["custom_fields"] = {"rack_unit": "u12"}
    estate = make_estate(version="4.6", files={"rack": data}, extra_config="custom_fields: {rack_unit: {type: text}}")

    assert estate.sync().success

    writes = estate.writes()
    assert "/api/extras/custom-fields/" in {e.path for e in writes}  # bootstrap writes too
    assert {"POST", "PATCH"} <= {e.method for e in writes}
    assert all(e.changelog_messages for e in writes)
    [message] = {m for e in writes for m in e.changelog_messages}
    with estate.staging().session() as session:
        plan_run = store.latest_plan_run_id(session)
    assert message == f"netbox-pipeline sync, plan run {plan_run}"
    assert re.fullmatch(r"netbox-pipeline sync, plan run \S+", message)
