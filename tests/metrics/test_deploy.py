"""deploy/prometheus/: the scrape config and the alert rules parse, and the rules (and the
README's table of metrics) name only metrics dockyard exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dockyard.metrics.exposition import QueueGauges
from dockyard.metrics.instruments import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
METRIC = re.compile(r"\bdockyard_[a-z_]+\b")


def exported() -> set[str]:
    """Every series name dockyard exposes (counters with `_total`, histograms with their
    `_bucket`, `_count` and `_sum`)."""
    families = [*REGISTRY.collect(), *QueueGauges().families()]
    names = {family.name for family in families}
    for family in families:
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names |= {f"{family.name}{end}" for end in ("_bucket", "_count", "_sum")}
    return names


def load(name: str) -> Any:
    return yaml.safe_load((PROMETHEUS / name).read_text())


def test_the_scrape_config_parses() -> None:
    config = load("prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["dockyard-api"]["metrics_path"] == "/metrics"
    assert jobs["dockyard-api"]["authorization"]["type"] == "Bearer"
    assert "authorization" not in jobs["dockyard-worker"]  # the listener asks no token


def test_the_alert_rules_name_exported_metrics() -> None:
    rules = [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]
    alerts = {rule["alert"]: rule for rule in rules}
    assert {"DockyardQueueStuck", "DockyardWorkerGone"} <= set(alerts)
    assert "dockyard_queue_oldest_age_seconds" in alerts["DockyardQueueStuck"]["expr"]
    assert "dockyard_worker_heartbeat_age_seconds" in alerts["DockyardWorkerGone"]["expr"]
    named = {name for rule in rules for name in METRIC.findall(rule["expr"])}
    assert named and named <= exported()


def test_the_readme_table_names_every_metric() -> None:
    section = (ROOT / "README.md").read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(dockyard_[a-z_]+)`", section, re.MULTILINE))
    names = exported()
    assert listed <= names
    families = {name for name in names if not name.endswith(("_bucket", "_count", "_sum"))}
    counters = {name.removesuffix("_total") for name in families if name.endswith("_total")}
    assert families - counters - listed == set()
