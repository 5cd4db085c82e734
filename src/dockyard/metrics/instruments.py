"""The metric objects of one process, in a registry of their own (not prometheus_client's
global one). Counters move where things happen, in the process where they happen: with
separate API and worker processes each one exposes its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `_created` series beside each counter and histogram: half the series, nothing alerts on.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds, from a fraction of a second (a cached clone) to an hour (a build's time limit).
PHASE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Seconds of an HTTP request.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

BUILDS_CONCLUDED = Counter(
    "dockyard_builds_concluded",
    "Builds that reached a terminal status, by that status",
    ["status"],
    registry=REGISTRY,
)
RUNS_CONCLUDED = Counter(
    "dockyard_runs_concluded",
    "Job runs that reached a terminal status, by that status",
    ["status"],
    registry=REGISTRY,
)
BUILD_PHASE_SECONDS = Histogram(
    "dockyard_build_phase_seconds",
    "Seconds of a build's phases: queue_wait (queued to claimed), clone, build, push",
    ["phase"],
    buckets=PHASE_BUCKETS,
    registry=REGISTRY,
)
RUN_PHASE_SECONDS = Histogram(
    "dockyard_run_phase_seconds",
    "Seconds of a run's phases: queue_wait (queued to claimed), start (an attempt's image "
    "pull and container start)",
    ["phase"],
    buckets=PHASE_BUCKETS,
    registry=REGISTRY,
)
WORKER_CLAIMS = Counter(
    "dockyard_worker_claims",
    "Queued builds and runs this worker claimed, by kind",
    ["kind"],
    registry=REGISTRY,
)
LOG_LINES_WRITTEN = Counter(
    "dockyard_log_lines_written",
    "Log lines of builds and runs stored, by kind",
    ["kind"],
    registry=REGISTRY,
)
LOG_LINES_DROPPED = Counter(
    "dockyard_log_lines_dropped",
    "Log lines of builds and runs dropped, because the database's disk was full or past a "
    "run's log cap, by kind",
    ["kind"],
    registry=REGISTRY,
)
CONTAINERS_SWEPT = Counter(
    "dockyard_containers_swept",
    "Containers of concluded or deleted job runs that a worker's sweep removed",
    registry=REGISTRY,
)

NOTIFICATION_DELIVERIES = Counter(
    "dockyard_notification_deliveries",
    "Notification delivery attempts, by outcome (success: a 2xx answer; failure)",
    ["outcome"],
    registry=REGISTRY,
)
HTTP_REQUEST_SECONDS = Histogram(
    "dockyard_http_request_duration_seconds",
    "Seconds of the API's HTTP requests, by method, route template and status code",
    ["method", "route", "status"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
