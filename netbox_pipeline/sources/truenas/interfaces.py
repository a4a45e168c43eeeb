"""`interface.query` entries -> the NAS's interfaces, their links and its primary IP (pure)."""

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netbox_pipeline.model import Interface
from netbox_pipeline.values import normalise_mac

from .values import alias_address, clean_text, physical_type

KIND_TYPES = {"LINK_AGGREGATION": "lag", "BRIDGE": "bridge", "VLAN": "virtual"}


@dataclass(frozen=True)
class InterfaceLinks:
    """How an interface hangs on others: the LAG it is a member of, its bridge, its VLAN parent."""

    lag: str | None = None
    bridge: str | None = None
    parent: str | None = None


def host_interfaces(entries: list[Mapping[str, Any]]) -> list[Interface]:
    """Each MAC once: the merge joins interfaces of a device that share a MAC into one.

    `interface.query` lists every interface, so an interface without a LAG, parent or bridge is
    known to have none ("" in the record): a port taken out of a LAG is cleared in NetBox.
    """
    links = interface_links(entries)
    names = {str(e.get("name")) for e in entries}
    out, seen = [], set()
    for entry in sorted(entries, key=lambda e: str(e.get("name"))):
        interface = host_interface(entry)
        own = links.get(interface.name, InterfaceLinks())
        update = {link: target if target in names else "" for link, target in
                  (("lag", own.lag), ("parent", own.parent), ("bridge", own.bridge))}
        if interface.mac in seen:
            update["mac"] = None
        seen.add(interface.mac)
        out.append(interface.model_copy(update=update))
    return out


def host_interface(entry: Mapping[str, Any]) -> Interface:
    state = entry.get("state") or {}
    kind = str(entry.get("type") or "")
    tag = entry.get("vlan_tag")
    return Interface(
        name=str(entry["name"]),
        type=KIND_TYPES.get(kind) or (physical_type(state) if kind == "PHYSICAL" else "other"),
        mac=interface_mac(entry), mtu=_mtu(entry),  # link state is not 'enabled': no flapping
        description=interface_description(entry), ip_addresses=interface_addresses(entry),
        vlan=int(tag) if kind == "VLAN" and isinstance(tag, int) and 1 <= tag <= 4094 else None,
    )


def interface_mac(entry: Mapping[str, Any]) -> str | None:
    """A physical NIC's own (permanent) MAC. A LAG, bridge or VLAN borrows a member's MAC (Linux
    gives a bond its first port's), so it gets none: one MAC, one interface."""
    state = entry.get("state") or {}
    if entry.get("type") != "PHYSICAL":
        return None
    for key in ("permanent_link_address", "hardware_link_address", "link_address"):
        mac = normalise_mac(state.get(key)) if state.get(key) else None
        if mac and mac != "00:00:00:00:00:00":
            return mac
    return None


def interface_addresses(entry: Mapping[str, Any]) -> list[str]:
    """Configured aliases, then runtime ones (DHCP, SLAAC), without duplicates or link-local."""
    found = [alias_address(a) for a in entry.get("aliases") or []]
    found += [alias_address(a) for a in (entry.get("state") or {}).get("aliases") or []]
    return list(dict.fromkeys(a for a in found if a))


def interface_description(entry: Mapping[str, Any]) -> str | None:
    own = clean_text(entry.get("description"))
    if own:
        return own.splitlines()[0][:200]
    kind = entry.get("type")
    # Members are not listed here: NetBox shows them from each member's `lag` / `bridge`, and a
    # member change stays one write (the member's) instead of two.
    if kind == "LINK_AGGREGATION":
        protocol = entry.get("lag_protocol")
        return f"{protocol} link aggregation" if protocol else None
    if kind == "VLAN" and entry.get("vlan_parent_interface"):
        return f"VLAN {entry.get('vlan_tag')} on {entry['vlan_parent_interface']}"
    return None


def interface_links(entries: list[Mapping[str, Any]]) -> dict[str, InterfaceLinks]:
    """name -> its LAG / bridge / VLAN parent, for every interface that has one."""
    lag: dict[str, str] = {}
    bridge: dict[str, str] = {}
    parent: dict[str, str] = {}
    for entry in entries:
        name = str(entry.get("name"))
        for member in entry.get("lag_ports") or []:
            lag[str(member)] = name
        for member in entry.get("bridge_members") or []:
            bridge[str(member)] = name
        if entry.get("type") == "VLAN" and entry.get("vlan_parent_interface"):
            parent[name] = str(entry["vlan_parent_interface"])
    names = sorted(set(lag) | set(bridge) | set(parent))
    return {n: InterfaceLinks(lag=lag.get(n), bridge=bridge.get(n), parent=parent.get(n)) for n in names}


def primary_address(entries: list[Mapping[str, Any]], interfaces: list[Interface], gateway: Any) -> str | None:
    """The IPv4 address on the network of the default gateway; else the first static, else any."""
    v4 = [(i.name, ipaddress.ip_interface(a)) for i in interfaces for a in i.ip_addresses if ":" not in a]
    if not v4:
        return None
    try:
        via = ipaddress.ip_address(str(gateway)) if gateway else None
    except ValueError:
        via = None
    if via is not None:
        for _, address in v4:
            if via in address.network:
                return str(address.ip)
    static = {str(e.get("name")) for e in entries if any(alias_address(a) for a in e.get("aliases") or [])}
    for name, address in v4:
        if name in static:
            return str(address.ip)
    return str(v4[0][1].ip)


def _mtu(entry: Mapping[str, Any]) -> int | None:
    mtu = entry.get("mtu") or (entry.get("state") or {}).get("mtu")
    return int(mtu) if isinstance(mtu, int) and 1 <= mtu <= 65536 else None
