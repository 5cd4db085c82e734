"""The text exposition of this process's metrics, with the gauges read from the database at
each scrape; and the unauthenticated listener (DOCKYARD_METRICS_LISTEN) that serves it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dockyard.metrics.instruments import REGISTRY

log = structlog.get_logger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class QueueGauges:
    """What the database says at a scrape: builds and runs not concluded, by kind and status;
    the age of the oldest queued one of each kind (0: none queued); the age of each worker's
    latest heartbeat on the work it holds."""

    depth: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_queued_seconds: dict[str, float] = field(default_factory=dict)
    heartbeat_age_seconds: dict[str, float] = field(default_factory=dict)

    def families(self) -> list[Metric]:
        return [
            _gauge(
                "dockyard_queue_depth",
                "Builds and runs not concluded, by kind and status",
                ["kind", "status"],
                {labels: float(count) for labels, count in self.depth.items()},
            ),
            _gauge(
                "dockyard_queue_oldest_age_seconds",
                "Seconds the oldest queued build or run has waited, by kind (0: none queued)",
                ["kind"],
                {(kind,): age for kind, age in self.oldest_queued_seconds.items()},
            ),
            _gauge(
                "dockyard_worker_heartbeat_age_seconds",
                "Seconds since each worker holding builds or runs last renewed its lease on them",
                ["worker"],
                {(worker,): age for worker, age in self.heartbeat_age_seconds.items()},
            ),
        ]


def _gauge(
    name: str, documentation: str, labels: list[str], values: dict[tuple[str, ...], float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


class _Scrape(Collector):
    """This process's registry and, where they can be read, the database's gauges."""

    def __init__(self, gauges: Callable[[], QueueGauges | None]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()
        read = self.gauges()
        if read is not None:
            yield from read.families()


def render(gauges: QueueGauges | None) -> bytes:
    """The exposition of this process's metrics and `gauges`."""
    return generate_latest(_Scrape(lambda: gauges))


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


class Listener:
    """An HTTP server on `address` (host:port), in a thread of its own, answering any GET with
    the metrics; no token asked, so it belongs on a private network. `gauges` is called in
    that thread at each scrape (None: none this time)."""

    def __init__(self, address: str, gauges: Callable[[], QueueGauges | None]) -> None:
        self.address = address
        self.gauges = gauges
        self.server: WSGIServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Listener:
        host, port = split_address(self.address)
        self.server, self.thread = start_http_server(port, host, _Scrape(self.gauges))
        log.info("metrics listener started", address=self.address)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server = self.thread = None
