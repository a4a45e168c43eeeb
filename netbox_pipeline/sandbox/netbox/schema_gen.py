"""Generate the compact per-version schema tables (`schema_44.py`, `schema_46.py`) from the recorded openapi.json.

Run once after the reference files change:
    python -m netbox_pipeline.sandbox.netbox.schema_gen /path/to/netbox-reference
The server itself never reads openapi.json (10+ MB), so it starts in milliseconds.
"""

import json
import pprint
import sys
from pathlib import Path
from typing import Any

# endpoint -> brief schema name; the full and request schemas are read from the paths.
ENDPOINT_BRIEFS = {
    "dcim/manufacturers": "BriefManufacturer",
    "dcim/sites": "BriefSite",
    "dcim/locations": "BriefLocation",
    "dcim/regions": "BriefRegion",
    "dcim/device-roles": "BriefDeviceRole",
    "dcim/device-types": "BriefDeviceType",
    "dcim/platforms": "BriefPlatform",
    "dcim/devices": "BriefDevice",
    "dcim/interfaces": "BriefInterface",
    "dcim/mac-addresses": "BriefMACAddress",
    "dcim/inventory-items": "BriefInventoryItem",
    "dcim/inventory-item-roles": "BriefInventoryItemRole",
    "ipam/ip-addresses": "BriefIPAddress",
    "ipam/prefixes": "BriefPrefix",
    "ipam/vlans": "BriefVLAN",
    "ipam/services": "BriefService",
    "virtualization/cluster-types": "BriefClusterType",
    "virtualization/clusters": "BriefCluster",
    "virtualization/virtual-machines": "BriefVirtualMachine",
    "virtualization/interfaces": "BriefVMInterface",
    "virtualization/virtual-disks": "BriefVirtualDisk",
    "virtualization/virtual-machine-types": "BriefVirtualMachineType",
    "extras/tags": "BriefTag",
    "extras/custom-fields": "BriefCustomField",
    "users/owners": "BriefOwner",
    "users/owner-groups": "BriefOwnerGroup",
    "users/users": "BriefUser",
    "users/tokens": "BriefToken",
    "core/object-types": "ObjectType",
    "tenancy/tenants": "BriefTenant",
    "tenancy/tenant-groups": "BriefTenantGroup",
    "dcim/site-groups": "BriefSiteGroup",
    "dcim/rack-roles": "BriefRackRole",
    "dcim/racks": "BriefRack",
    "ipam/roles": "BriefRole",
    "ipam/vrfs": "BriefVRF",
    "ipam/vlan-groups": "BriefVLANGroup",
    "ipam/ip-ranges": "BriefIPRange",
    "dcim/cables": "BriefCable",
}


def _ref_name(prop: dict[str, Any]) -> str | None:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "allOf" in prop and "$ref" in prop["allOf"][0]:
        return prop["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    return None


def _field(name: str, prop: dict[str, Any]) -> tuple:
    """(name, kind, arg, nullable, read_only, default)"""
    nullable = bool(prop.get("nullable"))
    read_only = bool(prop.get("readOnly"))
    ref = _ref_name(prop)
    if ref:
        return (name, "ref", ref, nullable, read_only, None)
    kind = prop.get("type")
    if kind == "object" and "value" in prop.get("properties", {}):
        values = [v for v in prop["properties"]["value"].get("enum", []) if v not in ("", None)]
        labels = prop["properties"].get("label", {}).get("enum", [])
        return (name, "choice", tuple(zip(values, labels)), nullable, read_only, None)
    if kind == "array":
        item_ref = _ref_name(prop.get("items", {}))
        if item_ref:
            return (name, "refs", item_ref, nullable, read_only, None)
        return (name, "array", prop.get("items", {}).get("type"), nullable, read_only, None)
    if kind is None:
        return (name, "any", None, nullable, read_only, None)
    return (name, kind, prop.get("format"), nullable, read_only, prop.get("default"))


def _request_field(prop: dict[str, Any]) -> tuple:
    nullable = bool(prop.get("nullable"))
    if "oneOf" in prop:
        inner = [_ref_name(p) for p in prop["oneOf"]]
        if any(inner):
            return ("ref", next(r for r in inner if r), nullable)
        first = prop["oneOf"][0]
        return (first.get("type") or "any", first.get("maxLength"), nullable)
    if prop.get("type") == "array":
        items = prop.get("items", {})
        if "oneOf" in items or _ref_name(items):
            return ("refs", _ref_name(items), nullable)
        return ("array", items.get("type"), nullable)
    if "enum" in prop:
        return ("choice", tuple(v for v in prop["enum"] if v not in ("", None)), nullable)
    return (prop.get("type") or "any", prop.get("maxLength"), nullable)


def generate(openapi_path: Path) -> dict[str, Any]:
    doc = json.loads(openapi_path.read_text())
    schemas = doc["components"]["schemas"]
    endpoints: dict[str, tuple] = {}
    wanted: list[str] = []
    requests: dict[str, Any] = {}
    for endpoint, brief in ENDPOINT_BRIEFS.items():
        path = doc["paths"].get(f"/api/{endpoint}/")
        if path is None:
            continue
        page = path["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        full = schemas[page.rsplit("/", 1)[-1]]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
        request = None
        if "post" in path and "requestBody" in path["post"]:
            body = path["post"]["requestBody"]["content"]["application/json"]["schema"]
            request = _ref_name(body["oneOf"][0] if "oneOf" in body else body)
        endpoints[endpoint] = (full, brief if brief in schemas else None, request)
        wanted += [full, brief]
        if request:
            req = schemas[request]
            requests[request] = {
                "fields": {n: _request_field(p) for n, p in req["properties"].items()},
                "required": tuple(req.get("required", [])),
            }
    tables: dict[str, tuple] = {}
    while wanted:
        name = wanted.pop()
        if name in tables or name not in schemas:
            continue
        fields = tuple(_field(n, p) for n, p in schemas[name].get("properties", {}).items())
        tables[name] = fields
        wanted += [f[2] for f in fields if f[1] in ("ref", "refs")]
    options = {}
    recorded = openapi_path.parent / "examples" / "67_options_devices.json"
    if recorded.exists():  # OPTIONS metadata is served as recorded for devices
        options["dcim/devices"] = json.loads(recorded.read_text())["response_body"]
    return {"ENDPOINTS": endpoints, "SCHEMAS": tables, "REQUESTS": requests, "OPTIONS": options}


def write_module(data: dict[str, Any], target: Path, source: str) -> None:
    lines = [f'"""Generated by schema_gen.py from {source}; do not edit by hand."""', "", "# fmt: off"]
    for key, value in data.items():
        lines.append(f"{key} = {pprint.pformat(value, width=120, sort_dicts=False)}")
    target.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    """argv: [reference dir [4.7 openapi.json]]; the 4.7 schema is saved by `record_47.py --openapi FILE`
    (13 MB, so not kept in the repository) and its OPTIONS answer comes from the 4.7 recordings."""
    reference = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[4] / "shared" / "netbox-reference"
    here = Path(__file__).resolve().parent
    for version, rel in (("44", "openapi.json"), ("46", "v4.6/openapi.json")):
        write_module(generate(reference / rel), here / f"schema_{version}.py", f"netbox-reference/{rel}")
    if len(argv) > 2:
        data = generate(Path(argv[2]))
        recorded = here.parents[2] / "netbox_pipeline_tests/sandbox/netbox/recordings-4.7/examples/67_options_devices.json"
        data["OPTIONS"]["dcim/devices"] = json.loads(recorded.read_text())["response_body"]
        write_module(data, here / "schema_47.py", "the openapi.json of a real NetBox 4.7.3 (record_47.py --openapi)")


if __name__ == "__main__":
    main(sys.argv)
