"""The pipeline's configuration: one YAML file plus environment overrides.

The file is found at $NETBOX_PIPELINE_CONFIG (default `netbox_pipeline.yaml` in the working
directory). `${VAR}` anywhere in a value is replaced from the environment. Any setting can be
overridden by an environment variable `NETBOX_PIPELINE_<SECTION>__<KEY>` (e.g.
`NETBOX_PIPELINE_NETBOX__URL`), and these win over the file.

Secrets (tokens, passwords) are accepted only from the environment: in the file they must be
written as a `${VAR}` reference, never as a literal, so that a config file can be committed and
shared. Errors name the file, the line and the key path (`sources.proxmox[1].host: Field
required`), and an unknown key is an error rather than silently ignored.
"""

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

CONFIG_ENV_VAR = "NETBOX_PIPELINE_CONFIG"
DEFAULT_CONFIG_FILE = "netbox_pipeline.yaml"
ENV_PREFIX = "NETBOX_PIPELINE_"
OWNER_TAG = "netbox-pipeline"

from netbox_pipeline.sources import SOURCES, documents
from netbox_pipeline.sources.base import error_path
from netbox_pipeline.sources.contract import InstanceConfig
from netbox_pipeline.values import MIN_SECRET_LENGTH

_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who wrote the file."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- NetBox, staging, defaults ---------------------------------------------------------------


class NetBoxConfig(_Strict):
    url: str | None = Field(None, description="Base URL of NetBox, e.g. https://netbox.example.net")

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """What the client needs: http(s), a host, no credentials (the token authenticates), no /api.

        The messages never repeat the URL: it may hold a password.
        """
        if value is None:
            return None
        text = value.strip()
        if not text:
            raise ValueError("is empty (an environment variable it names may be empty); give NetBox's base URL")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must start with http:// or https:// and name a host, e.g. https://netbox.example.net")
        if parts.username is not None or parts.password is not None:
            raise ValueError("holds credentials (user:password@); remove them: the API token "
                             "(netbox.token) is the only credential sent")
        if parts.path.rstrip("/").endswith("/api"):
            raise ValueError("ends in /api; give the base URL without it (the client adds /api/)")
        return text
    token: SecretStr | None = Field(
        None, description="API token (v1 40-hex or v2 nbt_…); from the environment only (NETBOX_TOKEN)"
    )
    dry_run: bool = Field(False, description="Read everything, write nothing, record the plan")
    # 50: on a real 2-worker NetBox 4.7 the write rate was flat from 50 to 250 objects per request and 1 to 6
    # in flight (docs/benchmarks.md), while a chunk of 100 devices outlasted the 60 s timeout on a busy host.
    chunk_size: int = Field(50, ge=1, le=1000, description="Objects per bulk POST/PATCH/DELETE")
    max_parallel: int = Field(3, ge=1, le=16, description="Bulk requests in flight at once")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds")
    retries: int = Field(3, ge=0, le=10, description="Retries on 5xx and timeouts, with backoff")
    server_timeout_s: float = Field(
        120.0, gt=0,
        description="Longest NetBox may keep working on one request (its gunicorn `timeout`); after a write "
        "without a certain answer nothing is resent until this has passed or NetBox's change log shows the write",
    )
    lease_ttl_s: float = Field(
        120.0, ge=1,
        description="The write lease expires this long after its holder's last heartbeat (a dead run's lease is "
        "taken over after it)",
    )
    verify_ssl: bool = Field(True, description="Verify NetBox's TLS certificate")
    owner_tag: str = Field(OWNER_TAG, description="Tag marking objects this pipeline owns")
    adopt: bool | list[str] = Field(
        False, description="Adopt (manage) unowned objects with a matching key: true, or a list of types"
    )
    drift_policy: Literal["overwrite", "keep"] = Field(
        "overwrite", description="What to do when a person changed a managed field in NetBox"
    )


class StagingConfig(_Strict):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the staging DB; default: SQLite file in state_dir",
    )


class Defaults(_Strict):
    site: str = "home"
    device_role: str = "server"
    vm_role: str = "virtual-machine"
    status: str = "active"
    manufacturer: str = "Generic"
    device_type: str = "Generic device"


class DeletionConfig(_Strict):
    grace_runs: int = Field(3, ge=1, description="Successful runs an owned object must be missing before it is pruned")
    max_ratio: float = Field(0.1, ge=0, le=1, description="Block the apply when deletions exceed this share of owned objects")
    mode: Literal["delete", "offline"] = Field("delete", description="Prune by deleting, or by setting status offline")


class McpConfig(_Strict):
    allow_writes: bool = Field(
        False,
        description="Let the MCP server's `sync` tool write to NetBox: a preview returns a one-time token bound to the "
        "plan's hash, and only a second call with that token applies exactly that plan. Off: every MCP tool is read-only.",
    )


class PrecedenceConfig(_Strict):
    # The order of the registered kinds: most trusted first (sources/__init__.py).
    default: list[str] = Field(default_factory=lambda: list(SOURCES))
    fields: dict[str, list[str]] = Field(default_factory=dict, description="Per-field override, e.g. serial: [truenas, filesystem]")

    @field_validator("default")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in SOURCES]
        if unknown:
            raise ValueError(f"unknown source kind(s) {unknown}; known: {list(SOURCES)}")
        return value


class ScheduleConfig(_Strict):
    cron: str = Field(description="Cron expression, e.g. '0 * * * *'")
    enabled: bool = Field(False, description="Schedules start stopped unless enabled here")
    timezone: str = "UTC"


# --- sources ------------------------------------------------------------------------------------


def _build_sources_model() -> type[BaseModel]:
    """`sources:` has one list per registered kind, each entry validated by that kind's model."""
    fields = {kind: (list[source.config_model], Field(default_factory=list)) for kind, source in SOURCES.items()}
    return create_model("SourcesConfig", __base__=_SourcesBase, **fields)


class _SourcesBase(_Strict):
    @model_validator(mode="after")
    def _unique_names(self) -> "_SourcesBase":
        for kind in SOURCES:
            seen: set[str] = set()
            for instance in getattr(self, kind):
                if instance.name in seen:
                    raise ValueError(f"sources.{kind}: instance name {instance.name!r} is used twice")
                seen.add(instance.name)
        return self

    def instances(self, kind: str) -> list[InstanceConfig]:
        return list(getattr(self, kind))

    def configured_kinds(self) -> list[str]:
        return [kind for kind in SOURCES if getattr(self, kind)]


SourcesConfig = _build_sources_model()


# --- the whole file -----------------------------------------------------------------------------


class PipelineConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    netbox: NetBoxConfig = Field(default_factory=NetBoxConfig)
    staging: StagingConfig = Field(default_factory=StagingConfig)
    state_dir: str = Field(".netbox_pipeline", description="Where local state lives; relative to the config file")
    defaults: Defaults = Field(default_factory=Defaults)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    precedence: PrecedenceConfig = Field(default_factory=PrecedenceConfig)
    deletion: DeletionConfig = Field(default_factory=DeletionConfig)
    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict, description="Per source kind")
    mcp: McpConfig = Field(default_factory=McpConfig, description="The MCP server (`netbox-pipeline mcp`)")

    @field_validator("schedules")
    @classmethod
    def _schedule_kinds(cls, value: dict[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source kind(s) {unknown}; known: {list(SOURCES)}")
        return value

    # Set by load_config, never by the file or the environment.
    _config_path: Path | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over file; no .env or secret-dir magic that would surprise an operator.
        return (env_settings, init_settings)

    @property
    def config_path(self) -> Path | None:
        return self._config_path

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    def resolve_path(self, path: str) -> Path:
        candidate = Path(os.path.expanduser(path))
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    @property
    def state_path(self) -> Path:
        return self.resolve_path(self.state_dir)

    @property
    def staging_url(self) -> str:
        if self.staging.url:
            return _resolve_sqlite_url(self.staging.url, self.base_dir)
        return f"sqlite:///{self.state_path / 'staging.sqlite'}"


def _resolve_sqlite_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the config file, not to whatever cwd Dagster uses."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        return prefix + str((base / url[len(prefix):]).resolve())
    return url


# --- loading ------------------------------------------------------------------------------------

# Fields that hold secrets, by their name in any section; file values must be ${VAR} references.
SECRET_FIELDS = {"token", "token_value", "password", "api_key"}
# Where a secret comes from when the file says nothing about it.
DEFAULT_SECRET_ENV = {("netbox", "token"): "NETBOX_TOKEN"}


def config_path_from_env() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_FILE))


def load_config(path: str | Path | None = None) -> PipelineConfig:
    """Load, interpolate and validate the configuration; raise ConfigError naming file, line and key.

    With no explicit path and no $NETBOX_PIPELINE_CONFIG, a missing default file means an empty
    configuration (no sources), so the code location still loads on a fresh checkout.
    """
    env = os.environ
    explicit = path is not None or CONFIG_ENV_VAR in env
    config_path = Path(path if path is not None else env.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_FILE))
    raw: dict[str, Any] = {}
    node = None
    if config_path.exists():
        text = _read(config_path)
        raw, node = _parse(text, config_path)
    elif explicit:
        raise ConfigError([f"{config_path}: configuration file not found"])

    problems: list[str] = []
    raw = _interpolate(raw, (), env, config_path, node, problems)
    _apply_default_secrets(raw, env)
    if problems:
        raise ConfigError(problems)
    try:
        config = PipelineConfig(**raw)
    except ValidationError as exc:
        raise ConfigError(_located_errors(exc, config_path, node, env)) from None
    except SettingsError:
        raise ConfigError(_unparsable_overrides(env)) from None
    short = _short_secrets(config, config_path, node, env)
    if short:
        raise ConfigError(short)
    config._config_path = config_path.resolve() if config_path.exists() else None
    return config


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None


def _parse(text: str, path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        documents.check_yaml(text, str(path))
    except documents.DocumentError as exc:
        raise ConfigError([str(exc)]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    repeated = [f"{path}:{line}: {key}: given twice (first at line {first}); YAML would silently keep "
                "only the second" for key, line, first in documents.yaml_duplicate_keys(node)]
    if repeated:
        raise ConfigError(repeated)
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the top level must be a mapping of sections, not {type(data).__name__}"])
    return data, node


def _interpolate(value: Any, loc: tuple, env, path: Path, node, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, loc + (k,), env, path, node, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, loc + (i,), env, path, node, problems) for i, v in enumerate(value)]
    is_secret = bool(loc) and loc[-1] in SECRET_FIELDS
    if is_secret and value is not None and not (isinstance(value, str) and _VAR_REF.fullmatch(value.strip())):
        problems.append(
            f"{_where(path, node, loc)}: {_dotted(loc)}: secrets are read from the environment only; "
            f"write a reference such as ${{{_suggest_env_name(loc)}}} instead of the value"
        )
        return None
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{_where(path, node, loc)}: {_dotted(loc)}: environment variable {name} is not set")
            return ""
        return env[name]

    return _VAR_REF.sub(substitute, value)


def _suggest_env_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int) and p != "sources"]
    return "_".join(parts).upper().replace("-", "_")


def _apply_default_secrets(raw: dict[str, Any], env) -> None:
    for (section, key), var in DEFAULT_SECRET_ENV.items():
        block = raw.setdefault(section, {})
        if isinstance(block, dict) and block.get(key) is None and env.get(var):
            block[key] = env[var]


def _located_errors(exc: ValidationError, path: Path, node, env) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (not a setting; check the spelling)"
            if len(loc) == 2 and loc[0] == "sources":
                message = (f"unknown source kind {loc[1]!r}: this version has no collector for it "
                           f"(known kinds: {', '.join(SOURCES)})")
        problems.append(f"{_origin(path, node, loc, env)}: {_dotted(loc)}: {message}")
    return problems


# --- environment overrides and secrets ------------------------------------------------------------


def _override_var(loc: tuple, env) -> str | None:
    """The NETBOX_PIPELINE_<SECTION>__<KEY> variable that set the value at `loc`, if one did.

    pydantic-settings matches names case-insensitively and takes a whole section as JSON too
    (`NETBOX_PIPELINE_NETBOX='{"retries": 1}'`), so the deepest set variable on the path wins.
    """
    names = {name.upper(): name for name in env if name.upper().startswith(ENV_PREFIX)}
    keys = [str(part) for part in loc]
    for depth in range(len(keys), 0, -1):
        if any(isinstance(part, int) for part in loc[:depth]):
            continue
        found = names.get(ENV_PREFIX + "__".join(keys[:depth]).upper())
        if found:
            return found
    return None


def _origin(path: Path, node, loc: tuple, env) -> str:
    """Where a value came from: the environment variable that overrides it, else `file:line`."""
    var = _override_var(loc, env)
    return f"environment variable {var}" if var else _where(path, node, loc)


def _unparsable_overrides(env) -> list[str]:
    """pydantic-settings' SettingsError names no variable: find the section variables that are not JSON."""
    import json

    sections = {name.upper() for name in PipelineConfig.model_fields}
    problems = []
    for name, value in sorted(env.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or "__" in upper[len(ENV_PREFIX):]:
            continue
        section = upper[len(ENV_PREFIX):]
        if section not in sections or PipelineConfig.model_fields[section.lower()].annotation is str:
            continue
        try:
            json.loads(value)
        except ValueError as exc:
            problems.append(f"environment variable {name}: the whole {section.lower()} section must be JSON here "
                            f"({exc.msg} at character {exc.pos}); or set one key with {ENV_PREFIX}{section}__<KEY>")
    return problems or ["an environment variable NETBOX_PIPELINE_<SECTION> could not be read as JSON"]


def _secret_var(node, loc: tuple) -> str | None:
    """The variable a secret was read from: its `${VAR}` in the file, else its default variable."""
    current = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            current = next((v for k, v in current.value if k.value == part), None)
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            current = None
    match = _VAR_REF.fullmatch(current.value.strip()) if isinstance(current, yaml.ScalarNode) else None
    return match.group(1) if match else None


def _short_secrets(config: BaseModel, path: Path, node, env) -> list[str]:
    """Secrets too short to keep out of messages: a 3-character token is also an ordinary word."""
    problems = []

    def walk(value: Any, loc: tuple) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            if secret and len(secret) < MIN_SECRET_LENGTH:
                origin, var = _origin(path, node, loc, env), _secret_var(node, loc)
                if not var and not _override_var(loc, env) and loc in DEFAULT_SECRET_ENV:  # not in the file at all
                    origin = f"environment variable {DEFAULT_SECRET_ENV[loc]}"
                problems.append(
                    f"{origin}: {_dotted(loc)}: the secret"
                    f"{f' in ${var}' if var else ''} is {len(secret)} character(s) long; "
                    f"at least {MIN_SECRET_LENGTH} are needed to mask it in messages without blanking ordinary "
                    "words: use a longer token (an API token rather than a password)")
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), loc + (name,))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, loc + (index,))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, loc + (key,))

    walk(config, ())
    return problems


def _dotted(loc: tuple) -> str:
    return error_path(loc) or "(top level)"


def _where(path: Path, node, loc: tuple) -> str:
    """`file:line` of the deepest YAML node on the key path (the parent, for a missing key)."""
    line = None
    current = node
    for part in loc:
        if current is None:
            break
        line = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            current = next((v for k, v in current.value if k.value == part), None)
            if current is None:
                # a missing key: point at the mapping that lacks it, an unknown key: at the key
                pass
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            current = None
    if current is not None:
        line = current.start_mark.line + 1
    return f"{path}:{line}" if line else str(path)
