"""Resources: the only doors from Dagster assets to configuration, the staging DB and NetBox.

Resources hold no secrets and no URLs with passwords (their config is shown in the UI): they keep
the path of the configuration file and read secrets from the environment when a step runs.
"""

import functools
import os

import dagster as dg

from netbox_pipeline.config import PipelineConfig, load_config


class PipelineResource(dg.ConfigurableResource):
    """The loaded configuration and the staging database for one step."""

    config_path: str | None = None
    # Set by `netbox-pipeline sync --dry-run`: read everything, write nothing.
    force_dry_run: bool = False

    def config(self) -> PipelineConfig:
        config = _load_cached(self.config_path, _mtime(self.config_path))
        if self.force_dry_run and not config.netbox.dry_run:
            config = config.model_copy(update={"netbox": config.netbox.model_copy(update={"dry_run": True})})
        return config

    def staging(self):
        return _open_staging_cached(self.config().staging_url)


def _mtime(path: str | None) -> int:
    try:
        return os.stat(path).st_mtime_ns if path else 0
    except OSError:
        return 0


@functools.lru_cache(maxsize=8)
def _load_cached(path: str | None, mtime_ns: int) -> PipelineConfig:
    """Parsed once per process and file version (the mtime is part of the key)."""
    return load_config(path)


@functools.lru_cache(maxsize=8)
def _open_staging_cached(url: str):
    from netbox_pipeline.staging.db import open_staging

    return open_staging(url)
