"""`netbox-pipeline metrics --port P`: the staging DB's numbers as Prometheus metrics.

Every scrape reads the staging DB afresh (a few indexed queries), so the exporter holds no state
and can run beside any number of syncs. docs/operations.md lists the series and sample alerts.
"""

import time

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily

from netbox_pipeline.stages.metrics import TYPE_COUNTS, read_metrics

PREFIX = "netbox_pipeline"


class StagingCollector:
    def __init__(self, staging):
        self.staging = staging

    def collect(self):
        m = read_metrics(self.staging)
        labels = ["kind", "instance"]
        last_success = GaugeMetricFamily(f"{PREFIX}_source_last_success_timestamp_seconds",
                                         "Unix time of the newest successful pull of a source instance", labels=labels)
        records = GaugeMetricFamily(f"{PREFIX}_source_records", "Records in the newest successful pull", labels=labels)
        errors = GaugeMetricFamily(f"{PREFIX}_source_last_pull_failed", "1 when the newest pull of the instance failed", labels=labels)
        for (kind, instance), source in sorted(m.sources.items()):
            if source["last_success"] is not None:
                last_success.add_metric([kind, instance], source["last_success"])
            records.add_metric([kind, instance], source["records"])
            errors.add_metric([kind, instance], 1 if source["failed"] else 0)
        objects = GaugeMetricFamily(f"{PREFIX}_netbox_objects", "Objects of the newest real sync per NetBox type and outcome",
                                    labels=["type", "outcome"])
        for type_name, counts in sorted(m.types.items()):
            for outcome in TYPE_COUNTS:
                objects.add_metric([type_name, outcome], counts.get(outcome, 0))
        yield from (last_success, records, errors, objects)
        for name, help_text, value in (
            ("plan_size", "Creates, updates and deletes in the newest real plan", m.plan_size),
            ("drift_objects", "Objects whose managed fields someone changed in NetBox (newest real plan)", m.drift),
            ("netbox_duplicates", "Objects NetBox holds more than once (newest real plan)", m.live_duplicates),
            ("netbox_duplicates_unresolved", "Duplicate groups the pipeline leaves for a person to resolve (newest real plan)",
             m.duplicates_unresolved),
            ("sync_duration_seconds", "From planning to the last write of the newest real sync", m.duration_s),
            ("lease_wait_seconds", "How long the newest real sync waited for another run's NetBox writes", m.lease_wait_s),
        ):
            yield GaugeMetricFamily(f"{PREFIX}_{name}", help_text, value=value)
        if m.last_sync is not None:
            yield GaugeMetricFamily(f"{PREFIX}_last_sync_timestamp_seconds", "Unix time the newest real sync finished", value=m.last_sync)


def registry_for(staging) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StagingCollector(staging))
    return registry


def serve(staging, port: int, host: str = "127.0.0.1"):
    """Serve /metrics in a background thread; returns the server (and its thread)."""
    return start_http_server(port, addr=host, registry=registry_for(staging))


def serve_forever(staging, port: int, host: str = "127.0.0.1") -> None:
    serve(staging, port, host)
    while True:
        time.sleep(3600)



