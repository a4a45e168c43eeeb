"""Small pure helpers for TrueNAS answers: placeholders, addresses, media types, versions."""

import re
from typing import Any

from netbox_pipeline.values import usable_address

# What DMI says when the board vendor filled nothing in (compared folded, without punctuation).
_PLACEHOLDERS = {
    "to be filled by oem", "default string", "system product name", "system manufacturer",
    "system serial number", "not specified", "not applicable", "none", "oem", "0123456789",
    "123456789", "type1productconfigid", "base board product name", "invalid", "unknown", "na",
    "no enclosure", "chassis serial number", "xxxxxxxxxx",
}


def clean_text(value: Any) -> str | None:
    """A stripped string, or None for empty values."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def is_placeholder(value: Any) -> bool:
    text = clean_text(value)
    if text is None:
        return True
    folded = " ".join(re.sub(r"[^a-z0-9\s]", "", text.lower()).split())  # "O.E.M." -> "oem"
    return folded in _PLACEHOLDERS or not folded or set(folded) <= {"0", " "} or set(folded) <= {"f", " "}


def real_value(value: Any) -> str | None:
    """The value unless it is empty or a firmware placeholder."""
    return None if is_placeholder(value) else clean_text(value)


def truenas_version(value: Any) -> str | None:
    """'TrueNAS-SCALE-24.10.2.1' (24.10) or '25.04.2' (25.04+) -> the release number."""
    text = clean_text(value)
    if text is None:
        return None
    match = re.search(r"(\d+\.\d+(?:\.\d+)*(?:[-.][A-Za-z0-9]+)*)$", text)
    return match.group(1) if match else text


def alias_address(alias: Any) -> str | None:
    """A TrueNAS alias {type: INET|INET6, address, netmask} -> 'address/prefix' worth recording."""
    if not isinstance(alias, dict) or alias.get("type") not in ("INET", "INET6"):
        return None
    address, netmask = alias.get("address"), alias.get("netmask")
    if not address or netmask in (None, ""):
        return None
    return usable_address(f"{address}/{netmask}")


# (speed in Mb/s, medium) -> NetBox interface type; medium "copper" or "fibre".
_MEDIA_TYPES = {
    (100, "copper"): "100base-tx", (1000, "copper"): "1000base-t", (2500, "copper"): "2.5gbase-t",
    (5000, "copper"): "5gbase-t", (10000, "copper"): "10gbase-t", (1000, "fibre"): "1000base-x-sfp",
    (10000, "fibre"): "10gbase-x-sfpp", (25000, "fibre"): "25gbase-x-sfp28",
    (40000, "fibre"): "40gbase-x-qsfpp", (100000, "fibre"): "100gbase-x-qsfp28",
}


def physical_type(state: dict[str, Any] | None) -> str:
    """The NetBox type of a physical NIC from its active media, else 'other'.

    Understands Linux-style subtypes ('10000Mb/s Twisted Pair', '25000Mb/s FIBRE') and BSD-style
    ones ('1000baseT <full-duplex>', '10Gbase-SR')."""
    subtype = str((state or {}).get("active_media_subtype") or "")
    speed: int | None = None
    medium = "copper"
    linux = re.search(r"(\d+)\s*Mb/s", subtype, re.I)
    bsd = re.search(r"(\d+)(G?)base-?([A-Z]+)", subtype, re.I)
    if linux:
        speed = int(linux.group(1))
        if re.search(r"\b(fib\w*|sfp\w*|optic\w*|direct attach|da|lr|sr)\b", subtype[linux.end():], re.I):
            medium = "fibre"
    elif bsd:
        speed = int(bsd.group(1)) * (1000 if bsd.group(2) else 1)
        medium = "copper" if bsd.group(3).upper() in ("T", "TX") else "fibre"
    return _MEDIA_TYPES.get((speed, medium), "other") if speed else "other"
