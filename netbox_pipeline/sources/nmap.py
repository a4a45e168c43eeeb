"""Network discovery with nmap: what answers on a configured network becomes inventory records.

Each configured target is one instance. The shell (`collect_nmap`) drives the real nmap binary
through python-nmap: a discovery pass (`-sn`), then, where configured, a service pass (`-sV`
and friends) and OS guesses (`-O`) on the hosts found, all within the instance's timeout. The
core (`normalise_scan`) turns python-nmap's result dict into canonical records and is pure:
tests feed it recorded scans.

Mapping: every live IPv4 address -> IPAddress (active, DNS name when nmap resolved one); with
`unknown_hosts: device` also a Device whose interface `nmap0` carries the MAC and the address
(the merge attaches it to the device another source knows by that MAC), with the MAC vendor as
manufacturer, the best OS guess above `os_min_accuracy` as platform, and one Service per
(protocol, service name) of its open ports. Without root or CAP_NET_RAW nmap cannot see MACs,
vendors or OSes; the result says so once in `warnings`. The format is in docs/source-nmap.md.
"""

import ipaddress
import os
import re
import shlex
import shutil
import string
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import nmap
from pydantic import Field, ValidationError, field_validator, model_validator

from netbox_pipeline.model import (
    DEVICE_STATUSES,
    Device,
    IPAddress,
    Record,
    RecordError,
    Service,
    SourceResult,
    key_text,
    record_type_of,
)
from netbox_pipeline.sources.base import (
    failed_result,
    stamp_provenance,
    validation_problems,
)
from netbox_pipeline.sources.contract import CollectContext, InstanceConfig, SourceKind
from netbox_pipeline.values import normalise_mac

SOURCE_KIND = "nmap"


class NmapSourceConfig(InstanceConfig):
    """One network to scan with nmap (see docs/source-nmap.md)."""

    hosts: str | list[str] = Field(
        description="IPv4 targets: addresses, CIDR networks (10.0.0.0/24), nmap octet ranges "
        "(10.0.0.1-50, 10.0.1,3.1-254), full ranges (10.0.0.10-10.0.1.20); a list or separated by "
        "spaces or commas"
    )
    site: str | None = Field(None, description="Site of discovered devices; default: defaults.site")
    vrf: str | None = Field(None, description="VRF (by name) the scanned addresses are in; none: the global table")
    role: str | None = Field(None, description="Device role of discovered devices; default: defaults.device_role")
    tags: list[str] = Field(default_factory=list, description="Tags put on every record this target produces")
    arguments: str = Field("-T4", description="Extra nmap arguments for the discovery pass (-sn and -n are added)")
    service_arguments: str | None = Field(
        None, description="nmap arguments for the service pass on the hosts found, e.g. "
        "'-sV -T4 -p 22,80,443'; none: no service pass"
    )
    os_detection: bool = Field(False, description="Guess the OS (-O --osscan-guess); needs root or CAP_NET_RAW")
    os_min_accuracy: int = Field(90, ge=0, le=100, description="Lowest OS-guess accuracy (%) that sets the platform")
    unknown_hosts: Literal["device", "ip_only"] = Field(
        "device", description="A live host becomes a discovered device (MAC, services) or only an IP address"
    )
    device_name: str = Field(
        "host-{ip_dashed}", description="Name pattern of discovered devices; placeholders: "
        + ", ".join("{" + p + "}" for p in ("ip", "ip_dashed", "mac", "hostname", "dns_name", "instance"))
    )
    device_status: str = Field("active", description="Status of discovered devices")
    resolve_dns: bool = Field(False, description="Reverse-resolve names (otherwise nmap runs with -n)")
    max_addresses: int = Field(65536, ge=1, description="Largest target (addresses) scanned without allow_large")
    allow_large: bool = Field(False, description="Scan targets larger than max_addresses")
    timeout_s: float = Field(600.0, gt=0, description="Whole scan of this target (all passes), seconds")
    nmap_path: str | None = Field(None, description="nmap executable; default: nmap on PATH")

    @field_validator("device_status")
    @classmethod
    def _device_status(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in DEVICE_STATUSES:
            raise ValueError(f"invalid device status {value!r}; expected one of {', '.join(sorted(DEVICE_STATUSES))}")
        return lowered

    @model_validator(mode="after")
    def _checked(self) -> "NmapSourceConfig":
        # Errors name the instance: the loader's location alone is a list index.
        size = sum(t.size for t in parse_targets(self.hosts, instance=self.name))
        if size > self.max_addresses and not self.allow_large:
            raise ValueError(
                f"nmap instance {self.name!r}: hosts cover {size} addresses, more than max_addresses "
                f"{self.max_addresses}; narrow the target or set allow_large: true"
            )
        check_arguments(self.arguments, instance=self.name, field="arguments")
        if self.service_arguments is not None:
            check_arguments(self.service_arguments, instance=self.name, field="service_arguments")
        check_name_pattern(self.device_name, instance=self.name)
        return self

    def targets(self) -> list[str]:
        """The targets in nmap's syntax (full ranges become CIDR blocks)."""
        return [spec for t in parse_targets(self.hosts, instance=self.name) for spec in t.nmap_specs]

INTERFACE_NAME = "nmap0"
DESCRIPTION_MAX = 200  # NetBox's limit for service descriptions
CAP_NET_RAW = 13

# --------------------------------------------------------------------------- targets


class TargetError(ValueError):
    """A malformed or refused target; the message names the instance."""


@dataclass(frozen=True)
class Target:
    text: str  # as configured
    size: int  # addresses covered
    nmap_specs: tuple[str, ...]  # what nmap is given


_OCTET_ITEM = re.compile(r"^(\d{1,3})(?:-(\d{1,3}))?$")


def parse_targets(hosts: str | Sequence[str], *, instance: str | None = None) -> list[Target]:
    """Addresses, CIDR networks, nmap octet ranges and full ranges (IPv4), with their sizes."""
    prefix = f"nmap instance {instance!r}: hosts" if instance else "hosts"
    items = hosts.split() if isinstance(hosts, str) else list(hosts)
    tokens: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TargetError(f"{prefix}: {item!r} is not a string")
        text = item.strip().strip(",")
        # A comma inside an octet is nmap's list syntax (10.0.1,3.1); between addresses a separator.
        tokens += text.split(",") if text.count(".") > 3 else ([text] if text else [])
    if not tokens:
        raise TargetError(f"{prefix}: no targets given")
    return [_parse_target(token.strip(), prefix) for token in tokens if token.strip()]


def _parse_target(token: str, prefix: str) -> Target:
    if ":" in token:
        raise TargetError(f"{prefix}: {token!r}: IPv6 targets are not supported")
    if token.startswith("-"):
        raise TargetError(f"{prefix}: {token!r} is an option, not a target")
    try:
        if "/" in token:
            network = ipaddress.IPv4Network(token, strict=False)
            return Target(token, network.num_addresses, (str(network),))
        if token.count("-") == 1 and all(part.count(".") == 3 for part in token.split("-")):
            first, last = (ipaddress.IPv4Address(part.strip()) for part in token.split("-"))
            if last < first:
                raise TargetError(f"{prefix}: {token!r}: range ends before it starts")
            blocks = ipaddress.summarize_address_range(first, last)
            return Target(token, int(last) - int(first) + 1, tuple(str(b) for b in blocks))
        return Target(token, 1, (str(ipaddress.IPv4Address(token)),))
    except TargetError:
        raise
    except ValueError:
        pass
    size = _octet_range_size(token)
    if size is None:
        raise TargetError(
            f"{prefix}: {token!r} is not an IPv4 address, CIDR network (10.0.0.0/24) or range "
            f"(10.0.0.1-50, 10.0.0.1-10.0.0.50); host names are not accepted"
        )
    return Target(token, size, (token,))


def _octet_range_size(token: str) -> int | None:
    """nmap's octet syntax, e.g. `10.0.1,3.1-254`: the number of addresses, None if not that."""
    octets = token.split(".")
    if len(octets) != 4:
        return None
    size = 1
    for octet in octets:
        values: set[int] = set()
        for item in octet.split(","):
            match = _OCTET_ITEM.match(item)
            if not match:
                return None
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) is not None else low
            if not 0 <= low <= high <= 255:
                return None
            values.update(range(low, high + 1))
        size *= len(values)
    return size


# Options that would read targets from elsewhere, write files, or send traffic on others' behalf.
_REFUSED_OPTIONS = {
    "-iL": "targets come from hosts",
    "-iR": "targets come from hosts",
    "--resume": "each run is a fresh scan",
    "-D": "decoys send traffic from other addresses",
    "-S": "spoofing the source address is not supported",
    "-b": "FTP bounce scans involve other hosts",
    "--proxies": "scans go directly to the targets",
    "-6": "IPv6 targets are not supported",
}
_OPTIONS_WITH_ADDRESS_VALUE = {"--exclude"}


def check_arguments(text: str, *, instance: str | None = None, field: str = "arguments") -> list[str]:
    """The nmap arguments as a list; refuses output redirection, target lists and stray targets."""
    prefix = f"nmap instance {instance!r}: {field}" if instance else field
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise TargetError(f"{prefix}: cannot parse {text!r}: {exc}") from None
    previous = ""
    for token in tokens:
        if token.startswith("-o") and not token.startswith("--"):
            raise TargetError(f"{prefix}: {token}: output options are not allowed (results are read as XML)")
        if token in _REFUSED_OPTIONS:
            raise TargetError(f"{prefix}: {token} is not allowed: {_REFUSED_OPTIONS[token]}")
        if not token.startswith("-") and previous not in _OPTIONS_WITH_ADDRESS_VALUE and _looks_like_target(token):
            raise TargetError(f"{prefix}: {token!r} looks like a scan target; put targets in hosts")
        previous = token
    return tokens


def _looks_like_target(token: str) -> bool:
    try:
        parse_targets(token)
        return True
    except TargetError:
        return False


NAME_FIELDS = ("ip", "ip_dashed", "mac", "hostname", "dns_name", "instance")
_IDENTIFYING = {"ip", "ip_dashed", "mac", "hostname", "dns_name"}


def check_name_pattern(pattern: str, *, instance: str | None = None) -> None:
    prefix = f"nmap instance {instance!r}: device_name" if instance else "device_name"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise TargetError(f"{prefix}: {pattern!r}: {exc}") from None
    unknown = sorted(names - set(NAME_FIELDS))
    if unknown:
        raise TargetError(f"{prefix}: unknown placeholder(s) {unknown}; known: {list(NAME_FIELDS)}")
    if not names & _IDENTIFYING:
        raise TargetError(f"{prefix}: {pattern!r} names every host alike; use {{ip_dashed}}, {{mac}} or {{hostname}}")


# --------------------------------------------------------------------------- privileges


@dataclass(frozen=True)
class Privileges:
    """What nmap, started by this process, can do."""

    raw_sockets: bool
    reason: str
    # Not root but capable (CAP_NET_RAW): nmap only uses raw sockets when told so.
    privileged_flag: bool = False


UNPRIVILEGED_WARNING = (
    "nmap runs without root or CAP_NET_RAW ({reason}): MAC addresses, vendors and OS guesses "
    "cannot be collected, so hosts are not matched to known devices by MAC; discovery uses TCP "
    "connect probes (hosts that answer none are missed) and services come from connect scans "
    "(-sT). Run as root or give the nmap binary cap_net_raw,cap_net_admin+eip to collect them."
)


def detect_privileges(
    *, euid: int | None = None, proc_status: str | None = None, nmap_path: str | None = None
) -> Privileges:
    """Root with CAP_NET_RAW, CAP_NET_RAW that nmap inherits, or file capabilities on nmap itself.

    Root keeps its effective capabilities across exec; any other user passes on only its
    ambient set (e.g. systemd's AmbientCapabilities=CAP_NET_RAW).
    """
    euid = os.geteuid() if euid is None else euid
    if proc_status is None:
        try:
            proc_status = Path("/proc/self/status").read_text()
        except OSError:
            proc_status = ""
    if euid == 0:
        effective = _capabilities(proc_status, "CapEff")
        if effective is None or effective >> CAP_NET_RAW & 1:
            return Privileges(True, "running as root")
    else:
        ambient = _capabilities(proc_status, "CapAmb")
        if ambient is not None and ambient >> CAP_NET_RAW & 1:
            return Privileges(True, f"CAP_NET_RAW in the ambient set (euid {euid})", privileged_flag=True)
    if nmap_path and _file_has_net_raw(nmap_path):
        return Privileges(True, f"{nmap_path} carries CAP_NET_RAW (euid {euid})", privileged_flag=True)
    if euid == 0:
        return Privileges(False, "root without CAP_NET_RAW in the effective set")
    return Privileges(False, f"euid {euid}, no CAP_NET_RAW")


def _capabilities(proc_status: str, which: str) -> int | None:
    match = re.search(rf"^{which}:\s*([0-9a-fA-F]+)\s*$", proc_status, re.MULTILINE)
    return int(match.group(1), 16) if match else None


def _file_has_net_raw(path: str) -> bool:
    """File capabilities (security.capability xattr: magic, then permitted bits low word first)."""
    resolved = shutil.which(path) or path
    try:
        data = os.getxattr(resolved, "security.capability")
    except (OSError, AttributeError):
        return False
    if len(data) < 8:
        return False
    permitted_low = int.from_bytes(data[4:8], "little")
    return bool(permitted_low >> CAP_NET_RAW & 1)


# --------------------------------------------------------------------------- arguments


# Scan types and options nmap refuses without raw sockets ("requires root privileges. QUITTING!").
_ROOT_ONLY = {"-O", "--osscan-guess", "--osscan-limit", "-sS", "-sU", "-sA", "-sW", "-sM", "-sN",
              "-sF", "-sX", "-sY", "-sZ", "-sO", "-A", "--traceroute"}
_MANAGED = {"-sn", "-n", "-R", "-Pn", "--privileged", "--unprivileged"}


@dataclass(frozen=True)
class ScanPlan:
    discovery: str
    services: str | None  # None: no second pass
    dropped: tuple[str, ...] = ()  # configured options left out for lack of privileges


def scan_plan(instance: NmapSourceConfig, privileges: Privileges) -> ScanPlan:
    """The nmap arguments of both passes; `-n` unless the target asks for names."""
    common = [] if instance.resolve_dns else ["-n"]
    if privileges.privileged_flag:
        common.append("--privileged")
    user_discovery = [t for t in shlex.split(instance.arguments) if t not in _MANAGED]
    discovery = ["-sn", *common, *user_discovery]
    if instance.service_arguments is None and not instance.os_detection:
        return ScanPlan(shlex.join(discovery), None)
    wanted = [t for t in shlex.split(instance.service_arguments or "") if t not in _MANAGED]
    if instance.os_detection:
        wanted += [flag for flag in ("-O", "--osscan-guess") if flag not in wanted]
    dropped: list[str] = []
    if not privileges.raw_sockets:
        dropped = [t for t in wanted if t in _ROOT_ONLY]
        wanted = [t for t in wanted if t not in _ROOT_ONLY]
        if "-A" in dropped:  # keep what -A does without root
            wanted += [flag for flag in ("-sV", "-sC") if flag not in wanted]
        if "-sT" not in wanted:
            wanted.insert(0, "-sT")
    # Hosts come from the discovery pass: do not ping them again.
    services = ["-Pn", *common, *wanted]
    return ScanPlan(shlex.join(discovery), shlex.join(services), tuple(dict.fromkeys(dropped)))


# --------------------------------------------------------------------------- the shell


class ScanFailed(Exception):
    """nmap could not scan this target; the message says why."""


@dataclass
class _Scan:
    result: dict[str, Any]
    stderr_lines: list[str] = field(default_factory=list)


def collect_nmap(
    instance: NmapSourceConfig,
    observed_at: datetime,
    *,
    defaults: Mapping[str, Any] | None = None,
    privileges: Privileges | None = None,
) -> SourceResult:
    """Scan one configured target for real; a failure fails this instance only, with a message."""
    nmap_path = instance.nmap_path
    privileges = privileges or detect_privileges(nmap_path=nmap_path or shutil.which("nmap"))
    plan = scan_plan(instance, privileges)
    search_path = (nmap_path,) if nmap_path else ("nmap", "/usr/bin/nmap", "/usr/local/bin/nmap")
    fail = f"nmap instance {instance.name!r}"
    try:
        scanner = nmap.PortScanner(nmap_search_path=search_path)
    except nmap.PortScannerError:
        return failed_result(
            SOURCE_KIND, instance.name,
            f"{fail}: the nmap program was not found (looked for {', '.join(search_path)}); "
            f"install nmap (Debian: apt-get install nmap) or set nmap_path",
            observed_at=observed_at,
        )
    deadline = time.monotonic() + instance.timeout_s
    try:
        discovery = _run(scanner, instance.targets(), plan.discovery, deadline, instance)
        up = sorted((ip for ip, host in discovery.result.get("scan", {}).items() if _is_up(host)),
                    key=_ip_sort_key)
        services = None
        if plan.services is not None and up:
            services = _run(scanner, up, plan.services, deadline, instance)
    except ScanFailed as exc:
        return failed_result(SOURCE_KIND, instance.name, f"{fail}: {exc}", observed_at=observed_at)
    warnings: list[str] = []
    if not privileges.raw_sockets:
        dropped = f" Left out of this scan: {' '.join(plan.dropped)}." if plan.dropped else ""
        warnings.append(UNPRIVILEGED_WARNING.format(reason=privileges.reason) + dropped)
    for scan in (discovery, services):
        if scan is not None:
            warnings += [f"nmap: {line}" for line in scan.stderr_lines if f"nmap: {line}" not in warnings]
    combined = combine_scans(discovery.result, services.result if services else None)
    return normalise_scan(combined, instance, observed_at, defaults=defaults, warnings=warnings)


def _run(scanner: Any, hosts: Sequence[str], arguments: str, deadline: float,
         instance: NmapSourceConfig) -> _Scan:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ScanFailed(f"timed out: the scan took longer than timeout_s ({instance.timeout_s:g} s)")
    try:
        result = scanner.scan(hosts=" ".join(hosts), arguments=arguments, timeout=remaining)
    except nmap.PortScannerTimeout:
        raise ScanFailed(
            f"timed out: nmap {arguments} ran longer than timeout_s ({instance.timeout_s:g} s); "
            f"stopped (raise timeout_s or narrow hosts)"
        ) from None
    except nmap.PortScannerError as exc:
        raise ScanFailed(f"nmap {arguments} failed: {_first_lines(str(getattr(exc, 'value', exc)))}") from None
    except (AttributeError, TypeError) as exc:  # python-nmap on truncated XML (nmap killed)
        raise ScanFailed(f"nmap {arguments} returned no complete result ({exc})") from None
    # python-nmap keeps stderr lines that are not "Warning:" here; the scan itself completed.
    stderr: list[str] = []
    errors = result.get("nmap", {}).get("scaninfo", {}).get("error", [])
    for chunk in errors:
        stderr += [line.strip() for line in str(chunk).splitlines() if line.strip()]
    return _Scan(result, list(dict.fromkeys(stderr)))


def _first_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " / ".join(lines[:count]) or "no output"


def _is_up(host: Mapping[str, Any]) -> bool:
    return (host.get("status") or {}).get("state") == "up"


def _ip_sort_key(ip: str) -> tuple[int, str]:
    try:
        return (int(ipaddress.ip_address(ip)), ip)
    except ValueError:
        return (1 << 129, ip)


# --------------------------------------------------------------------------- the pure core


def combine_scans(discovery: Mapping[str, Any], services: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One python-nmap-shaped result: discovery's live hosts, completed by the service pass."""
    hosts: dict[str, dict[str, Any]] = {}
    for ip, host in (discovery.get("scan") or {}).items():
        if _is_up(host):
            hosts[ip] = _plain(host)
    for ip, host in ((services or {}).get("scan") or {}).items():
        if ip not in hosts:
            continue  # the service pass only scans hosts discovery found
        merged = hosts[ip]
        for name, value in _plain(host).items():
            if name in ("addresses", "vendor"):
                merged[name] = {**merged.get(name, {}), **value}
            elif name == "hostnames":
                if any(h.get("name") for h in value):
                    merged[name] = value
            elif name != "status":
                merged[name] = value
    return {"nmap": {"discovery": _plain((discovery or {}).get("nmap", {})),
                     "services": _plain((services or {}).get("nmap", {})) if services else None},
            "scan": hosts}


def _plain(value: Any) -> Any:
    """python-nmap's dict subclasses and int port keys -> plain JSON-ready data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class HostFacts:
    """One live host as nmap saw it."""

    ip: str
    mac: str | None
    vendor: str | None
    dns_name: str | None
    platform: str | None
    os_accuracy: int | None


def normalise_scan(
    scan: Mapping[str, Any],
    instance: NmapSourceConfig,
    observed_at: datetime,
    *,
    defaults: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
) -> SourceResult:
    """python-nmap's result dict (`{"scan": {ip: host}}`) -> canonical records."""
    defaults = dict(defaults or {})
    result = SourceResult(SOURCE_KIND, instance.name, observed_at=observed_at, warnings=list(warnings))
    site = instance.site or defaults.get("site")
    role = instance.role or defaults.get("device_role")
    config_defaulted = {"status", "tags"} | ({"site"} if site else set()) | ({"role"} if role else set())
    seen_names: dict[str, str] = {}
    for ip in sorted((scan.get("scan") or {}), key=_ip_sort_key):
        host = _plain(scan["scan"][ip])
        if not _is_up(host):
            continue
        location = f"nmap {instance.name} {ip}"
        try:
            facts = host_facts(ip, host, instance)
        except ValueError as exc:
            result.errors.append(RecordError(instance.name, location, ip, None, str(exc)))
            continue
        records: list[Record] = []
        address = _build(IPAddress, dict(address=facts.ip, vrf=instance.vrf, status="active", dns_name=facts.dns_name,
                                          tags=list(instance.tags)), result, location)
        if address is not None:
            records.append(address)
        if instance.unknown_hosts == "device":
            name = device_name(instance, facts)
            if name.casefold() in seen_names:
                result.errors.append(RecordError(
                    instance.name, location, name, "device_name",
                    f"device name {name!r} is also produced for {seen_names[name.casefold()]}; "
                    f"make device_name unique per host (e.g. include {{ip_dashed}})"))
            else:
                seen_names[name.casefold()] = ip
                records += _device_records(name, facts, host, site, role, instance, result, location)
        for record in records:
            stamp_provenance(record, source_kind=SOURCE_KIND, instance=instance.name, record_id=ip,
                             location=location, observed_at=observed_at,
                             defaulted=config_defaulted & set(type(record).model_fields),
                             default_location=f"config sources.nmap {instance.name}")
            result.records.append(record)
            result.raw_records.append({"record_type": record_type_of(record), "record_key": key_text(record.key),
                                       "location": location, "payload": host})
    return result


def host_facts(ip: str, host: Mapping[str, Any], instance: NmapSourceConfig) -> HostFacts:
    addresses = host.get("addresses") or {}
    raw_mac = addresses.get("mac")
    mac = normalise_mac(raw_mac) if raw_mac else None
    vendors = {normalise_mac(k): v for k, v in (host.get("vendor") or {}).items() if k}
    vendor = (vendors.get(mac) or "").strip() or None if mac else None
    dns_name = next((h["name"].rstrip(".") for h in host.get("hostnames") or [] if h.get("name")), None)
    platform, accuracy = os_guess(host, instance.os_min_accuracy)
    return HostFacts(ip=str(ipaddress.IPv4Address(addresses.get("ipv4") or ip)), mac=mac, vendor=vendor,
                     dns_name=dns_name, platform=platform, os_accuracy=accuracy)


def os_guess(host: Mapping[str, Any], min_accuracy: int) -> tuple[str | None, int | None]:
    """The most accurate OS match (nmap's order breaks ties), as a platform only when accurate enough."""
    best: tuple[int, str] | None = None
    for match in host.get("osmatch") or []:
        try:
            accuracy = int(match.get("accuracy") or 0)
        except ValueError:
            continue
        name = (match.get("name") or "").strip()
        if name and (best is None or accuracy > best[0]):
            best = (accuracy, name)
    if best is None:
        return None, None
    return (best[1] if best[0] >= min_accuracy else None), best[0]


def device_name(instance: NmapSourceConfig, facts: HostFacts) -> str:
    dashed = facts.ip.replace(".", "-")
    values = {
        "ip": facts.ip,
        "ip_dashed": dashed,
        "mac": facts.mac.replace(":", "").lower() if facts.mac else dashed,
        "hostname": facts.dns_name.split(".")[0] if facts.dns_name else dashed,
        "dns_name": facts.dns_name or dashed,
        "instance": instance.name,
    }
    return instance.device_name.format(**values)[:64]


def open_services(host: Mapping[str, Any], parent: str, parent_scope: str | None,
                  tags: Sequence[str]) -> list[dict[str, Any]]:
    """Open ports grouped by (protocol, service name): one NetBox service each."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for protocol in ("tcp", "udp", "sctp"):
        for port_text, port in sorted((host.get(protocol) or {}).items(), key=lambda p: int(p[0])):
            if (port.get("state") or "") != "open":
                continue
            number = int(port_text)
            name = (port.get("name") or "").strip()
            if not name or name == "unknown":
                name = f"{protocol}-{number}"
            entry = grouped.setdefault((protocol, name), {
                "name": name, "protocol": protocol, "ports": [], "descriptions": [],
                "parent": parent, "parent_kind": "device", "parent_scope": parent_scope,
                "tags": list(tags)})
            entry["ports"].append(number)
            described = _describe(port)
            if described and described not in entry["descriptions"]:
                entry["descriptions"].append(described)
    out = []
    for entry in grouped.values():
        descriptions = entry.pop("descriptions")
        entry["description"] = "; ".join(descriptions)[:DESCRIPTION_MAX] or None
        out.append(entry)
    return out


def _describe(port: Mapping[str, Any]) -> str:
    parts = [str(port.get(k) or "").strip() for k in ("product", "version")]
    text = " ".join(p for p in parts if p)
    extra = str(port.get("extrainfo") or "").strip()
    if text and extra:
        text += f" ({extra})"
    return text


def _device_records(name: str, facts: HostFacts, host: Mapping[str, Any], site: str | None,
                    role: str | None, instance: NmapSourceConfig, result: SourceResult,
                    location: str) -> list[Record]:
    """The discovered device (interface with MAC and address) and the services on it."""
    device = _build(Device, dict(
        name=name, site=site, role=role, status=instance.device_status, manufacturer=facts.vendor,
        platform=facts.platform, tags=list(instance.tags), primary_ip4=facts.ip,
        interfaces=[{"name": INTERFACE_NAME, "mac": facts.mac, "ip_addresses": [facts.ip], "vrf": instance.vrf}],
    ), result, location)
    if device is None:
        return []
    services = [_build(Service, payload, result, location)
                for payload in open_services(host, name, site, instance.tags)]
    return [device, *(s for s in services if s is not None)]


def _build(cls: type, payload: dict[str, Any], result: SourceResult, location: str) -> Any:
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        for path, message in validation_problems(exc):
            result.errors.append(RecordError(result.instance, location, str(payload.get("name") or
                                             payload.get("address")), path or None, message))
        return None


# --- registration ---------------------------------------------------------------------------


def _collect(instance: NmapSourceConfig, context: CollectContext) -> SourceResult:
    return collect_nmap(instance, context.observed_at, defaults=context.defaults)


KIND = SourceKind(
    kind=SOURCE_KIND,
    asset_name="nmap_scan",
    description="Network discovery with nmap: live IPs, MACs and vendors, services, OS guesses",
    config_model=NmapSourceConfig,
    collect=_collect,
)
