"""What a CLI run prints on the terminal: one line per warning or error the pipeline logs.

Dagster's own console logger prints every event at DEBUG and each failure with its whole stack
trace (about 170 lines for an unreachable NetBox, then once more for the run). Every event still
goes to the run's event log, which the UI shows; the terminal gets what a person acts on:

    warning: proxmox:pve-lab: VM 106 (app02) on pve3: guest agent: ...

A failed step is left to the CLI, which prints one line per failed run with its cause and next
step (`netbox_pipeline.failures`). `verbose: true` (`--verbose`) gives Dagster's full console log,
traces included.

Dagster builds a job's loggers only from the run config, so this logger serves the runs the CLI
starts (`console_run_config`); runs the UI or the daemon launch log at the instance's
`python_logs.python_log_level` (INFO in dagster.yaml: no DEBUG flood on `dagster dev`'s terminal).
"""

import logging
import re
import sys

import dagster as dg

LOGGER_NAME = "console"
_META = "dagster_meta"  # where Dagster's log manager puts a record's run, step and event
# The engine's own ERROR lines that follow a failed step: the failure already says it all.
_ENGINE_NOISE = re.compile(r"Dependencies for step \S+ (failed|were not executed).*Not executing\.$", re.DOTALL)


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, is_required=False, default_value="WARNING"),
        "verbose": dg.Field(bool, is_required=False, default_value=False),
    },
    description="The terminal: one line per warning or error (verbose: Dagster's full console log)",
)
def console_logger(init_context) -> logging.Logger:
    config = init_context.logger_config
    if config["verbose"]:
        from dagster._utils.log import create_console_logger

        return create_console_logger("dagster", config["log_level"])
    logger = logging.Logger("netbox_pipeline.run", level=config["log_level"])
    logger.addHandler(_OneLine())
    return logger


def console_run_config(*, verbose: bool = False) -> dict:
    """The run config a headless run passes: quiet on the terminal unless verbose."""
    level = "DEBUG" if verbose else "WARNING"
    return {"loggers": {LOGGER_NAME: {"config": {"log_level": level, "verbose": verbose}}}}


class _OneLine(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        line = self.line_of(record)
        if line is not None:
            sys.stderr.write(line + "\n")  # looked up each time: the CLI's stderr may be swapped (tests)
            sys.stderr.flush()

    @staticmethod
    def line_of(record: logging.LogRecord) -> str | None:
        meta = getattr(record, _META, None) or {}
        if meta.get("dagster_event") is not None:
            return None  # engine events, a failed step's too: the event log (UI) and the CLI's own line have them
        message = meta.get("orig_message") or record.getMessage()  # the pipeline's context.log.warning / .error
        return None if _ENGINE_NOISE.match(message) else f"{record.levelname.lower()}: {message}"
