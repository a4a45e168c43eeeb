"""A TrueNAS SCALE JSON-RPC 2.0 WebSocket API look-alike (TLS, API keys, versions 24.10 / 25.04 /
25.10) on loopback, for the demo and the tests.

    from netbox_pipeline.sandbox.truenas import TrueNASSandbox
    with TrueNASSandbox(version="25.04") as nas:
        ...  # host nas.host, port nas.port, api_key nas.api_key, username nas.username, ca_cert nas.ca_cert_path
"""

from .estate import Nas, generated_nas, seeded_nas
from .server import DEFAULT_API_KEY, DEFAULT_USERNAME, VERSIONS, CallLogEntry, TrueNASSandbox, main, serve_forever

__all__ = [
    "DEFAULT_API_KEY", "DEFAULT_USERNAME", "VERSIONS", "CallLogEntry", "Nas", "TrueNASSandbox", "generated_nas",
    "main", "seeded_nas", "serve_forever",
]
