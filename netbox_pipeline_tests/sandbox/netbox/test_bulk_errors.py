"""NetBox 4.7's answer to a failed bulk write: the same bad bulk requests go to the stand-in answering
as 4.7 and to the real NetBox 4.7.3, and each answer (status and body) must be the same."""

from typing import Any

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline_tests.sandbox.netbox.conftest import Client

MANUFACTURERS = "dcim/manufacturers/"
ABSENT = 999999  # an id neither server has
# "A", "B", "C" stand for the ids of three manufacturers each server made first; a device type holds "A".
BAD_BULK_WRITES: list[tuple[str, str, Any]] = [
    ("create: one bad slug", "POST", [{"name": "N1", "slug": "n1"}, {"name": "N2", "slug": "not a slug!"}]),
    ("create: an entry that is not an object", "POST", [{"name": "N3", "slug": "n3"}, [1]]),
    ("update: one bad slug", "PATCH", [{"id": "C", "slug": "not a slug!"}, {"id": "A", "description": "x"}]),
    ("update: two renamed alike", "PATCH", [{"id": "B", "name": "Same", "slug": "same"},
                                            {"id": "C", "name": "Same", "slug": "same"}]),
    ("update: unknown ids", "PATCH", [{"id": "A", "description": "x"}, {"id": ABSENT - 1}, {"id": ABSENT}]),
    ("update: an unknown id beside an invalid entry", "PATCH", [{"id": ABSENT}, {"id": "B", "slug": "not a slug!"}]),
    ("update: entries without a usable id", "PATCH", [{"description": "no id"}, {"id": None}, {"id": "abc"}, [1]]),
    ("update: an id twice", "PATCH", [{"id": "A"}, {"id": "A", "description": "y"}]),
    ("update: not a list", "PATCH", {"id": "A", "description": "d"}),
    ("put: a required field left out", "PUT", [{"id": "B", "name": "only a name"}]),
    ("delete: an unknown id beside a known one", "DELETE", [{"id": ABSENT}, {"id": "B"}]),
    ("delete: an id twice", "DELETE", [{"id": "B"}, {"id": "B"}]),
    ("delete: no body", "DELETE", None),
    ("delete: a protected object", "DELETE", [{"id": "C"}, {"id": "A"}]),
]


def answers(netbox) -> tuple[dict[str, tuple[int, Any]], list[tuple[str, str]]]:
    """Each bad bulk write's (status, body) with the server's own ids put back as "A" / "B" / "C",
    and the manufacturers afterwards (a refused bulk write changes nothing)."""
    client = Client(netbox)
    made = client.post(MANUFACTURERS, [{"name": f"M{i}", "slug": f"m{i}"} for i in range(3)])
    ids = dict(zip("ABC", (m["id"] for m in made)))
    client.post("dcim/device-types/", {"manufacturer": ids["A"], "model": "T", "slug": "t"})
    names = {object_id: name for name, object_id in ids.items()}
    replies = {}
    for label, method, body in BAD_BULK_WRITES:
        reply = client(method, MANUFACTURERS, _with_ids(body, ids))
        replies[label] = (reply.status_code, _with_names(reply.json(), names))
    after = [(m["name"], m["description"]) for m in netbox.objects("dcim/manufacturers")]
    return replies, after


def _with_ids(body: Any, ids: dict[str, int]) -> Any:
    if isinstance(body, list):
        return [_with_ids(item, ids) for item in body]
    if isinstance(body, dict):
        return {k: ids.get(v, v) if k == "id" and isinstance(v, str) else v for k, v in body.items()}
    return body


def _with_names(answer: Any, names: dict[int, str]) -> Any:
    if isinstance(answer, list):
        return [_with_names(item, names) for item in answer]
    if isinstance(answer, dict):
        return {k: names.get(v, v) if k == "id" and isinstance(v, int) else _with_names(v, names)
                for k, v in answer.items()}
    if isinstance(answer, str):
        for object_id, name in names.items():
            answer = answer.replace(f"ID {object_id} ", f"ID {name} ")
    return answer


def test_the_stand_in_refuses_bad_bulk_writes_as_the_real_4_7_does(real_netbox):
    with NetBoxSandbox(version="4.7") as sandbox:
        stand_in, stand_in_after = answers(sandbox)
    real, real_after = answers(real_netbox)

    assert {status for status, _ in real.values()} == {400, 409}  # each one is refused
    assert stand_in == real
    assert stand_in_after == real_after == [("M0", ""), ("M1", ""), ("M2", "")]
