"""Resources: the only doors from Dagster assets to configuration, the staging DB and NetBox.

Resources hold no secrets and no URLs with passwords (their config is shown in the UI): they keep
the path of the configuration file and read secrets from the environment when a step runs.
"""

import functools

import dagster as dg

from netbox_pipeline.config import PipelineConfig, load_config


class PipelineResource(dg.ConfigurableResource):
    """The loaded configuration and the staging database for one step."""

    config_path: str | None = None

    def config(self) -> PipelineConfig:
        return _load_cached(self.config_path)

    def staging(self):
        return _open_staging_cached(self.config().staging_url)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str | None) -> PipelineConfig:
    return load_config(path)


@functools.lru_cache(maxsize=8)
def _open_staging_cached(url: str):
    from netbox_pipeline.staging.db import open_staging

    return open_staging(url)
