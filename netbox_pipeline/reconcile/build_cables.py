"""Cables between two interfaces (a row of the build table in desired.py).

An end names a device (and its site when the name is not unique) and one of its interfaces; both
must be in the inventory, so a cable is written after both ends exist. An interface holds one
cable: two records using the same end are reported with both locations and neither is synced.
"""

from netbox_pipeline.model import Cable, CableEnd
from netbox_pipeline.netbox.schema import Key, oriented
from netbox_pipeline.reconcile.building import Builder, renamed
from netbox_pipeline.values import fold_name, slugify


def label(cable: Cable) -> str:
    return "cable " + " - ".join(f"{e.device}:{e.interface}" for e in (cable.a, cable.b))


def where(cable: Cable) -> str:
    """The record's label with its location (file:line), for naming the other record of a clash."""
    found = next((p.location for p in cable.provenance.values() if p.location), None)
    return f"{label(cable)} ({found})" if found else label(cable)


def _problem(builder: Builder, check: str, cable: Cable, message: str) -> None:
    builder.problem(check, "cables", None, f"{label(cable)}: {message}",
                    provenance=next(iter(cable.provenance.values()), None))


def interface_key(builder: Builder, cable: Cable, end: CableEnd) -> Key | None:
    """The interface an end names, or None after reporting why it cannot be found."""
    devices = [d for d in builder.inventory.devices if fold_name(d.name) == fold_name(end.device)
               and (end.site is None or slugify(d.site or builder.fallbacks.site or "") == slugify(end.site))]
    if len(devices) != 1:
        why = "no device" if not devices else f"{len(devices)} devices (name its site)"
        _problem(builder, "cable_end", cable, f"{why} named {end.device!r} in the inventory")
        return None
    device = devices[0]
    if not any(i.name == end.interface for i in device.interfaces):
        _problem(builder, "cable_end", cable, f"device {device.name!r} has no interface {end.interface!r} in the inventory")
        return None
    site = device.site or builder.fallbacks.site or ""
    return (slugify(site), fold_name(device.name), end.interface)


def add_cable(builder: Builder, cable: Cable, instances: list) -> None:
    ends = [interface_key(builder, cable, end) for end in (cable.a, cable.b)]
    if None in ends:
        return
    taken = builder.cable_ends
    for end in ends:
        if end in taken and taken[end][0] != cable.key:
            _problem(builder, "cable_end_taken", cable,
                     f"interface {'/'.join(end[1:])} is already cabled by {taken[end][1]}; an interface holds one cable")
            return
    for end in ends:
        taken[end] = (cable.key, where(cable))
    fields = {"a_terminations": (("interfaces", ends[0]),), "b_terminations": (("interfaces", ends[1]),),
              "type": cable.type, "status": cable.status, "label": cable.label, "color": cable.color,
              "length": cable.length, "length_unit": cable.length_unit, "description": cable.description}
    builder.add("cables", oriented("cables", fields), instances, tags=cable.tags,
                provenance=renamed(cable.provenance, {"a_terminations": "a", "b_terminations": "b"}))
