"""Every Dagster object of the code location, kept thin: they wire the core to resources."""

import dagster as dg

from netbox_pipeline.config import PipelineConfig
from netbox_pipeline.defs.resources import PipelineResource


def build_definitions(config: PipelineConfig) -> dg.Definitions:
    config_path = str(config.config_path) if config.config_path else None
    return dg.Definitions(
        resources={"pipeline": PipelineResource(config_path=config_path)},
    )
