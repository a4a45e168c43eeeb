"""Every call the mapping needs, into one plain dict (the only I/O of the source).

`system.info` must answer: without it the NAS has no name and the instance fails. Any other part
the server lacks (an older or newer release without that method, or a key without the role for
it) is left out with a warning and listed under `missing`, so the rest still syncs and the records
of that part are known to be unknown rather than gone.
"""

from typing import Any

from .client import RpcError, TrueNASClient, TrueNASError

# method -> (snapshot key, query options). `select` keeps the answers small.
QUERIES: dict[str, tuple[str, list[Any]]] = {
    "network.configuration.config": ("network", []),
    "interface.query": ("interfaces", [[], {"select": [
        "id", "name", "type", "description", "mtu", "aliases", "ipv4_dhcp", "ipv6_auto", "lag_protocol",
        "lag_ports", "bridge_members", "vlan_parent_interface", "vlan_tag", "state"]}]),
    "disk.query": ("disks", [[], {"extra": {"pools": True}, "select": [
        "identifier", "name", "devname", "serial", "lunid", "model", "size", "type", "rotationrate",
        "subsystem", "bus", "pool", "description"]}]),
    "pool.query": ("pools", [[], {"select": [
        "id", "name", "guid", "status", "healthy", "size", "allocated", "free", "topology"]}]),
    "sharing.smb.query": ("smb_shares", [[], {"select": ["id", "name", "path", "comment", "enabled", "ro"]}]),
    "sharing.nfs.query": ("nfs_shares", [[], {"select": ["id", "path", "comment", "enabled", "ro"]}]),
}
# Asked where the server has them; absent on some releases by design, so no warning for that.
OPTIONAL_QUERIES: dict[str, tuple[str, list[Any]]] = {
    "vm.query": ("vms", [[], {"select": [
        "id", "name", "description", "vcpus", "cores", "threads", "memory", "status", "devices"]}]),
    "virt.instance.query": ("instances", [[], {"select": [
        "id", "name", "type", "status", "cpu", "memory", "aliases", "image", "description"]}]),
}


def fetch_snapshot(client: TrueNASClient) -> dict[str, Any]:
    """Log in, then read every part; raises TrueNASError when the instance cannot be read at all."""
    snapshot: dict[str, Any] = {"warnings": [], "missing": [], "absent": []}
    snapshot["auth"] = client.login()
    snapshot["system"] = _required(client, "system.info")
    for method, (key, params) in QUERIES.items():
        snapshot[key] = _part(client, method, params, snapshot, optional=False)
    for method, (key, params) in OPTIONAL_QUERIES.items():
        snapshot[key] = _part(client, method, params, snapshot, optional=True)
    return snapshot


def _required(client: TrueNASClient, method: str) -> Any:
    try:
        return client.call(method)
    except RpcError as exc:
        if exc.not_permitted:
            raise TrueNASError(f"{client.at}: {method}: permission denied ({exc.reason}); the API key's "
                               "user needs the READONLY_ADMIN role") from None
        raise TrueNASError(f"{client.at}: {exc}") from None


def _part(client: TrueNASClient, method: str, params: list[Any], snapshot: dict[str, Any], *, optional: bool) -> Any:
    """The answer, or None (recorded) when this server lacks the method or refuses it."""
    try:
        return client.call(method, *params)
    except RpcError as exc:
        key = (QUERIES.get(method) or OPTIONAL_QUERIES[method])[0]
        if exc.method_missing and optional:
            snapshot["absent"].append(key)
            return None
        snapshot["missing"].append(key)
        if exc.method_missing:
            why = "this server has no such method"
        elif exc.not_permitted:
            why = f"permission denied ({exc.reason}); the key's user needs READONLY_ADMIN"
        else:
            why = str(exc)
        snapshot["warnings"].append(f"{client.at}: {method}: {why}; {key} are left as they are this run")
        return None
