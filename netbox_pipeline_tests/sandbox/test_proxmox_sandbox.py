"""The Proxmox VE API sandbox: TLS, envelope, auth, PVE-style errors, test knobs, command line."""

import socket
import subprocess
import sys
import time

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox, generate_cluster

SECRET = "11111111-2222-4333-8444-555555555555"
TOKEN = f"PVEAPIToken=root@pam!np={SECRET}"


@pytest.fixture
def pve():
    with ProxmoxSandbox(token_id="root@pam!np", secret=SECRET, password="hunter2") as sandbox:
        yield sandbox


def get(pve, path, headers=None, **params):
    return requests.get(f"{pve.url}/api2/json/{path}", headers={"Authorization": TOKEN} if headers is None else headers,
                        params=params, verify=str(pve.ca_cert_path), timeout=5)


def api(pve) -> ProxmoxAPI:
    return ProxmoxAPI("127.0.0.1", port=pve.port, user="root@pam", token_name="np", token_value=SECRET,
                      verify_ssl=str(pve.ca_cert_path), timeout=5)


def error_of(call) -> ResourceException:
    with pytest.raises(ResourceException) as caught:
        call()
    return caught.value


# ------------------------------------------------------------------------------ TLS and envelope


def test_answers_in_the_data_envelope_over_tls(pve):
    reply = get(pve, "version")
    assert reply.status_code == 200
    assert reply.json() == {"data": {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}}
    assert pve.url == f"https://127.0.0.1:{pve.port}"


def test_certificate_is_not_trusted_by_default(pve):
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        requests.get(f"{pve.url}/api2/json/version", headers={"Authorization": TOKEN}, timeout=5)
    deadline = time.monotonic() + 5  # the server notices the refused handshake on its own thread
    while pve.tls_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pve.tls_failures >= 1
    assert get(pve, "version").status_code == 200  # the server keeps serving afterwards


def test_loopback_only():
    with pytest.raises(ValueError, match="loopback only"):
        ProxmoxSandbox(host="0.0.0.0")


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        sandbox = ProxmoxSandbox(secret=SECRET, host="::1").start()
    except OSError as exc:
        pytest.skip(f"::1 not usable here: {exc}")
    with sandbox:
        assert sandbox.url.startswith("https://[::1]:")
        reply = requests.get(f"{sandbox.url}/api2/json/version", verify=str(sandbox.ca_cert_path), timeout=5,
                             headers={"Authorization": f"PVEAPIToken={sandbox.token_id}={SECRET}"})
        assert reply.status_code == 200


# ------------------------------------------------------------------------------ auth


@pytest.mark.parametrize("header, status, reason", [
    (None, 401, "No ticket"),
    ("PVEAPIToken=root@pam!np=wrong", 401, "invalid token value!"),
    (f"PVEAPIToken=root@pam!other={SECRET}", 401, "no such token 'other' for user 'root@pam'"),
])
def test_bad_credentials_are_401_with_pve_reasons(pve, header, status, reason):
    reply = get(pve, "nodes", headers={} if header is None else {"Authorization": header})
    assert (reply.status_code, reply.reason) == (status, reason)
    assert reply.json()["data"] is None


def test_ticket_login(pve):
    client = ProxmoxAPI("127.0.0.1", port=pve.port, user="root@pam", password="hunter2",
                        verify_ssl=str(pve.ca_cert_path))
    assert [n["node"] for n in client.nodes.get()] == ["pve1", "pve2", "pve3"]
    assert [e.auth for e in pve.requests] == [None, "ticket"]
    wrong = requests.post(f"{pve.url}/api2/json/access/ticket", data={"username": "root@pam", "password": "x"},
                          verify=str(pve.ca_cert_path), timeout=5)
    assert (wrong.status_code, wrong.reason) == (401, "authentication failure")


def test_request_log_never_holds_a_secret(pve):
    api(pve).nodes("pve1").qemu.get()
    (entry,) = pve.requests
    assert (entry.method, entry.path, entry.status, entry.auth) == ("GET", "/nodes/pve1/qemu", 200, "token")
    assert SECRET not in repr(pve.requests)
    pve.clear_log()
    assert pve.requests == []


# ------------------------------------------------------------------------------ shapes


def test_cluster_status_nodes_and_resources(pve):
    client = api(pve)
    status = client.cluster.status.get()
    assert status[0] == {"type": "cluster", "id": "cluster", "name": "lab", "nodes": 3, "quorate": 1, "version": 5}
    assert [e["ip"] for e in status[1:]] == ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
    assert {n["status"] for n in client.nodes.get()} == {"online"}
    resources = client.cluster.resources.get(type="vm")
    assert {r["id"] for r in resources} >= {"qemu/100", "lxc/101", "qemu/9000"}
    assert next(r for r in resources if r["vmid"] == 9000)["template"] == 1
    assert {r["type"] for r in client.cluster.resources.get(type="node")} == {"node"}


def test_node_network_and_status(pve):
    client = api(pve)
    network = client.nodes("pve1").network.get()
    assert {i["type"] for i in network} == {"eth", "bond", "bridge", "vlan"}
    assert [i["iface"] for i in client.nodes("pve1").network.get(type="bridge")] == ["vmbr0", "vmbr1"]
    assert client.nodes("pve1").status.get()["cpuinfo"]["model"].startswith("AMD EPYC")


def test_guest_lists_and_configs(pve):
    client = api(pve)
    assert [g["vmid"] for g in client.nodes("pve1").qemu.get()] == [100, 9000]
    assert [g["vmid"] for g in client.nodes("pve1").lxc.get()] == [101]
    qemu = client.nodes("pve1").qemu(100).config.get()
    assert qemu["net0"] == "virtio=BC:24:11:00:64:00,bridge=vmbr0,firewall=1,tag=20"
    assert (qemu["memory"], qemu["agent"], qemu["tags"]) == ("4096", "1", "prod;web")
    lxc = client.nodes("pve1").lxc(101).config.get()
    assert lxc["hostname"] == "dns01" and "ip=10.0.20.5/24" in lxc["net0"] and lxc["memory"] == 512
    assert client.nodes("pve2").qemu(107).status.current.get()["qmpstatus"] == "paused"


def test_agent_answers_and_pve_errors(pve):
    client = api(pve)
    result = client.nodes("pve1").qemu(100).agent("network-get-interfaces").get()["result"]
    assert [i["name"] for i in result] == ["lo", "ens18", "docker0"]
    cases = {(104, "pve3"): "No QEMU guest agent configured", (103, "pve2"): "VM 103 is not running",
             (106, "pve3"): "QEMU guest agent is not running"}
    for (vmid, node), message in cases.items():
        error = error_of(lambda: client.nodes(node).qemu(vmid).agent("network-get-interfaces").get())
        assert (error.status_code, error.content) == (500, message)
    pve.set_agent(100, "error")
    error = error_of(lambda: client.nodes("pve1").qemu(100).agent("network-get-interfaces").get())
    assert "qmp command 'guest-network-get-interfaces' failed - got timeout" in error.content


def test_container_interfaces(pve):
    client = api(pve)
    interfaces = client.nodes("pve1").lxc(101).interfaces.get()
    assert interfaces[1] == {"name": "eth0", "hwaddr": "bc:24:11:00:65:00", "inet": "10.0.20.5/24",
                             "inet6": "fe80::be24:11ff:fe00:65/64"}
    assert error_of(lambda: client.nodes("pve3").lxc(105).interfaces.get()).content == "CT 105 not running"


def test_older_release_has_no_container_interfaces():
    with ProxmoxSandbox(token_id="root@pam!np", secret=SECRET, lxc_interfaces=False) as old:
        error = error_of(lambda: api(old).nodes("pve1").lxc(101).interfaces.get())
    assert error.status_code == 501 and "not implemented" in error.content


def test_unknown_paths_nodes_and_guests(pve):
    client = api(pve)
    assert error_of(lambda: client.nodes("pve1").ceph.get()).status_code == 501
    unknown = error_of(lambda: client.nodes("pve9").qemu.get())
    assert unknown.status_code == 500 and "hostname lookup 'pve9' failed" in unknown.content
    missing = error_of(lambda: client.nodes("pve2").qemu(100).config.get())  # 100 runs on pve1
    assert missing.content == "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist"
    assert get(pve, "nodes", headers={"Authorization": TOKEN}).status_code == 200
    assert requests.post(f"{pve.url}/api2/json/nodes", headers={"Authorization": TOKEN},
                         verify=str(pve.ca_cert_path), timeout=5).status_code == 501  # read-only


def test_offline_node_answers_595(pve):
    pve.set_node_online("pve2", False)
    client = api(pve)
    assert next(n for n in client.nodes.get() if n["node"] == "pve2")["status"] == "offline"
    error = error_of(lambda: client.nodes("pve2").qemu.get())
    assert (error.status_code, error.content) == (595, "No route to host")


# ------------------------------------------------------------------------------ knobs


def test_rename_move_remove(pve):
    client = api(pve)
    pve.rename(100, "frontend")
    pve.move(100, "pve3")
    pve.remove(101)
    assert [g["name"] for g in client.nodes("pve3").qemu.get() if g["vmid"] == 100] == ["frontend"]
    assert client.nodes("pve3").qemu(100).config.get()["name"] == "frontend"
    assert client.nodes("pve1").lxc.get() == []
    with pytest.raises(KeyError, match="no guest 555"):
        pve.rename(555, "x")
    with pytest.raises(KeyError, match="no node 'pve7'"):
        pve.move(100, "pve7")
    with pytest.raises(ValueError, match="agent state"):
        pve.set_agent(100, "sleepy")


def test_injected_faults_expire(pve):
    pve.fail(r"^/nodes$", 500, "cluster not ready - no quorum?", times=1)
    error = error_of(lambda: api(pve).nodes.get())
    assert (error.status_code, error.content) == (500, "cluster not ready - no quorum?")
    assert len(api(pve).nodes.get()) == 3
    pve.fail(r"/version", 503, "service unavailable")
    assert get(pve, "version").status_code == 503
    pve.clear_faults()
    assert get(pve, "version").status_code == 200


def test_standalone_host_has_no_cluster_entry():
    cluster = generate_cluster(nodes=1)
    with ProxmoxSandbox(token_id="root@pam!np", secret=SECRET, cluster=cluster) as single:
        status = api(single).cluster.status.get()
    assert [e["type"] for e in status] == ["node"]
    assert {g.node for g in cluster.guests.values()} == {"pve1"}


def test_not_started_has_no_port():
    with pytest.raises(RuntimeError, match="not running"):
        ProxmoxSandbox().port


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_command_line_serves_until_terminated():
    process = subprocess.Popen([sys.executable, "-m", "netbox_pipeline.sandbox.proxmox", "--port", "0",
                                "--secret", SECRET, "--token-id", "root@pam!np"],
                               stdout=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Proxmox VE sandbox on https://127.0.0.1:")
        url = first.split(" on ", 1)[1].strip()
        reply = requests.get(f"{url}/version", headers={"Authorization": TOKEN}, verify=False, timeout=5)
        assert reply.json()["data"]["version"] == "8.2.4"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
