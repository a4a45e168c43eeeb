"""TrueNAS SCALE hosts through the versioned JSON-RPC 2.0 WebSocket API (`wss://HOST/api/current`).

    config.py     the `sources.truenas[]` instance model
    client.py     JSON-RPC over WebSocket: TLS, timeouts, auth as the server offers, located errors
    fetch.py      every call into one plain dict (the only I/O)
    normalise.py  that dict -> canonical records (pure), with interfaces.py, vms.py, storage.py
    collect.py    collect_truenas(config, observed_at, defaults, ca_cert) -> SourceResult

Failure semantics: a NAS that cannot be reached, refuses the key or the TLS handshake, or has no
`system.info` fails the whole instance, so none of its objects count as absent. A part the server
lacks (or the key may not read) is left out with a warning and listed in `TrueNASResult.missing`.
"""

from netbox_pipeline.model import CustomField
from netbox_pipeline.sources.contract import SourceKind

from .client import RpcError, TrueNASClient, TrueNASError
from .collect import collect, collect_truenas
from .config import TrueNASConfig
from .fetch import fetch_snapshot
from .interfaces import InterfaceLinks
from .normalise import SOURCE_KIND, TrueNASOptions, TrueNASResult, normalise_snapshot
from .storage import POOL_FIELD, DiskItem, PoolItem

__all__ = [
    "KIND", "SOURCE_KIND", "DiskItem", "InterfaceLinks", "PoolItem", "RpcError", "TrueNASClient", "TrueNASConfig",
    "TrueNASError", "TrueNASOptions", "TrueNASResult", "collect_truenas", "fetch_snapshot", "normalise_snapshot",
]

KIND = SourceKind(
    kind=SOURCE_KIND,
    asset_name="truenas_inventory",
    description="TrueNAS SCALE hosts: the NAS, its interfaces, shares, VMs, disks and pools",
    config_model=TrueNASConfig,
    collect=collect,
    custom_fields=(
        CustomField(POOL_FIELD, "text", ("dcim.inventoryitem",), "ZFS pool",
                    "The TrueNAS ZFS pool a disk belongs to (on a pool's own item: its name)"),
    ),
)
