"""A Proxmox VE API look-alike (TLS, token and ticket auth) on loopback, for the demo and the tests.

    from netbox_pipeline.sandbox.proxmox import ProxmoxSandbox
    with ProxmoxSandbox(token_id="root@pam!netbox", secret="s3cret") as pve:
        ...  # point proxmoxer at pve.host / pve.port, trusting pve.ca_cert_path
"""

from .estate import (
    AGENT_ERROR,
    AGENT_NOT_RUNNING,
    AGENT_OK,
    Cluster,
    Guest,
    Nic,
    Node,
    generate_cluster,
)
from .server import (
    DEFAULT_SECRET,
    DEFAULT_TOKEN_ID,
    ProxmoxSandbox,
    RequestLogEntry,
    main,
    serve_forever,
)

__all__ = [
    "AGENT_ERROR", "AGENT_NOT_RUNNING", "AGENT_OK", "Cluster", "DEFAULT_SECRET", "DEFAULT_TOKEN_ID", "Guest",
    "Nic", "Node", "ProxmoxSandbox", "RequestLogEntry", "generate_cluster", "main", "serve_forever",
]
