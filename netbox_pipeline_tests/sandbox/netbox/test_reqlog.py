"""The request log and its counters."""

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.netbox.reqlog import RequestLog, RequestLogEntry
from netbox_pipeline_tests.sandbox.netbox.conftest import Client


def test_counters_over_http():
    with NetBoxSandbox() as sb:
        client = Client(sb)
        client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        client("GET", "dcim/manufacturers/?limit=1")
        client("PATCH", "dcim/manufacturers/1/", {"description": "x"})
        client("DELETE", "dcim/manufacturers/1/")
        client("GET", "status/")
        entry = sb.request_log[1]
        assert (entry.method, entry.path, entry.query, entry.status) == ("GET", "/api/dcim/manufacturers/", "limit=1", 200)
        assert sb.request_log[0].body_bytes > 0 and sb.request_log[0].status == 201
        assert [e.method for e in sb.writes()] == ["POST", "PATCH", "DELETE"]
        assert sb.count() == 5 and sb.count(method="get") == 2
        assert sb.count(path_prefix="/api/dcim/") == 4 and sb.count("DELETE", "/api/dcim/manufacturers/") == 1
        sb.reset_log()
        assert sb.request_log == [] and sb.count() == 0


def test_grouping_helpers():
    log = RequestLog()
    for method, path in (("GET", "/a/"), ("POST", "/a/"), ("GET", "/b/")):
        log.add(RequestLogEntry(method, path, "", 200, 0.0, 0))
    assert log.by_method() == {"GET": 2, "POST": 1}
    assert log.by_path() == {"/a/": 2, "/b/": 1}
