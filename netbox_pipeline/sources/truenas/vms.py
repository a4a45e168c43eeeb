"""`vm.query` VMs and `virt.instance.query` instances -> virtual machines on the NAS (pure)."""

from collections.abc import Callable, Mapping
from typing import Any

from netbox_pipeline.model import VirtualMachine, VMInterface
from netbox_pipeline.values import fold_name, normalise_mac

from .values import alias_address, clean_text

_STATES = {"RUNNING": "active", "STOPPED": "offline", "SUSPENDED": "paused", "PAUSED": "paused",
           "FROZEN": "paused", "ERROR": "failed", "CRASHED": "failed"}

# (record id, method, build the record, raw payload)
GuestRecord = tuple[str, str, Callable[[], VirtualMachine], Any]


def guest_records(snapshot: Mapping[str, Any], host: str, options: Any, warnings: list[str]) -> list[GuestRecord]:
    """Every VM and container once, by name: a name already taken keeps its first owner."""
    out: list[GuestRecord] = []
    taken: set[str] = set()
    for vm in sorted(snapshot.get("vms") or [], key=lambda v: str(v.get("name"))):
        out.append((f"vm/{vm.get('id')}", "vm.query", _builder(vm_record, vm, host, options), vm))
        taken.add(fold_name(str(vm.get("name"))))
    for instance in sorted(snapshot.get("instances") or [], key=lambda v: str(v.get("name"))):
        name = fold_name(str(instance.get("name")))
        if name in taken:
            warnings.append(f"truenas {host}: virt.instance {instance.get('name')!r} has the name of a VM "
                            "from vm.query; the VM is kept")
            continue
        taken.add(name)
        out.append((f"instance/{instance.get('id') or instance.get('name')}", "virt.instance.query",
                    _builder(instance_record, instance, host, options), instance))
    return out


def _builder(build: Callable[..., VirtualMachine], entry: Mapping[str, Any], host: str, options: Any) -> Callable[[], VirtualMachine]:
    return lambda: build(entry, host, options)


def vm_record(vm: Mapping[str, Any], host: str, options: Any) -> VirtualMachine:
    """A classic (libvirt) VM: vCPUs = vcpus x cores x threads, memory in MiB, NICs from devices."""
    threads = [vm.get(k) for k in ("vcpus", "cores", "threads")]
    vcpus = 1
    for value in threads:
        vcpus *= value if isinstance(value, int) and value > 0 else 1
    memory = vm.get("memory")
    return VirtualMachine(
        name=str(vm["name"]), cluster=host, site=options.site, role=options.vm_role,
        status=_STATES.get(str((vm.get("status") or {}).get("state") or "").upper()),
        vcpus=float(vcpus), memory_mb=memory if isinstance(memory, int) and memory >= 0 else None,
        description=(clean_text(vm.get("description")) or "")[:200] or None,
        interfaces=vm_nics(vm.get("devices") or []), device=host,
    )


def vm_nics(devices: list[Mapping[str, Any]]) -> list[VMInterface]:
    """NIC devices in device order as nic0, nic1, ... (dtype at the top before 25.04, in attributes after)."""
    nics = []
    for device in sorted(devices, key=lambda d: (d.get("order") or 0, d.get("id") or 0)):
        attributes = device.get("attributes") or {}
        if (device.get("dtype") or attributes.get("dtype")) != "NIC":
            continue
        mac = normalise_mac(attributes["mac"]) if attributes.get("mac") else None
        model, attach = attributes.get("type") or "NIC", attributes.get("nic_attach")
        nics.append(VMInterface(name=f"nic{len(nics)}", mac=mac,
                                description=f"{model} on {attach}" if attach else str(model)))
    return nics


def instance_record(instance: Mapping[str, Any], host: str, options: Any) -> VirtualMachine:
    """A virt.instance (25.04+): a container or an Incus VM; memory is in bytes, cpu a count or a set."""
    is_vm = str(instance.get("type") or "").upper() == "VM"
    memory = instance.get("memory")
    image = instance.get("image") or {}
    addresses = list(dict.fromkeys(a for a in (alias_address(x) for x in instance.get("aliases") or []) if a))
    v4 = [a.split("/")[0] for a in addresses if ":" not in a]
    return VirtualMachine(
        name=str(instance["name"]), cluster=host, site=options.site,
        role=options.vm_role if is_vm else (options.container_role or options.vm_role),
        platform=clean_text(image.get("os")) if isinstance(image, dict) else None,
        status=_STATES.get(str(instance.get("status") or "").upper()), vcpus=cpu_count(instance.get("cpu")),
        memory_mb=memory // (1024 * 1024) if isinstance(memory, int) and memory > 0 else None,
        description=(clean_text(instance.get("description")) or ("VM" if is_vm else "container"))[:200],
        interfaces=[VMInterface(name="eth0", ip_addresses=addresses)] if addresses else [],
        device=host, primary_ip4=v4[0] if v4 else None,
    )


def cpu_count(value: Any) -> float | None:
    """'2' -> 2, '0-3' -> 4, '0,2,4' -> 3 (a cpuset); None/'' -> None (no limit)."""
    if isinstance(value, int) and value > 0:
        return float(value)
    text = str(value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text) if int(text) > 0 else None
    count = 0
    for part in text.split(","):
        low, sep, high = part.partition("-")
        if not low.strip().isdigit() or (sep and not high.strip().isdigit()):
            return None
        count += int(high) - int(low) + 1 if sep else 1
    return float(count) if count > 0 else None
