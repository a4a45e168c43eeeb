"""A refused bulk write costs only the refused objects: the rest of the chunk still lands.

NetBox bulk writes are atomic (a 400 writes nothing of the request). A refused bulk create is
answered by 4.3–4.6 with a list aligned with the request, by 4.7 with an object naming the refused
items by index; a refused bulk PATCH by 4.3–4.6 with only the first refused object's errors, which
cannot be paired with the items (then the client halves the chunk until each refused object stands
alone), by 4.7 with an object naming them by id. The poisoned bulk creates and the 4.7 cases run
against the stand-in and against the real NetBox 4.7.3.
"""

import math
from collections.abc import Iterator

import pytest

from netbox_pipeline.netbox.apply import GONE, apply_slice
from netbox_pipeline.netbox.client import NetBoxClient, NetBoxError, UncertainWrite, item_errors
from netbox_pipeline.netbox.items import PlanItem
from netbox_pipeline.netbox.schema import LiveIndex
from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline_tests.real_netbox import REAL, serve_netbox

IPS = "/api/ipam/ip-addresses/"
MANUFACTURERS = "/api/dcim/manufacturers/"
BAD_ADDRESS = "192.0.2.999/24"
BAD_SLUG = "not a slug!"
BAD_SLUG_REASON = {"slug": ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']}

# The stand-in finishes a request before it drops or fails it: settling needs no long wait.
STANDIN_SERVER_TIMEOUT_S = 0.2


def split_budget(count: int, refused: int = 1) -> int:
    """Requests a chunk may cost when its refusals cannot be paired: a failing and a passing half per level."""
    return 1 + 2 * refused * math.ceil(math.log2(count))


RELEASES = ["4.4", "4.6", "4.7"]


@pytest.fixture(params=RELEASES)
def sandbox(request) -> Iterator[NetBoxSandbox]:
    """The stand-in answering as each release."""
    yield from serve_netbox(request)


@pytest.fixture(params=[*RELEASES, REAL])
def netbox(request) -> Iterator[NetBoxSandbox]:
    """The stand-in answering as each release, and the real NetBox 4.7.3 where the 4.7 answer is new."""
    yield from serve_netbox(request)


def answers_as_47(netbox) -> bool:
    return netbox.version.startswith("4.7")  # the stand-in's "4.7", the real server's "4.7.3"


def make_client(sb: NetBoxSandbox) -> NetBoxClient:
    return NetBoxClient(sb.url, sb.token, backoff_s=0.01, server_timeout_s=STANDIN_SERVER_TIMEOUT_S)


def addresses(count: int, bad_at: int | None) -> list[dict]:
    items = [{"address": f"10.{i // 250}.{i % 250}.1/24", "status": "active"} for i in range(count)]
    if bad_at is not None:
        items[bad_at] = {"address": BAD_ADDRESS, "status": "active"}
    return items


def statuses(sb: NetBoxSandbox, method: str, path: str) -> list[int]:
    return [e.status for e in sb.request_log if e.method == method and e.path == path]


def created_manufacturers(sb: NetBoxSandbox, count: int) -> list[dict]:
    client = make_client(sb)
    made = client.bulk_create("dcim/manufacturers", [{"name": f"m-{i:03d}", "slug": f"m-{i:03d}"} for i in range(count)], 200)
    assert len(made.done) == count
    sb.reset_log()
    return [returned for _, returned in made.done]


# --- the poisoned chunk, against the stand-in and the real NetBox ----------------------------------


def test_one_bad_ip_among_150_keeps_none_of_its_neighbours_out(netbox):
    items = addresses(150, bad_at=57)

    outcome = make_client(netbox).bulk_create("ipam/ip-addresses", items, chunk_size=100)

    [(sent, reason)] = outcome.failed
    assert sent is items[57]
    assert reason == {"address": [f"Invalid IP address format: {BAD_ADDRESS}"]}
    good = {i["address"] for i in items} - {BAD_ADDRESS}
    assert {o["address"] for o in netbox.objects("ipam/ip-addresses")} == good
    assert {s["address"] for s, _ in outcome.done} == good and not outcome.uncertain
    # the refusal names the item, so the rest of its chunk is resent once: one extra request
    assert sorted(statuses(netbox, "POST", IPS)) == [201, 201, 400]


def test_bad_items_in_several_chunks_are_each_named(netbox):
    items = addresses(250, bad_at=3)
    items[180] = {"address": "10.0.0.1/24", "status": "not-a-status"}

    outcome = make_client(netbox).bulk_create("ipam/ip-addresses", items, chunk_size=100)

    assert sorted((items.index(sent), str(reason)) for sent, reason in outcome.failed) == [
        (3, str({"address": [f"Invalid IP address format: {BAD_ADDRESS}"]})),
        (180, str({"status": ["not-a-status is not a valid choice."]})),
    ]
    assert len(netbox.objects("ipam/ip-addresses")) == len(outcome.done) == 248
    # three chunks; each poisoned one is refused once and resent once
    assert sorted(statuses(netbox, "POST", IPS)) == [201, 201, 201, 400, 400]


def vm_interface(sb: NetBoxSandbox) -> dict:
    """An interface of a VM (the least an address can be assigned to)."""
    client = make_client(sb)
    site = client.request("POST", "dcim/sites", json={"name": "Site A", "slug": "site-a"})
    vm = client.request("POST", "virtualization/virtual-machines", json={"name": "vm-01", "site": site["id"]})
    iface = client.request("POST", "virtualization/interfaces", json={"virtual_machine": vm["id"], "name": "eth0"})
    sb.reset_log()
    return iface


def test_a_network_id_assigned_to_an_interface_is_refused_and_its_neighbours_written(netbox):
    iface = vm_interface(netbox)
    on_iface = {"assigned_object_type": "virtualization.vminterface", "assigned_object_id": iface["id"]}
    items = [{**item, **on_iface} for item in addresses(120, bad_at=None)]
    items[64] = {"address": "10.1.2.0/24", "status": "active", **on_iface}  # the network's own address

    outcome = make_client(netbox).bulk_create("ipam/ip-addresses", items, chunk_size=120)

    [(sent, reason)] = outcome.failed
    assert sent is items[64]
    assert reason == {"__all__": ["10.1.2.0 is a network ID, which may not be assigned to an interface."]}
    good = {i["address"] for i in items} - {"10.1.2.0/24"}
    stored = netbox.objects("ipam/ip-addresses")
    assert {o["address"] for o in stored} == good == {s["address"] for s, _ in outcome.done}
    assert {o["assigned_object_id"] for o in stored} == {iface["id"]} and not outcome.uncertain
    assert sorted(statuses(netbox, "POST", IPS)) == [201, 400]  # refused by name once, the rest resent once


def test_a_refused_bulk_create_is_answered_in_the_shape_of_its_release(netbox):
    client = make_client(netbox)
    with pytest.raises(NetBoxError) as caught:
        client.request("POST", "ipam/ip-addresses", json=addresses(3, bad_at=1))
    reason = {"address": [f"Invalid IP address format: {BAD_ADDRESS}"]}
    if answers_as_47(netbox):
        assert caught.value.body == {"detail": "1 of 3 objects could not be created.", "errors": [{"index": 1, "errors": reason}]}
    else:
        assert caught.value.body == [{}, reason, {}]
    assert item_errors(caught.value.body, 3) == [{}, reason, {}]
    assert netbox.objects("ipam/ip-addresses") == []  # atomic: nothing of the request was written


def test_one_bad_patch_among_128_is_isolated(netbox):
    made = created_manufacturers(netbox, 128)
    changes = [{"id": m["id"], "description": f"d{m['id']}"} for m in made]
    changes[77] = {"id": made[77]["id"], "slug": BAD_SLUG}

    outcome = make_client(netbox).bulk_update("dcim/manufacturers", changes, chunk_size=128)

    [(sent, reason)] = outcome.failed
    assert sent is changes[77] and reason == BAD_SLUG_REASON
    stored = {o["id"]: o for o in netbox.objects("dcim/manufacturers")}
    assert all(stored[c["id"]]["description"] == c["description"] for c in changes if "description" in c)
    assert stored[made[77]["id"]]["slug"] == made[77]["slug"]
    assert len(outcome.done) == 127
    patches = statuses(netbox, "PATCH", MANUFACTURERS)
    if answers_as_47(netbox):
        assert patches == [400, 200]  # 4.7 names the refused item: no splitting needed
    else:
        # 4.4/4.6 answer only the first refused object's field errors: split until it stands alone
        assert 2 < len(patches) <= split_budget(128)
        assert patches.count(400) == math.ceil(math.log2(128)) + 1  # one failing half per level, then the item


def test_several_bad_patches_cost_logarithmic_requests_each(sandbox):
    made = created_manufacturers(sandbox, 100)
    bad = {5, 50, 99}
    changes = [{"id": m["id"], "slug": BAD_SLUG} if i in bad else {"id": m["id"], "description": "x"} for i, m in enumerate(made)]

    outcome = make_client(sandbox).bulk_update("dcim/manufacturers", changes, chunk_size=100)

    assert sorted(changes.index(sent) for sent, _ in outcome.failed) == sorted(bad)
    assert {str(reason) for _, reason in outcome.failed} == {str(BAD_SLUG_REASON)}
    assert len(outcome.done) == 97
    assert sum(o["description"] == "x" for o in sandbox.objects("dcim/manufacturers")) == 97
    assert len(statuses(sandbox, "PATCH", MANUFACTURERS)) <= split_budget(100, refused=len(bad))


def test_a_refusal_of_every_item_alike_is_not_split():
    with NetBoxSandbox(version="4.4", read_only_tokens=["f" * 40]) as sb:
        client = NetBoxClient(sb.url, "f" * 40, backoff_s=0.01)
        outcome = client.bulk_create("ipam/ip-addresses", addresses(64, bad_at=0), chunk_size=64)
        assert len(outcome.failed) == 64
        assert statuses(sb, "POST", IPS) == [403]  # a permission refusal names no culprit to isolate


# --- answers that cannot be paired with the items, of any shape -------------------------------------


class AtomicNetBox(NetBoxClient):
    """A client whose transport is a stub NetBox: an atomic bulk write, refused with a chosen body
    whenever it holds a `bad` item; the requests numbered in `drop` (from 1) go unanswered."""

    def __init__(self, refusal_body, drop: frozenset[int] = frozenset()):
        super().__init__("http://netbox.invalid", None)
        self.refusal_body = refusal_body
        self.drop = drop
        self.sent: list[list[dict]] = []
        self.stored: list[dict] = []

    def request(self, method, path, *, params=None, json=None, url=None):
        self.sent.append(json)
        if len(self.sent) in self.drop:
            raise UncertainWrite(f"{method} {path}: no answer from NetBox")
        if any(item["name"].startswith("bad") for item in json):
            raise NetBoxError(f"{method} {path}: NetBox answered 400", status=400, body=self.refusal_body)
        self.stored.extend(json)
        return [{**item, "id": len(self.stored) - len(json) + n} for n, item in enumerate(json)]


def named(count: int, bad: set[int]) -> list[dict]:
    return [{"name": f"bad-{i}" if i in bad else f"ok-{i}"} for i in range(count)]


NAME_ERROR = {"name": ["Invalid name."]}
STATUS_ONLY = "POST dcim/manufacturers: NetBox answered 400"  # the reason when the body gives none
# body of every refusal -> the reason the lone bad item is reported with
UNPAIRABLE = {
    "bare detail": ({"detail": "1 of 100 objects could not be created."}, {"detail": "1 of 100 objects could not be created."}),
    "first object's field errors": (NAME_ERROR, NAME_ERROR),
    "one-item list": ([NAME_ERROR], NAME_ERROR),  # pairs only once the item is alone
    "html page": ("<!DOCTYPE html><html><body><h1>Bad Request (400)</h1></body></html>", STATUS_ONLY),
    "4.7 body with an index out of range": (
        {"detail": "1 of 100 objects could not be created.", "errors": [{"index": 100, "errors": NAME_ERROR}]},
        {"detail": "1 of 100 objects could not be created.", "errors": [{"index": 100, "errors": NAME_ERROR}]},
    ),
    "aligned list naming no item": ([{}] * 100, STATUS_ONLY),
}


@pytest.mark.parametrize(("body", "expected_reason"), UNPAIRABLE.values(), ids=UNPAIRABLE.keys())
def test_an_unpairable_refusal_is_split_until_the_bad_item_stands_alone(body, expected_reason):
    client = AtomicNetBox(body)
    items = named(100, bad={42})

    outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=100)

    assert [item["name"] for item in client.stored] == [i["name"] for i in items if i["name"] != "bad-42"]
    [(sent, reason)] = outcome.failed
    assert sent is items[42] and reason == expected_reason
    assert len(outcome.done) == 99 and not outcome.uncertain
    assert 2 < len(client.sent) <= split_budget(100)
    assert [items[42]] in client.sent  # the refused item was sent alone at last


def test_a_4_7_body_is_paired_by_index_without_splitting():
    body = {"detail": "2 of 100 objects could not be created.",
            "errors": [{"index": 7, "errors": {"name": ["Invalid name."]}}, {"index": 61, "errors": {"name": ["Taken."]}}]}
    client = AtomicNetBox(body)
    items = named(100, bad={7, 61})

    outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=100)

    assert [(sent["name"], reason) for sent, reason in outcome.failed] == [
        ("bad-7", {"name": ["Invalid name."]}), ("bad-61", {"name": ["Taken."]})]
    assert len(client.sent) == 2 and len(client.sent[1]) == 98 and len(client.stored) == 98


def test_a_dropped_post_while_splitting_stays_uncertain_and_is_not_resent():
    # request 1 is the refused chunk, 2 its first half (refused again), 3 that half's first half: dropped
    client = AtomicNetBox({"detail": "refused"}, drop=frozenset({3}))
    items = named(8, bad={0})

    outcome = client.bulk_create("dcim/manufacturers", items, chunk_size=8)

    assert outcome.uncertain == items[:2]  # the caller re-reads these before resending any of them
    assert [sent for sent, _ in outcome.done] == items[2:] and not outcome.failed
    assert [len(sent) for sent in client.sent] == [8, 4, 2, 2, 4]  # the dropped pair was not resent


# --- ids that no longer exist (4.7 refuses the whole bulk PATCH / DELETE naming them) ------------------


@pytest.fixture(params=["4.7", REAL])
def netbox_47(request):
    """NetBox 4.7: the stand-in answering like it, and the real one."""
    yield from serve_netbox(request)


def test_a_prune_of_an_object_someone_already_deleted_counts_as_gone_not_rejected(netbox_47):
    client = make_client(netbox_47)
    made = created_manufacturers(netbox_47, 3)
    client.request("DELETE", f"dcim/manufacturers/{made[1]['id']}")  # a person deletes one after the plan read it
    netbox_47.reset_log()
    items = [PlanItem("manufacturers", (m["slug"],), "delete", netbox_id=m["id"], removal=True) for m in made]

    result = apply_slice(client, "manufacturers", items, LiveIndex(), phase="delete")

    assert (result.deleted, result.gone, result.failures) == (2, 1, [])
    [gone] = [c for c in result.changes if c.status == "skipped"]
    assert gone.netbox_id == made[1]["id"] and gone.error == GONE
    assert netbox_47.objects("dcim/manufacturers") == []
    # refused whole (400), the absent id confirmed by one read, the rest sent again (204)
    assert statuses(netbox_47, "DELETE", MANUFACTURERS) == [400, 204]
    assert statuses(netbox_47, "GET", MANUFACTURERS) == [200]


def test_an_update_of_an_object_someone_deleted_is_rejected_by_name_and_the_rest_written(netbox_47):
    client = make_client(netbox_47)
    made = created_manufacturers(netbox_47, 3)
    client.request("DELETE", f"dcim/manufacturers/{made[0]['id']}")
    netbox_47.reset_log()

    outcome = client.bulk_update("dcim/manufacturers", [{"id": m["id"], "description": "x"} for m in made], chunk_size=10)

    [(sent, reason)] = outcome.failed
    assert sent["id"] == made[0]["id"] and reason.startswith(f"no dcim/manufacturers object with id {made[0]['id']} in NetBox")
    assert sorted(s["id"] for s, _ in outcome.done) == sorted(m["id"] for m in made[1:]) and not outcome.gone
    assert [o["description"] for o in netbox_47.objects("dcim/manufacturers")] == ["x", "x"]
    assert statuses(netbox_47, "PATCH", MANUFACTURERS) == [400, 200]
