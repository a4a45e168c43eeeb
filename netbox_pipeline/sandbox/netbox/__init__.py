"""A NetBox 4.4 / 4.6 / 4.7 look-alike HTTP server on loopback, for the demo and the tests.

    from netbox_pipeline.sandbox.netbox import NetBoxSandbox
    with NetBoxSandbox(version="4.6") as sb:
        ...  # point pynetbox / requests at sb.url with sb.token
"""

from .allowlist import ALLOWED_MISMATCHES
from .faults import Faults
from .reqlog import RequestLogEntry
from .server import (
    DEFAULT_V1_TOKEN,
    DEFAULT_V2_TOKEN,
    NetBoxSandbox,
    main,
    serve_forever,
)

__all__ = [
    "ALLOWED_MISMATCHES", "DEFAULT_V1_TOKEN", "DEFAULT_V2_TOKEN", "Faults", "NetBoxSandbox", "RequestLogEntry",
    "main", "serve_forever",
]
