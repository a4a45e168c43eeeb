"""NetBox 4.7's answer to a unique-together clash: the same duplicates go to the stand-in answering as
4.7 and to the real NetBox 4.7.3, and each answer (status and body) must be the same."""

from typing import Any

from netbox_pipeline.sandbox.netbox import NetBoxSandbox
from netbox_pipeline_tests.sandbox.netbox.conftest import Client, build_device


def answers(netbox) -> dict[str, tuple[int, Any]]:
    client = Client(netbox)
    device = build_device(client)
    maker = client("GET", "dcim/manufacturers/").json()["results"][0]
    cluster_type = client.post("virtualization/cluster-types/", {"name": "CT", "slug": "ct"})
    cluster = client.post("virtualization/clusters/", {"name": "C", "type": cluster_type["id"]})
    vm = client.post("virtualization/virtual-machines/", {"name": "vm1", "cluster": cluster["id"]})
    firsts = [
        ("interface", "dcim/interfaces/", {"device": device["id"], "name": "eth0", "type": "1000base-t"}),
        ("VM interface", "virtualization/interfaces/", {"virtual_machine": vm["id"], "name": "eth0"}),
        ("virtual disk", "virtualization/virtual-disks/", {"virtual_machine": vm["id"], "name": "d0", "size": 10}),
        ("inventory item, no parent", "dcim/inventory-items/", {"device": device["id"], "name": "disk0"}),
    ]
    replies = {}
    for label, path, body in firsts:
        client.post(path, body)
        reply = client("POST", path, body)
        replies[label] = (reply.status_code, reply.json() if reply.status_code == 400 else "created")
    for label, body in [("device type, same model", {"model": "AX", "slug": "ax-2"}),
                        ("device type, same slug", {"model": "AX-2", "slug": "ax"})]:
        reply = client("POST", "dcim/device-types/", {"manufacturer": maker["id"], **body})
        replies[label] = (reply.status_code, reply.json())
    reply = client("POST", "dcim/interfaces/", [{"device": device["id"], "name": "eth1", "type": "1000base-t"},
                                                {"device": device["id"], "name": "eth0", "type": "1000base-t"}])
    replies["interface, in a bulk create"] = (reply.status_code, reply.json())
    return replies


def test_the_stand_in_answers_unique_together_clashes_as_the_real_4_7_does(real_netbox):
    with NetBoxSandbox(version="4.7") as sandbox:
        stand_in = answers(sandbox)
    real = answers(real_netbox)

    assert real["interface"] == (400, {"__all__": ["Interface with this Device and Name already exists."]})
    assert real["inventory item, no parent"] == (201, "created")  # NULL parents never clash
    assert stand_in == real

