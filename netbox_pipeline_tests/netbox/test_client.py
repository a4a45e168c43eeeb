"""NetBoxClient against the NetBox sandbox on loopback: auth, pagination, bulk writes, retries."""

from collections.abc import Iterator

import pytest

from netbox_pipeline.netbox.client import NetBoxClient, NetBoxError, auth_header
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline.sandbox.netbox.server import DEFAULT_V2_TOKEN

MANUFACTURERS = "/api/dcim/manufacturers/"
# Seed 1 at a 0.5 fault rate fails the 1st request of the scoped kind and passes the 2nd and 3rd.
SEED_FIRST_FAILS = 1

# The stand-in finishes a request before it drops or fails it: settling needs no long wait.
STANDIN_SERVER_TIMEOUT_S = 0.2


@pytest.fixture
def sandbox() -> Iterator[NetBoxSandbox]:
    with NetBoxSandbox(version="4.4") as sb:
        yield sb


def make_client(sb: NetBoxSandbox, token: str | None = None, **kwargs) -> NetBoxClient:
    return NetBoxClient(sb.url, token or sb.token, backoff_s=0.01, **{"server_timeout_s": STANDIN_SERVER_TIMEOUT_S, **kwargs})


def makers(count: int, prefix: str = "m") -> list[dict]:
    return [{"name": f"{prefix}-{i:04d}", "slug": f"{prefix}-{i:04d}"} for i in range(count)]


def statuses(sb: NetBoxSandbox, method: str, path: str = MANUFACTURERS) -> list[int]:
    return [e.status for e in sb.request_log if e.method == method and e.path == path]


# --- authentication -----------------------------------------------------------------------------


def sent_authorization(client: NetBoxClient) -> list[str]:
    """Records the Authorization header of every request the client really sends."""
    seen: list[str] = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.headers.get("Authorization")))
    return seen


def test_auth_header_by_token_version():
    assert auth_header("0123456789abcdef0123456789abcdef01234567") == "Token 0123456789abcdef0123456789abcdef01234567"
    assert auth_header(DEFAULT_V2_TOKEN) == f"Bearer {DEFAULT_V2_TOKEN}"


def test_v1_token_is_sent_as_token(sandbox):
    client = make_client(sandbox)
    seen = sent_authorization(client)
    assert client.list_all("dcim/sites") == []
    assert seen == [f"Token {sandbox.token}"]


def test_v2_token_is_sent_as_bearer_and_accepted_by_46():
    with NetBoxSandbox(version="4.6", tokens=[DEFAULT_V2_TOKEN]) as sb:
        client = make_client(sb, DEFAULT_V2_TOKEN)
        seen = sent_authorization(client)
        created = client.bulk_create("dcim/manufacturers", makers(2), chunk_size=10)
        assert len(created.done) == 2 and not created.failed
        assert seen == [f"Bearer {DEFAULT_V2_TOKEN}"]
        assert client.version().startswith("4.6")


def test_v2_token_rejected_by_44_without_leaking_it(sandbox):
    client = make_client(sandbox, DEFAULT_V2_TOKEN)
    seen = sent_authorization(client)
    with pytest.raises(NetBoxError) as caught:
        client.list_all("dcim/sites")
    assert caught.value.status == 403
    assert seen == [f"Bearer {DEFAULT_V2_TOKEN}"]
    message = str(caught.value)
    assert "/api/dcim/sites/" in message and "403" in message
    secret = DEFAULT_V2_TOKEN.split(".", 1)[1]
    assert DEFAULT_V2_TOKEN not in message and secret not in message and "nbt_" not in message
    assert DEFAULT_V2_TOKEN not in repr(caught.value.body)


# --- reads --------------------------------------------------------------------------------------


def test_list_all_reads_2500_objects_in_three_pages(sandbox):
    client = make_client(sandbox)
    assert not client.bulk_create("dcim/manufacturers", makers(2500), chunk_size=1000).failed
    sandbox.reset_log()
    client.stats.counts.clear()

    objects = client.list_all("dcim/manufacturers")

    assert sandbox.count("GET", MANUFACTURERS) == 3 and sandbox.count() == 3
    assert all("limit=1000" in e.query for e in sandbox.request_log)
    assert client.stats.counts == {"GET": 3}
    ids = [o["id"] for o in objects]
    assert len(objects) == 2500 and len(set(ids)) == 2500
    assert {o["slug"] for o in objects} == {m["slug"] for m in makers(2500)}
    assert sorted(e.query.split("offset=")[-1].split("&")[0] for e in sandbox.request_log if "offset=" in e.query) == ["1000", "2000"]
    followed = []
    page = client.request("GET", "dcim/manufacturers", params={"limit": 1000})
    followed += page["results"]
    while page.get("next"):
        page = client.request("GET", "dcim/manufacturers", url=page["next"])
        followed += page["results"]
    assert ids == [o["id"] for o in followed]  # pages read in parallel still come back in NetBox's order


def test_list_all_steps_by_the_page_size_netbox_serves(sandbox):
    # NetBox caps `limit` at MAX_PAGE_SIZE (1000): asking for more must not skip objects.
    client = make_client(sandbox)
    assert not client.bulk_create("dcim/manufacturers", makers(2500), chunk_size=1000).failed
    objects = client.list_all("dcim/manufacturers", {"limit": 5000})
    assert len({o["id"] for o in objects}) == 2500


def test_list_all_passes_filters(sandbox):
    client = make_client(sandbox)
    client.bulk_create("dcim/manufacturers", makers(3), chunk_size=10)
    assert [o["slug"] for o in client.list_all("dcim/manufacturers", {"slug": "m-0001"})] == ["m-0001"]


def test_list_all_survives_seeded_500s_by_retrying(sandbox):
    client = make_client(sandbox, retries=5)
    client.bulk_create("dcim/manufacturers", makers(2500), chunk_size=1000)
    sandbox.reset_log()
    sandbox.faults.configure(error_rate=0.5, path_prefix=MANUFACTURERS, methods=["GET"], seed=SEED_FIRST_FAILS)

    objects = client.list_all("dcim/manufacturers")

    assert len({o["id"] for o in objects}) == len(objects) == 2500
    seen = statuses(sandbox, "GET")
    assert seen[0] == 500 and seen.count(500) >= 1
    assert seen.count(200) == 3 and len(seen) == 3 + seen.count(500)
    assert client.stats.counts["GET"] == len(seen)


def test_list_all_without_retries_names_path_and_status(sandbox):
    client = make_client(sandbox, retries=0)
    sandbox.faults.configure(error_rate=0.5, path_prefix=MANUFACTURERS, methods=["GET"], seed=SEED_FIRST_FAILS)
    with pytest.raises(NetBoxError) as caught:
        client.list_all("dcim/manufacturers")
    assert caught.value.status == 500
    message = str(caught.value)
    assert message.startswith("GET ") and "/api/dcim/manufacturers/: NetBox answered 500" in message
    assert statuses(sandbox, "GET") == [500]


def test_get_gives_up_after_its_retries(sandbox):
    client = make_client(sandbox, retries=2)
    sandbox.faults.configure(drop_rate=1.0, methods=["GET"])
    with pytest.raises(NetBoxError) as caught:
        client.list_all("dcim/sites")
    assert "no answer from NetBox" in str(caught.value) and "after 3 attempts" in str(caught.value)
    assert statuses(sandbox, "GET", "/api/dcim/sites/") == [0, 0, 0]


# --- bulk create --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["4.4", "4.6"])
def test_bulk_create_in_chunks(version):
    with NetBoxSandbox(version=version) as sb:
        client = make_client(sb, max_parallel=3)
        items = makers(250)

        outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=100)

        assert sb.count("POST", MANUFACTURERS) == 3 and sb.count() == 3
        assert sorted(e.status for e in sb.request_log) == [201, 201, 201]
        assert not outcome.failed and not outcome.uncertain
        assert len(outcome.done) == 250
        for sent, returned in outcome.done:  # each item paired with the object NetBox made from it
            assert returned["slug"] == sent["slug"]
        assert {sent["slug"] for sent, _ in outcome.done} == {i["slug"] for i in items}
        stored = sb.objects("dcim/manufacturers")
        assert len(stored) == 250 and len({o["slug"] for o in stored}) == 250


def test_bulk_create_of_nothing_sends_nothing(sandbox):
    outcome = make_client(sandbox).bulk_create("dcim/manufacturers", [], chunk_size=100)
    assert (outcome.done, outcome.failed, outcome.uncertain) == ([], [], [])
    assert sandbox.count() == 0


def test_bulk_create_resends_the_valid_items_after_an_all_or_nothing_400(sandbox):
    client = make_client(sandbox)
    client.bulk_create("dcim/manufacturers", [{"name": "Taken", "slug": "taken"}], chunk_size=10)
    sandbox.reset_log()
    items = [{"name": "A", "slug": "a"}, {"name": "Other", "slug": "taken"}, {"name": "B", "slug": "b"}]

    outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=10)

    assert statuses(sandbox, "POST") == [400, 201]
    assert [sent["slug"] for sent, _ in outcome.done] == ["a", "b"]
    assert [r["slug"] for _, r in outcome.done] == ["a", "b"]
    [(sent, reason)] = outcome.failed
    assert sent is items[1]
    assert reason == {"slug": ["manufacturer with this slug already exists."]}
    slugs = [o["slug"] for o in sandbox.objects("dcim/manufacturers")]
    assert sorted(slugs) == ["a", "b", "taken"]


def test_bulk_create_where_every_item_is_invalid_sends_once(sandbox):
    client = make_client(sandbox)
    outcome = client.bulk_create("dcim/manufacturers", [{"name": "no slug"}, {"slug": "no-name"}], chunk_size=10)
    assert statuses(sandbox, "POST") == [400]
    assert not outcome.done and len(outcome.failed) == 2
    assert outcome.failed[0][1] == {"slug": ["This field is required."]}
    assert sandbox.objects("dcim/manufacturers") == []


def test_post_dropped_after_the_write_is_uncertain_and_not_retried(sandbox):
    client = make_client(sandbox)
    sandbox.faults.configure(drop_rate=1.0, methods=["POST"], after_write=True)
    items = makers(3)

    outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=10)

    assert outcome.uncertain == items and not outcome.done and not outcome.failed
    assert statuses(sandbox, "POST") == [0]
    assert len(sandbox.objects("dcim/manufacturers")) == 3  # it was written; the client could not know


def test_post_answered_500_is_uncertain_and_not_retried(sandbox):
    client = make_client(sandbox, retries=5)
    sandbox.faults.configure(error_rate=1.0, methods=["POST"])
    outcome = client.bulk_create("dcim/manufacturers", makers(250), chunk_size=100)
    assert len(outcome.uncertain) == 250 and not outcome.done
    assert statuses(sandbox, "POST") == [500, 500, 500]  # one per chunk, none repeated


def test_post_answered_429_is_retried(sandbox):
    client = make_client(sandbox)
    sandbox.faults.configure(error_rate=0.5, methods=["POST"], error_status=429, seed=SEED_FIRST_FAILS)
    outcome = client.bulk_create("dcim/manufacturers", makers(2), chunk_size=10)
    assert statuses(sandbox, "POST") == [429, 201]
    assert len(outcome.done) == 2 and not outcome.uncertain
    assert len(sandbox.objects("dcim/manufacturers")) == 2


# --- bulk update and delete ---------------------------------------------------------------------


def test_bulk_update_is_retried_on_503(sandbox):
    client = make_client(sandbox)
    created = client.bulk_create("dcim/manufacturers", makers(3), chunk_size=10)
    sandbox.reset_log()
    sandbox.faults.configure(error_rate=0.5, methods=["PATCH"], error_status=503, seed=SEED_FIRST_FAILS)
    changes = [{"id": r["id"], "description": f"changed {r['slug']}"} for _, r in created.done]

    outcome = client.bulk_update("dcim/manufacturers", changes, chunk_size=10)

    assert statuses(sandbox, "PATCH") == [503, 200]
    assert len(outcome.done) == 3 and not outcome.failed and not outcome.uncertain
    assert {o["slug"]: o["description"] for o in sandbox.objects("dcim/manufacturers")} == {
        "m-0000": "changed m-0000", "m-0001": "changed m-0001", "m-0002": "changed m-0002",
    }


def test_bulk_update_retried_after_an_applied_but_failed_patch(sandbox):
    client = make_client(sandbox)
    created = client.bulk_create("dcim/manufacturers", makers(2), chunk_size=10)
    sandbox.reset_log()
    sandbox.faults.configure(drop_rate=0.5, methods=["PATCH"], after_write=True, seed=SEED_FIRST_FAILS)
    outcome = client.bulk_update("dcim/manufacturers", [{"id": r["id"], "name": r["name"] + "!"} for _, r in created.done], chunk_size=10)
    assert statuses(sandbox, "PATCH") == [0, 200]
    assert len(outcome.done) == 2
    assert sorted(o["name"] for o in sandbox.objects("dcim/manufacturers")) == ["m-0000!", "m-0001!"]


def test_bulk_update_gives_up_after_its_retries(sandbox):
    client = make_client(sandbox, retries=2)
    created = client.bulk_create("dcim/manufacturers", makers(1), chunk_size=10)
    sandbox.faults.configure(error_rate=1.0, methods=["PATCH"], error_status=503)
    outcome = client.bulk_update("dcim/manufacturers", [{"id": created.done[0][1]["id"], "description": "x"}], chunk_size=10)
    assert not outcome.done and len(outcome.failed) == 1
    # the reason names the request and the status, not the error page's text
    reason = outcome.failed[0][1]
    assert reason.startswith("PATCH ") and reason.endswith("/api/dcim/manufacturers/: NetBox answered 503 after 3 attempts")
    assert statuses(sandbox, "PATCH") == [503, 503, 503]


def test_bulk_update_pairs_each_item_with_its_own_object(sandbox):
    client = make_client(sandbox)
    created = client.bulk_create("dcim/manufacturers", makers(3, "z") + makers(3, "a"), chunk_size=10)
    ids = [r["id"] for _, r in created.done]  # NetBox answers a bulk PATCH ordered by name: a-*, then z-*
    outcome = client.bulk_update("dcim/manufacturers", [{"id": i, "description": f"d{i}"} for i in ids], chunk_size=10)
    assert [sent["id"] for sent, _ in outcome.done] == ids
    assert all(sent["id"] == returned["id"] and returned["description"] == f"d{sent['id']}"
               for sent, returned in outcome.done)


def test_bulk_update_of_an_unknown_id_is_a_failure(sandbox):
    client = make_client(sandbox)
    created = client.bulk_create("dcim/manufacturers", makers(1), chunk_size=10)
    known = created.done[0][1]["id"]
    outcome = client.bulk_update("dcim/manufacturers", [{"id": 999, "name": "x"}, {"id": known, "name": "y"}], chunk_size=10)
    assert statuses(sandbox, "PATCH") == [200]  # NetBox leaves unknown ids out of its answer
    assert [(sent["id"], returned["name"]) for sent, returned in outcome.done] == [(known, "y")]
    [(sent, reason)] = outcome.failed
    assert sent["id"] == 999 and reason.startswith("no dcim/manufacturers object with id 999 in NetBox")


def test_bulk_failure_keeps_netbox_reason_when_it_gave_one():
    with NetBoxSandbox(version="4.4", read_only_tokens=["f" * 40]) as sb:
        outcome = make_client(sb, "f" * 40).bulk_create("dcim/manufacturers", makers(2), chunk_size=10)
        assert [reason for _, reason in outcome.failed] == [
            {"detail": "You do not have permission to perform this action."}] * 2
        assert sb.objects("dcim/manufacturers") == []


@pytest.mark.parametrize("after_write", [False, True])
def test_bulk_delete_is_retried(sandbox, after_write):
    client = make_client(sandbox)
    created = client.bulk_create("dcim/manufacturers", makers(3), chunk_size=10)
    keep = created.done[2][1]["id"]
    sandbox.reset_log()
    sandbox.faults.configure(error_rate=0.5, methods=["DELETE"], after_write=after_write, seed=SEED_FIRST_FAILS)

    outcome = client.bulk_delete("dcim/manufacturers", [r["id"] for _, r in created.done[:2]], chunk_size=10)

    # a DELETE applied before its 500 is simply repeated: NetBox ignores ids that are already gone
    assert statuses(sandbox, "DELETE") == [500, 204]
    assert sorted(sent["id"] for sent, _ in outcome.done) == sorted(r["id"] for _, r in created.done[:2])
    assert not outcome.failed and not outcome.uncertain
    assert [o["id"] for o in sandbox.objects("dcim/manufacturers")] == [keep]


# --- errors -------------------------------------------------------------------------------------


def test_single_request_400_exposes_and_summarises_the_body(sandbox):
    client = make_client(sandbox)
    with pytest.raises(NetBoxError) as caught:
        client.request("POST", "dcim/manufacturers", json={"name": "Acme"})
    error = caught.value
    assert error.status == 400
    assert error.body == {"slug": ["This field is required."]}
    assert str(error).startswith("POST ")
    assert str(error).endswith("/api/dcim/manufacturers/: NetBox answered 400: {'slug': ['This field is required.']}")


def test_long_error_bodies_are_shortened_in_the_message(sandbox):
    client = make_client(sandbox)
    with pytest.raises(NetBoxError) as caught:
        client.request("POST", "dcim/manufacturers", json=[{"name": "x"}] * 40)
    assert isinstance(caught.value.body, list) and len(caught.value.body) == 40  # the whole body is kept
    assert len(str(caught.value)) < 400 and str(caught.value).endswith("…")


def test_not_found_names_path_and_status(sandbox):
    client = make_client(sandbox)
    with pytest.raises(NetBoxError) as caught:
        client.request("PATCH", "dcim/manufacturers/999", json={"name": "x"})
    assert caught.value.status == 404
    message = str(caught.value)
    assert message.startswith("PATCH ") and "/api/dcim/manufacturers/999/: NetBox answered 404" in message


def test_request_stats_count_every_attempt(sandbox):
    client = make_client(sandbox, retries=1)
    sandbox.faults.configure(error_rate=1.0, methods=["GET"])
    with pytest.raises(NetBoxError):
        client.list_all("dcim/sites")
    sandbox.faults.clear()
    client.bulk_create("dcim/manufacturers", makers(1), chunk_size=10)
    assert client.stats.counts == {"GET": 2, "POST": 1}
    assert client.stats.total == 3 and client.stats.writes == 1
    assert sandbox.count() == 3


def test_unreachable_netbox_is_a_clear_error():
    with NetBoxSandbox() as sb:
        url = sb.url
    client = NetBoxClient(url, "0123456789abcdef0123456789abcdef01234567", retries=1, backoff_s=0.01, timeout_s=2)
    with pytest.raises(NetBoxError) as caught:
        client.list_all("dcim/sites")
    message = str(caught.value)
    assert message.startswith("GET ") and message.endswith("/api/dcim/sites/: no answer from NetBox (ConnectionError) after 2 attempts")
    assert caught.value.__cause__ is None and caught.value.status is None
