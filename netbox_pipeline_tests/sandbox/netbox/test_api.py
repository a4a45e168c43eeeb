"""Pagination links, brief/fields/omit, headers, 404s and OPTIONS."""

from urllib.parse import parse_qs, urlsplit

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline_tests.sandbox.netbox.conftest import Client


def _makers(client, n):
    client.post("dcim/manufacturers/", [{"name": f"M{i:02d}", "slug": f"m{i:02d}"} for i in range(n)])


def test_offset_pagination_links(client, sandbox):
    _makers(client, 5)
    page1 = client("GET", "dcim/manufacturers/?limit=2").json()
    assert page1["count"] == 5 and page1["previous"] is None
    assert page1["next"] == f"{sandbox.url}/api/dcim/manufacturers/?limit=2&offset=2"
    page2 = client("GET", "dcim/manufacturers/?limit=2&offset=2").json()
    assert page2["previous"] == f"{sandbox.url}/api/dcim/manufacturers/?limit=2"  # offset dropped, as recorded
    page3 = client("GET", "dcim/manufacturers/?limit=2&offset=4").json()
    assert page3["previous"] == f"{sandbox.url}/api/dcim/manufacturers/?limit=2&offset=2" and page3["next"] is None
    assert [m["name"] for m in page1["results"] + page2["results"] + page3["results"]] == [f"M{i:02d}" for i in range(5)]


def test_default_and_capped_page_sizes(client):
    _makers(client, 60)
    assert len(client("GET", "dcim/manufacturers/").json()["results"]) == 50
    reply = client("GET", "dcim/manufacturers/?limit=0&brief=1").json()
    assert len(reply["results"]) == 60 and reply["next"] is None
    client.post("dcim/manufacturers/", [{"name": f"N{i:04d}", "slug": f"n{i:04d}"} for i in range(1000)])
    for query in ("limit=0", "limit=5000"):
        reply = client("GET", f"dcim/manufacturers/?{query}&brief=1").json()
        assert len(reply["results"]) == 1000
        assert parse_qs(urlsplit(reply["next"]).query) == {"brief": ["1"], "limit": ["1000"], "offset": ["1000"]}


def test_urls_follow_the_host_header(sandbox):
    client = Client(sandbox)
    made = client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    reply = client("GET", "dcim/manufacturers/", headers={"Host": "netbox.example:8080"}).json()
    assert made["url"] == f"{sandbox.url}/api/dcim/manufacturers/1/"
    assert reply["results"][0]["url"] == "http://netbox.example:8080/api/dcim/manufacturers/1/"
    assert reply["results"][0]["display_url"] == "http://netbox.example:8080/dcim/manufacturers/1/"


def test_brief_fields_and_headers(client, sandbox):
    client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
    reply = client("GET", "dcim/manufacturers/?brief=1")
    assert list(reply.json()["results"][0]) == ["id", "url", "display", "name", "slug", "description"]
    assert reply.headers["API-Version"] == sandbox.version and reply.headers["X-Request-ID"]
    assert reply.headers["Allow"] == "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
    assert client("GET", "dcim/manufacturers/?fields=id,name").json()["results"] == [{"id": 1, "name": "Acme"}]
    one = client("GET", "dcim/manufacturers/1/")
    assert one.headers["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    assert ("ETag" in one.headers) == (sandbox.version == "4.6")


def test_not_found_and_unknown_paths(client):
    reply = client("GET", "dcim/devices/999/")
    assert (reply.status_code, reply.json()) == (404, {"detail": "No Device matches the given query."})
    assert client("GET", "dcim/no-such-thing/").status_code == 404
    assert client("POST", "dcim/manufacturers", {"name": "x", "slug": "x"}).headers["Content-Type"].startswith("text/html")


def test_options_devices_as_recorded(client):
    body = client("OPTIONS", "dcim/devices/").json()
    assert body["name"] == "Device List" and set(body["actions"]) == {"PUT", "POST"}
    assert body["actions"]["POST"]["status"]["choices"][1] == {"value": "active", "display_name": "Active"}


def test_46_cursor_pagination_and_errors():
    with NetBoxSandbox(version="4.6") as sb:
        client = Client(sb)
        _makers(client, 3)
        first = client("GET", "dcim/manufacturers/?start=0&limit=2").json()
        assert first["count"] is None and first["previous"] is None
        assert first["next"] == f"{sb.url}/api/dcim/manufacturers/?limit=2&start=3"
        assert client("GET", "dcim/manufacturers/?start=3&limit=2").json()["next"] is None
        assert client("GET", "dcim/manufacturers/?start=1&offset=1").json() == ["'start' and 'offset' are mutually exclusive."]
        reply = client("GET", "dcim/manufacturers/?start=1&ordering=name")
        assert reply.json() == ["Ordering cannot be specified in conjunction with cursor-based pagination."]


def test_46_etag_if_match():
    with NetBoxSandbox(version="4.6") as sb:
        client = Client(sb)
        client.post("dcim/manufacturers/", {"name": "Acme", "slug": "acme"})
        etag = client("GET", "dcim/manufacturers/1/").headers["ETag"]
        stale = client("PATCH", "dcim/manufacturers/1/", {"description": "x"}, headers={"If-Match": 'W/"2000-01-01T00:00:00+00:00"'})
        assert (stale.status_code, stale.json(), stale.headers["ETag"]) == (412, {"detail": "Precondition failed."}, etag)
        assert sb.objects("dcim/manufacturers")[0]["description"] == ""
        fresh = client("PATCH", "dcim/manufacturers/1/", {"description": "y"}, headers={"If-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
