"""The configuration of one Home Assistant instance (`sources.home_assistant[]`)."""

from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator

from netbox_pipeline.sources.contract import InstanceConfig

# Integrations whose devices are never hardware (HA's own helpers, weather and sun services).
VIRTUAL_DOMAINS = (
    "demo", "template", "group", "sun", "met", "met_eireann", "openweathermap", "accuweather", "forecast_solar",
    "google_translate", "radio_browser", "shopping_list", "backup", "hassio", "homeassistant", "cloud",
    "mobile_app_notify", "workday", "season", "moon", "derivative", "utility_meter", "min_max", "threshold",
)


class HomeAssistantConfig(InstanceConfig):
    """One Home Assistant server, read over its WebSocket API with a long-lived access token."""

    url: str = Field(description="http(s)://host:8123 or ws(s)://host:8123/api/websocket")
    token: SecretStr = Field(description="Long-lived access token (HA profile → Security); from the environment only")
    verify_ssl: bool = Field(True, description="Verify the TLS certificate of an https/wss URL")
    ca_cert: str | None = Field(None, description="CA bundle (PEM) that signed a self-signed HA certificate")
    timeout_s: float = Field(30.0, gt=0, description="Connect, authenticate and per-command timeout in seconds")
    site: str | None = Field(None, description="Site of the devices; default: HA's location name, else defaults.site")
    role: str | None = Field(None, description="Device role for domains not in role_map; default: defaults.device_role")
    role_map: dict[str, str] = Field(default_factory=dict, description="Device role by integration domain, e.g. unifi: Network")
    manufacturer_aliases: dict[str, str] = Field(
        default_factory=dict, description='Manufacturer renames, e.g. "Signify Netherlands B.V.": Signify')
    skip_domains: list[str] = Field(default_factory=lambda: list(VIRTUAL_DOMAINS),
                                    description="Integration domains whose devices are not synced")
    skip_virtual: bool = Field(True, description="Skip devices with no manufacturer, model or connections")
    include_disabled: bool = Field(False, description="Sync devices disabled in HA (status offline) instead of skipping them")
    tags: list[str] = Field(default_factory=list, description="Tags put on every device of this instance")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        websocket_url(value)
        parts = urlsplit(value.strip())
        if parts.username is not None or parts.password is not None:
            raise ValueError("holds credentials (user:password@); remove them: the long-lived access token "
                             "(token) is the only credential sent")
        return value.strip()

    @property
    def websocket_url(self) -> str:
        return websocket_url(self.url)

    @property
    def display_url(self) -> str:
        """The URL for messages: no user or password part, ever."""
        return display_url(self.url)


def websocket_url(url: str) -> str:
    """http://h:8123 -> ws://h:8123/api/websocket; https -> wss; a ws(s) URL is kept as given."""
    parts = urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise ValueError(f"url must be http(s)://host[:port] or ws(s)://host[:port]/api/websocket, not {display_url(url)!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/api/websocket"):
        path += "/api/websocket"
    return urlunsplit((scheme, parts.netloc.rsplit("@", 1)[-1], path, "", ""))


def display_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
