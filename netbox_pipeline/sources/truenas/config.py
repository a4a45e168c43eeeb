"""One configured TrueNAS host (`sources.truenas[]`): where it is and what to call its parts in NetBox."""

from pydantic import Field, SecretStr, field_validator

from netbox_pipeline.sources.contract import InstanceConfig
from netbox_pipeline.values import host_port


class TrueNASConfig(InstanceConfig):
    """The JSON-RPC 2.0 WebSocket API of one TrueNAS SCALE host (docs/source-truenas.md)."""

    host: str = Field(min_length=1, description="The NAS (name or address); spoken to over wss:// only")
    port: int = Field(443, ge=1, le=65535)
    api_key: SecretStr | None = Field(
        None, description="API key (the whole '<id>-<secret>' string); from the environment only")
    username: str | None = Field(
        None, description="The key's owner: needed for auth.login_ex API_KEY_PLAIN (TrueNAS 25.04+), "
        "where API keys belong to a user; without it the older auth.login_with_api_key is used")
    verify_ssl: bool = Field(True, description="Verify the TLS certificate; false accepts any certificate")
    ca_cert: str | None = Field(None, description="CA bundle (PEM) that signed the NAS's certificate")
    timeout_s: float = Field(30.0, gt=0, description="Connect and per-call timeout in seconds")
    api_path: str = Field("/api/current", description="The versioned endpoint, e.g. /api/v25.04.0")
    max_message_mb: int = Field(256, ge=1, le=4096, description="Largest single answer accepted (MiB)")
    site: str | None = Field(None, description="Site of the NAS; default: defaults.site")
    role: str | None = Field(None, description="Device role of the NAS; default: defaults.device_role")
    manufacturer: str | None = Field(
        None, description="When the firmware says nothing useful; default: defaults.manufacturer")
    device_type: str | None = Field(
        None, description="When the board reports a placeholder such as 'To Be Filled By O.E.M.'; "
        "default: defaults.device_type")
    vm_role: str | None = Field(None, description="Role of VMs; default: defaults.vm_role")
    container_role: str | None = Field(None, description="Role of containers (virt.instance); default: vm_role")
    cluster_type: str = Field("TrueNAS", description="Cluster type of the cluster named after the NAS")

    @field_validator("api_path")
    @classmethod
    def _api_path(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/api/") or value.rstrip("/") == "/api" or value.startswith("/api/v2.0"):
            raise ValueError(f"api_path {value!r} is not a JSON-RPC endpoint: use /api/current or a "
                             "pinned /api/vXX.YY.Z (the REST /api/v2.0 is removed in TrueNAS 26)")
        return value.rstrip("/")

    @property
    def where(self) -> str:
        return host_port(self.host, self.port)

    @property
    def url(self) -> str:
        return f"wss://{self.where}{self.api_path}"
