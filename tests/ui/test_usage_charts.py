"""Resource charts of the dashboard on a real database (samples stored through the usage
repository, as the worker's sampler stores them): a run page's and a build page's CPU and
memory lines, updated over their sockets when a sample comes; a job page's memory peaks
against the plan's limit with the OOMKilled run marked; nothing of it for a token without
View Observability."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.usage import repository
from dockyard.usage.models import UsageSample
from tests.conftest import token_with
from tests.helpers import IMAGE_JOB, minimal_job
from tests.ui.conftest import log_in

SVG = "{http://www.w3.org/2000/svg}"
MIB = 1024 * 1024
LIMIT = 512 * MIB  # nf-compute-20's
ORIGIN = {"Origin": "http://testserver"}
START = utcnow()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The socket looks for new samples every 0.2 s."""
    return settings.model_copy(update={"usage_sample_seconds": 0.2})


def store(
    settings: Settings, run_id: str, *samples: tuple[int, float, int, bool], kind: str = "run"
) -> None:
    """Samples (second, cores, memory MiB, OOMKilled) of the run's first container (`kind`
    "build": of the build `run_id`)."""

    async def write(session: Any) -> None:
        for second, cores, mib, oom in samples:
            repository.add(
                session,
                UsageSample(
                    owner_kind=kind,
                    owner_id=run_id,
                    container=f"dockyard-{kind}-{run_id}-1",
                    ts=START + timedelta(seconds=second),
                    cpu_cores=cores,
                    memory_bytes=mib * MIB,
                    memory_peak_bytes=mib * MIB,
                    memory_limit_bytes=LIMIT if kind == "run" else None,
                    network_rx_bytes=0,
                    network_tx_bytes=0,
                    disk_read_bytes=0,
                    disk_write_bytes=0,
                    oom_killed=oom,
                ),
            )
        await session.commit()

    asyncio.run(run_in_session(settings.resolved_database_url, write))


def job_with_runs(client: TestClient, project: str, count: int) -> tuple[str, list[str]]:
    """A job of an engine image and `count` runs of it (no worker: they stay queued)."""
    created = client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job(**IMAGE_JOB))
    assert created.status_code == 200, created.text
    job_id: str = created.json()["data"]["id"]
    started = [
        client.post(f"/v1/projects/{project}/jobs/{job_id}/runs", json={}) for _ in range(count)
    ]
    return job_id, [run.json()["data"]["id"] for run in started]


def svg_in(html: str, marker: str) -> ET.Element:
    found = re.search(rf"{re.escape(marker)}[^>]*>\s*(<svg.*?</svg>)", html, re.S)
    assert found, f"no chart after {marker}"
    return ET.fromstring(found[1])


def polylines(svg: ET.Element) -> list[list[str]]:
    return [line.get("points", "").split() for line in svg.iter(f"{SVG}polyline")]


def test_run_and_job_pages_chart_usage_and_the_socket_sends_new_samples(
    client: TestClient, admin_token: str, settings: Settings, project: str, job: str, build: str
) -> None:
    job_id, [measured, killed, unmeasured] = job_with_runs(client, project, 3)
    assert job_id != job
    store(settings, measured, (0, 0.5, 10, False), (5, 1.0, 40, False))
    store(settings, killed, (0, 0.2, 300, False), (3, 0.0, 512, True))
    log_in(client, admin_token)

    run_page = f"/ui/projects/{project}/jobs/{job_id}/runs/{measured}"
    shown = client.get(run_page).text
    cpu = svg_in(shown, 'data-usage-chart="cpu"')
    memory = svg_in(shown, 'data-usage-chart="memory"')
    assert [len(points) for points in polylines(cpu)] == [2]
    assert [len(points) for points in polylines(memory)] == [2]
    assert "peak CPU 1.00 cores" in (cpu.get("aria-label") or "")
    assert "Peak CPU 1.00 cores; peak memory 40.0 MiB of its 512 MiB limit." in shown
    assert "OOMKilled" in client.get(f"/ui/projects/{project}/jobs/{job_id}/runs/{killed}").text

    peaks = svg_in(client.get(f"/ui/projects/{project}/jobs/{job_id}").text, "data-memory-peaks")
    bars = list(peaks.iter(f"{SVG}rect"))
    # Oldest first; the run without samples has no bar; the limit is the chart's top.
    assert [bar.get("class") for bar in bars] == ["bar bar-memory", "bar bar-oom"]
    titles = [bar.findtext(f"{SVG}title") or "" for bar in bars]
    assert titles[0].endswith(": peak 40.0 MiB") and titles[1].endswith(": peak 512 MiB, OOMKilled")
    assert float(bars[1].get("height", 0)) == 80
    [limit] = peaks.iter(f"{SVG}line")
    assert limit.get("y1") == "0.0" and limit.findtext(f"{SVG}title") == "Plan limit 512 MiB"
    assert "limit 512 MiB; 1 OOMKilled" in (peaks.get("aria-label") or "")
    assert unmeasured  # listed in the table, not charted

    build_page = f"/ui/projects/{project}/jobs/{job}/builds/{build}"
    assert "No resource samples yet." in client.get(build_page).text
    store(settings, build, (0, 0.3, 20, False), (2, 0.9, 70, False), kind="build")
    shown = client.get(build_page).text
    assert [len(points) for points in polylines(svg_in(shown, 'data-usage-chart="cpu"'))] == [2]
    assert "Peak CPU 0.90 cores; peak memory 70.0 MiB." in shown
    with client.websocket_connect(f"{build_page}/logs/ws", headers=ORIGIN) as socket:
        first = socket.receive_json()
        assert first["type"] == "usage" and "peak memory 70.0 MiB" in first["data"]["summary"]

    with client.websocket_connect(f"{run_page}/logs/ws", headers=ORIGIN) as socket:
        first = socket.receive_json()
        assert first["type"] == "usage"
        assert len(polylines(ET.fromstring(first["data"]["cpu"]))[0]) == 2
        store(settings, measured, (10, 2.0, 64, False))
        update = socket.receive_json()
        assert update["type"] == "usage"
        assert len(polylines(ET.fromstring(update["data"]["memory"]))[0]) == 3
        assert update["data"]["summary"].startswith("Peak CPU 2.00 cores; peak memory 64.0 MiB")


def test_a_token_without_view_observability_sees_no_chart(
    client: TestClient, settings: Settings, project: str
) -> None:
    job_id, [run_id] = job_with_runs(client, project, 1)
    store(settings, run_id, (0, 0.7, 77, True))
    log_in(client, token_with(settings, Permission.PROJECTS_READ, Permission.JOBS_READ))
    run_page = client.get(f"/ui/projects/{project}/jobs/{job_id}/runs/{run_id}").text
    job_page = client.get(f"/ui/projects/{project}/jobs/{job_id}").text
    for page in (run_page, job_page):
        assert "data-usage" not in page and "data-memory-peaks" not in page
        assert "MiB" not in page and "OOMKilled" not in page and "<polyline" not in page
    with client.websocket_connect(
        f"/ui/projects/{project}/jobs/{job_id}/runs/{run_id}/logs/ws", headers=ORIGIN
    ) as socket:
        refused = socket.receive_json()
    assert refused["type"] == "error" and refused["data"]["status"] == 403
