"""The bottom layer: plain values every module may use, importing nothing of the project.

Normalisers give one canonical form per value, applied to every side before comparing.

Each normaliser is idempotent (normalise(normalise(x)) == normalise(x)); the peers' most common
bug is a phantom "change" on every run from comparing two spellings of the same value.
"""

import hashlib
import ipaddress
import os
import re
import unicodedata
from functools import lru_cache
from collections.abc import Iterable, Mapping
from typing import Any

from anyascii import anyascii

_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")
_MAC_SEPARATORS = re.compile(r"[:\-.\s]")


def normalise_mac(value: str | None) -> str | None:
    """`00-11-22-aa-bb-cc`, `0011.22aa.bbcc`, `001122AABBCC` -> `00:11:22:AA:BB:CC` (NetBox's form)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    hex_digits = _MAC_SEPARATORS.sub("", text).lower()
    groups_ok = _valid_mac_grouping(text)
    if not groups_ok or not _MAC_HEX.match(hex_digits):
        raise ValueError(f"invalid MAC address {text!r}")
    return ":".join(hex_digits[i : i + 2] for i in range(0, 12, 2)).upper()


def _valid_mac_grouping(text: str) -> bool:
    parts = re.split(r"[:\-]", text)
    if len(parts) == 6:
        return all(len(p) == 2 for p in parts)
    dotted = text.split(".")
    if len(dotted) == 3:
        return all(len(p) == 4 for p in dotted)
    return re.fullmatch(r"[0-9A-Fa-f]{12}", text) is not None


def normalise_ip(value: str | None) -> str | None:
    """An IP with or without prefix length, compressed: `2001:DB8::0001/64` -> `2001:db8::1/64`.

    A bare address stays bare: "no prefix length given" is kept distinct from `/32`, so a source
    that does not know the prefix length never fights the one NetBox holds.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return _normalise_ip_text(text)


# A plan meets each address several times (natural key, managed view, live side); parsing with
# `ipaddress` is the costly part, so the text -> canonical text answers are kept (bounded).
# IPv4 written the way `ipaddress` prints it (no leading zeros, a prefix length of 0-32): most addresses
# are, and a match costs a fraction of parsing them.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?[0-9]))?")


@lru_cache(maxsize=1 << 20)
def _normalise_ip_text(text: str) -> str:
    if _CANONICAL_V4.fullmatch(text):
        return text
    try:
        if "/" in text:
            return str(ipaddress.ip_interface(text))
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"invalid IP address {text!r}") from None


def ip_host(value: str) -> str:
    """The host part of an address, compressed: `192.0.2.10/24` -> `192.0.2.10`."""
    return _ip_host_text(str(value).strip())


@lru_cache(maxsize=1 << 20)
def _ip_host_text(text: str) -> str:
    if _CANONICAL_V4.fullmatch(text):
        return text.partition("/")[0]
    return str(ipaddress.ip_interface(text).ip)


def with_prefix_length(value: str) -> str:
    """A bare host becomes a host route (`/32` or `/128`), which is what NetBox stores for it."""
    normal = normalise_ip(value)
    if normal is None:
        raise ValueError("empty IP address")
    return str(ipaddress.ip_interface(normal))


def recordable_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a source should record this address: not loopback, link-local, unspecified or multicast."""
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def usable_address(value: Any) -> str | None:
    """`ip/prefix` a source reported, compressed, when worth recording (`recordable_ip`); None for
    anything else: no value, not an address, or a method instead of one (`dhcp`, `auto`, `manual`)."""
    if not value or str(value).lower() in ("dhcp", "auto", "manual"):
        return None
    try:
        interface = ipaddress.ip_interface(str(value).strip())
    except ValueError:
        return None
    return str(interface) if recordable_ip(interface.ip) else None


def host_port(host: str, port: int) -> str:
    """`host:port` as a URL writes it: an IPv6 literal in brackets (`[::1]:8006`)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ip_equal(desired: str | None, live: str | None) -> bool:
    """Compare addresses; a desired value without prefix length only pins the host."""
    if desired is None or live is None:
        return desired is None and live is None
    desired_n, live_n = normalise_ip(desired), normalise_ip(live)
    if desired_n is None or live_n is None:
        return desired_n == live_n
    if "/" not in desired_n:
        return ip_host(desired_n) == ip_host(live_n)
    return with_prefix_length(desired_n) == with_prefix_length(live_n)


# Values every normaliser and encoder returns as they are; checked by exact type, which is cheap.
_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def normalise_text(value: Any) -> Any:
    """Strings stripped; empty string and None are the same (NetBox returns "" for blank text)."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


def normalise_number(value: Any) -> Any:
    """2.0 == 2 (NetBox renders `vcpus` as a float)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def normalise_choice(value: Any) -> Any:
    """`{"value": "active", "label": "Active"}` -> `"active"`."""
    if type(value) in _PLAIN_SCALARS:
        return value
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    return value


def normalise_scalar(value: Any) -> Any:
    """The default normaliser: choices, numbers, text, and lists (as tuples) recursively."""
    # The common cases first, by exact type: a plan normalises every field of every object on
    # both sides, and the abstract-class checks below cost more than the normalising itself.
    cls = type(value)
    if cls is str:
        return value.strip() or None
    if cls is int or cls is bool or value is None:
        return value
    value = normalise_choice(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return tuple(normalise_scalar(v) for v in value)
    if isinstance(value, float):
        return normalise_number(value)
    return normalise_text(value)


def normalise_int_set(value: Any) -> tuple[int, ...] | None:
    """Port lists: order and duplicates carry no meaning."""
    if value is None:
        return None
    return tuple(sorted({int(v) for v in value}))


_SLUG_DROP = re.compile(r"[^\-.\w\s]")
_SLUG_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
_SLUG_RUNS = re.compile(r"[\-.\s]+")


def slugify(name: str) -> str:
    """NetBox's slug rules (ASCII, lowercase, other characters dropped, spaces and dots -> `-`),
    never empty for a non-empty name.

    NetBox's rules keep only ASCII letters, so `東京` has no slug under them. When they leave
    nothing, the name is transliterated (`東京` -> `dongjing`); when that leaves nothing either
    (`!!!`), the slug is a stable digest of the name (`x-` and 12 hex digits). Names that had a
    slug under NetBox's rules keep exactly that slug, so objects already in NetBox keep their keys.
    """
    return _slugify_text(str(name))


@lru_cache(maxsize=1 << 14)  # the same few tag, site and role names are slugged on every object
def _slugify_text(text: str) -> str:
    slug = _slug_rules(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())
    if slug or not text.strip():
        return slug
    slug = _slug_rules(anyascii(text))
    if slug:
        return slug
    digest = hashlib.sha256(unicodedata.normalize("NFC", text.strip()).encode()).hexdigest()
    return f"x-{digest[:12]}"


def _slug_rules(ascii_text: str) -> str:
    text = _SLUG_DROP.sub("", ascii_text)
    text = _SLUG_EDGES.sub("", text)
    text = _SLUG_RUNS.sub("-", text).strip("-")
    return text.lower()[:100]


def tag_slug(tag: Any) -> str:
    """A tag given as a name, a slug, or a NetBox nested tag object -> its slug."""
    if type(tag) is str:
        return _slugify_text(tag)
    if isinstance(tag, Mapping):
        if tag.get("slug"):
            return str(tag["slug"])
        return slugify(str(tag.get("name", "")))
    return slugify(str(tag))


def normalise_tags(value: Iterable[Any] | None) -> tuple[str, ...]:
    """A tag set: sorted, unique slugs."""
    if not value:
        return ()
    return tuple(sorted({tag_slug(t) for t in value} - {""}))


def normalise_custom_fields(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Custom field values normalised like scalars; keys kept as given."""
    if not value:
        return {}
    return {str(k): normalise_scalar(v) for k, v in value.items()}


def fold_name(value: str) -> str:
    """Name comparison where NetBox compares case-insensitively (device and VM names)."""
    return str(value).strip().casefold()


def jsonable(value: Any) -> Any:
    """Comparison form -> plain JSON (tuples as lists), stable for hashing and storage."""
    if type(value) in _PLAIN_SCALARS:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    return value


def encode_exact(value: Any) -> Any:
    """JSON that keeps tuples and sets apart from lists, so `decode_exact` restores equal values."""
    cls = type(value)  # exact types first: a stored plan is mostly plain dicts, lists and scalars
    if cls in _PLAIN_SCALARS:
        return value
    if cls is dict:
        return {k if type(k) is str else str(k): encode_exact(v) for k, v in value.items()}
    if cls is list:
        return [encode_exact(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_exact(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode_exact(v) for v in sorted(value, key=repr)]}
    if isinstance(value, list):
        return [encode_exact(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode_exact(v) for k, v in value.items()}
    return value


def decode_exact(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_exact(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "$tuple" in value:
            return tuple(decode_exact(v) for v in value["$tuple"])
        if len(value) == 1 and "$set" in value:
            return {decode_exact(v) for v in value["$set"]}
        return {k: decode_exact(v) for k, v in value.items()}
    return value


# --- secrets in messages --------------------------------------------------------------------------

# A secret shorter than this cannot be masked safely inside words ("a" is in every sentence), so it
# is masked only as a whole word, and the configuration refuses tokens and keys this short.
MIN_SECRET_LENGTH = 8
SECRET_MASK = "***"


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of a secret replaced by `***`.

    A secret of MIN_SECRET_LENGTH characters or more is masked wherever it appears (inside a
    URL-encoded `%3D<secret>` too). A shorter one (only a staging-DB password can be that short;
    the configuration refuses short tokens and keys) is masked only as a whole word, not inside a
    longer run of letters and digits: `lab` is masked in `password lab refused` but left alone in
    `label`, so it never turns ordinary words into `***`. Longer secrets go first (one may contain
    another).
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if secret not in text:
            continue
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, SECRET_MASK)
        else:
            text = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", SECRET_MASK, text)
    return text


def process_alive(pid: int) -> bool:
    """Whether a process of this host still runs (a lease holder, a server that left a database behind)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
