"""`check-config`: everything a run checks before it writes, reported at once, without NetBox.

The configuration (every problem, not the first), the places a run writes to (`state_dir`, a
SQLite staging file), the NetBox settings a sync needs, and the inventory files: each file read
as its source would read it (every bad record, located), then merged and planned against an empty
NetBox so that what a run would leave out across records (two spellings of one slug, a MAC
claimed twice) is reported too. Sources that need their system (Proxmox, nmap, ...) are not
contacted.
"""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from netbox_pipeline.config import PipelineConfig, check_config
from netbox_pipeline.model import SourceResult
from netbox_pipeline.reconcile.merge import merge
from netbox_pipeline.reconcile.plan import build_plan, exclude_rejected, validate_plan
from netbox_pipeline.sources import SOURCES
from netbox_pipeline.stages.collect import collect_context
from netbox_pipeline.stages.plan import desired_for, sync_policy

FILE_KIND = "filesystem"


@dataclass
class CheckReport:
    config: PipelineConfig | None
    # In the configuration itself (exit 2, like every command given a bad configuration).
    config_problems: list[str] = field(default_factory=list)
    # In what it points at: directories, NetBox settings a sync needs, inventory files.
    problems: list[str] = field(default_factory=list)
    # Filesystem instance -> records read from it (None: the file could not be read).
    records: dict[str, int | None] = field(default_factory=dict)

    @property
    def all_problems(self) -> list[str]:
        return [*self.config_problems, *self.problems]


def check_everything(path: str | Path | None = None) -> CheckReport:
    config, problems = check_config(path)
    report = CheckReport(config, problems)
    if config is None:
        return report
    report.problems += place_problems(config)
    report.problems += netbox_problems(config)
    results = read_inventory_files(config)
    report.records = {r.instance: (len(r.records) if r.status == "ok" else None) for r in results}
    report.problems += inventory_problems(config, results)
    return report


def place_problems(config: PipelineConfig) -> list[str]:
    """`state_dir` (and a SQLite staging file elsewhere) can be created and written."""
    problems = []
    # Used for the default SQLite staging file and, without $DAGSTER_HOME, Dagster's run history.
    uses_state_dir = not config.staging.url or not os.environ.get("DAGSTER_HOME")
    state = _writable_dir(config.state_path) if uses_state_dir and config.given("state_dir") else None
    if state:
        problems.append(f"{config.location_of('state_dir')}: {config.state_path} {state}")
    sqlite = _sqlite_file(config.staging_url)
    if sqlite is not None and config.staging.url and not _inside(sqlite, config.state_path) and config.given("staging"):
        where = _writable_dir(sqlite.parent)
        if where:
            problems.append(f"{config.location_of('staging', 'url')}: the directory of the SQLite file "
                            f"{sqlite.parent} {where}")
    return problems


def netbox_problems(config: PipelineConfig) -> list[str]:
    """What a sync (or `plan`) needs of the NetBox settings before it can read NetBox."""
    if not config.sources.configured_kinds() or not config.given("netbox"):
        return []  # nothing to sync, or the netbox settings' own problems are reported already
    if not config.netbox.url:
        return [f"{config.location_of('netbox', 'url')}: not set; a sync reads and writes NetBox at this base URL "
                "(or set NETBOX_PIPELINE_NETBOX__URL)"]
    if config.netbox.token is None:
        return [f"{config.location_of('netbox', 'token')}: not set; export NETBOX_TOKEN (or write "
                "token: ${VAR} naming the variable that holds it)"]
    return []


def read_inventory_files(config: PipelineConfig) -> list[SourceResult]:
    """Every configured inventory file, read exactly as its source instance reads it in a run."""
    context = collect_context(config, datetime.now(UTC))
    kind = SOURCES[FILE_KIND]
    return [kind.collect(instance, context) for instance in config.sources.instances(FILE_KIND)]


def inventory_problems(config: PipelineConfig, results: list[SourceResult]) -> list[str]:
    problems = []
    for result in results:
        if result.status != "ok":
            problems.append(f"{FILE_KIND}:{result.instance}: {result.error}")
        problems += [str(error) for error in result.errors]
    good = [r for r in results if r.status == "ok"]
    if not good:
        return problems
    # Across records and files: what a plan would leave out, against a NetBox with nothing in it.
    inventory = merge(good, config.precedence.mapping())
    desired = desired_for(config, inventory)
    plan = build_plan(desired, {}, policy=sync_policy(config))
    for problem in exclude_rejected(plan, desired, validate_plan(plan, desired)):
        if problem.severity in ("error", "excluded"):
            problems.append(problem.message)
    return problems


def _writable_dir(path: Path) -> str | None:
    """Why a run could not create or write the directory `path`, or None."""
    if path.exists():
        if not path.is_dir():
            return "is a file, not a directory; point it at a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return "is not writable by this user"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"does not exist and cannot be created: {parent} is not writable by this user"
    return None


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://":
        return None
    path = url[len(prefix):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True
