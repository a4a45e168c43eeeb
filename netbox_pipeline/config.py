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
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
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

from netbox_pipeline.model import CUSTOM_FIELD_TYPES, DEFAULT_VALUES, CustomField
from netbox_pipeline.sources import SOURCES, declared_custom_fields, documents
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
    # 1e400 reads as infinity: a timeout that never ends is a typo, not a setting.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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
    # The values are model.DEFAULT_VALUES, which the build's fallbacks share.
    site: str = DEFAULT_VALUES["site"]
    device_role: str = DEFAULT_VALUES["device_role"]
    vm_role: str = DEFAULT_VALUES["vm_role"]
    status: str = DEFAULT_VALUES["status"]
    manufacturer: str = DEFAULT_VALUES["manufacturer"]
    device_type: str = DEFAULT_VALUES["device_type"]


class DeletionConfig(_Strict):
    grace_runs: int = Field(3, ge=1, description="Successful runs an owned object must be missing before it is pruned")
    max_ratio: float = Field(0.1, ge=0, le=1, description="Block the apply when deletions exceed this share of owned objects")
    mode: Literal["delete", "offline"] = Field("delete", description="Prune by deleting, or by setting status offline")


class McpConfig(_Strict):
    allow_writes: bool = Field(
        False,
        description="Let the MCP server's `sync` and `undo` tools write to NetBox: a preview returns a one-time token bound "
        "to the hash of what it showed, and only a second call with that token applies exactly that. Off: every MCP tool is "
        "read-only.",
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

    def mapping(self) -> dict[str, list[str]]:
        """The precedence as `reconcile.merge.merge` takes it: field name or "default" -> kinds."""
        return {"default": list(self.default), **{name: list(kinds) for name, kinds in self.fields.items()}}


class ScheduleConfig(_Strict):
    cron: str = Field(description="Cron expression, e.g. '0 * * * *'")
    enabled: bool = Field(False, description="Schedules start stopped unless enabled here")
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _dagster_cron(cls, value: str) -> str:
        """The check Dagster makes when it builds the schedule, so a bad cron is a located
        configuration error and not a DagsterInvalidDefinitionError when the code location loads."""
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron expression Dagster accepts: five fields "
                             "(minute hour day-of-month month day-of-week), e.g. '*/15 * * * *'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin") from None
        return value


# NetBox's rule for custom field names (extras.CustomField.name).
_CUSTOM_FIELD_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def _custom_field_name(name: str) -> str:
    if not _CUSTOM_FIELD_NAME.match(name) or "__" in name:
        raise ValueError("a custom field name has letters, digits and single underscores only (NetBox's rule)")
    own = declared_custom_fields().get(name)
    if own is not None:
        raise ValueError(f"a field the sources define themselves (type {own.type}); remove it here")
    return name


CustomFieldName = Annotated[str, AfterValidator(_custom_field_name)]


class CustomFieldConfig(_Strict):
    type: Literal[CUSTOM_FIELD_TYPES] = Field(  # type: ignore[valid-type]
        description="NetBox custom field type; values in inventory files are checked against it")
    label: str | None = Field(None, description="Shown in NetBox; default: the name, capitalised")
    description: str | None = Field(None, description="Shown in NetBox; default: 'Set by <owner tag>'")


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
    custom_fields: dict[CustomFieldName, CustomFieldConfig] = Field(
        default_factory=dict,
        description="Custom fields inventory files may set, by name, with their type; created in NetBox when missing",
    )

    def custom_field_types(self) -> dict[str, str]:
        """Every custom field a record may set -> its NetBox type (the sources' own and the declared)."""
        return {name: cf.type for name, cf in self.custom_field_specs().items()}

    def custom_field_specs(self) -> dict[str, CustomField]:
        """Every custom field the pipeline may create, as NetBox should have it."""
        specs = dict(declared_custom_fields())
        for name, declared in self.custom_fields.items():
            specs[name] = CustomField(
                name, declared.type, (), declared.label or name.replace("_", " ").capitalize(),
                declared.description or f"Set by {self.netbox.owner_tag}")
        return specs

    @field_validator("schedules")
    @classmethod
    def _schedule_kinds(cls, value: dict[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source kind(s) {unknown}; known: {list(SOURCES)}")
        return value

    # Set by load_config, never by the file or the environment.
    _config_path: Path | None = PrivateAttr(None)
    _node: Any = PrivateAttr(None)  # the file's YAML nodes, for `location_of`
    # Sections left at their defaults because the file's were invalid (see `check_config`).
    _dropped: frozenset[str] = PrivateAttr(frozenset())

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

    def given(self, section: str) -> bool:
        """False when the file's `section` had problems and the defaults stand in for it."""
        return section not in self._dropped

    def location_of(self, *loc: str | int) -> str:
        """`file:line: key.path` of a setting, for a message about its value."""
        where = _where(self._config_path, self._node, loc) if self._config_path else "(no configuration file)"
        return f"{where}: {_dotted(loc)}"

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
    config, problems = check_config(path)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_config(path: str | Path | None = None) -> tuple[PipelineConfig | None, list[str]]:
    """Every problem of the configuration at once, and the configuration as far as it is usable.

    With problems, the configuration returned is the file with the settings that have them left
    out (at their defaults; a bad source instance dropped), so that `check-config` can still read
    the inventory files of the good instances; None when nothing of the file can be used.
    """
    env = os.environ
    explicit = path is not None or CONFIG_ENV_VAR in env
    config_path = Path(path if path is not None else env.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_FILE))
    raw: dict[str, Any] = {}
    node = None
    problems: list[str] = []
    if config_path.exists():
        try:
            raw, node = _parse(_read(config_path), config_path, problems)
        except ConfigError as exc:
            return None, exc.problems
    elif explicit:
        return None, [f"{config_path}: configuration file not found"]

    unusable: list[tuple] = []  # key paths whose value is not what the file meant
    raw = _interpolate(raw, (), env, config_path, node, problems, unusable)
    _apply_default_secrets(raw, env)
    try:
        config = PipelineConfig(**raw)
    except ValidationError as exc:
        problems += _located_errors(exc, config_path, node, env, skip=unusable)
        unusable += [tuple(error["loc"]) for error in exc.errors()]
        config = _usable_part(raw, unusable)
    except SettingsError:  # an override that is not JSON: nothing of the environment is certain
        problems += _unparsable_overrides(env)
        config = None
    else:
        if unusable:
            config = _usable_part(raw, unusable)
    if config is not None:
        problems += _short_secrets(config, config_path, node, env)
        config._config_path = config_path.resolve() if config_path.exists() else None
        config._node = node
    return config, problems


def _usable_part(raw: dict[str, Any], bad: list[tuple]) -> PipelineConfig | None:
    """The configuration without the settings at `bad` key paths: a bad source instance is left
    out, any other bad setting takes its whole section back to the defaults."""
    kept = {section: value for section, value in raw.items() if section not in {loc[0] for loc in bad if loc}}
    sources = raw.get("sources")
    if "sources" not in kept and isinstance(sources, dict):
        bad_instances = {(loc[1], loc[2]) for loc in bad if len(loc) >= 3 and loc[0] == "sources"
                         and isinstance(loc[2], int)}
        if all(len(loc) >= 3 and isinstance(loc[2], int) for loc in bad if loc and loc[0] == "sources"):
            kept["sources"] = {kind: [entry for index, entry in enumerate(entries) if (kind, index) not in bad_instances]
                               if isinstance(entries, list) else entries for kind, entries in sources.items()}
    try:
        config = PipelineConfig(**kept)
    except ValidationError:
        return None  # an environment override is bad too: nothing is certain
    config._dropped = frozenset({loc[0] for loc in bad if loc} - set(kept))
    return config


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None


def _parse(text: str, path: Path, problems: list[str]) -> tuple[dict[str, Any], yaml.Node | None]:
    """The file's mapping; a key given twice is a problem (YAML keeps the second silently), the
    rest is still checked."""
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
    problems += [f"{path}:{line}: {key}: given twice (first at line {first}); YAML would silently keep "
                 "only the second" for key, line, first in documents.yaml_duplicate_keys(node)]
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the top level must be a mapping of sections, not {type(data).__name__}"])
    return data, node


def _interpolate(value: Any, loc: tuple, env, path: Path, node, problems: list[str], unusable: list[tuple]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, loc + (k,), env, path, node, problems, unusable) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, loc + (i,), env, path, node, problems, unusable) for i, v in enumerate(value)]
    is_secret = bool(loc) and loc[-1] in SECRET_FIELDS
    if is_secret and value is not None and not (isinstance(value, str) and _VAR_REF.fullmatch(value.strip())):
        problems.append(
            f"{_where(path, node, loc)}: {_dotted(loc)}: secrets are read from the environment only; "
            f"write a reference such as ${{{_suggest_env_name(loc)}}} instead of the value"
        )
        unusable.append(loc)
        return None
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{_where(path, node, loc)}: {_dotted(loc)}: environment variable {name} is not set")
            unusable.append(loc)
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


def _located_errors(exc: ValidationError, path: Path, node, env, skip: list[tuple] = ()) -> list[str]:
    """One line per error; none for a value already reported (an unset variable left it empty)."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if loc in skip:
            continue
        if loc[-1:] == ("[key]",):  # a mapping's key, not its value, is wrong: name the key
            loc = loc[:-1]
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
            # the last of a key given twice: the one YAML keeps
            current = next((v for k, v in reversed(current.value) if k.value == part), None)
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
