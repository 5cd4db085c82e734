"""The run suite's core cases again with DOCKYARD_CONTAINER_RUNTIME=runsc: each attempt's
container under gVisor (scripts/docker-up.sh registers it), health checks by exec and over
the network, an image of dockyard's registry, recovery after a killed server included.
tests/security/test_sandbox.py shows the runtime is the one asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.builds.conftest import LiveDockyard
from tests.runs import test_run_recovery, test_runs
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

test_success_with_env_and_files = test_runs.test_success_with_env_and_files
test_failures_are_retried_up_to_the_backoff_limit = (
    test_runs.test_failures_are_retried_up_to_the_backoff_limit
)
test_active_deadline_stops_the_run = test_runs.test_active_deadline_stops_the_run
test_abort_sends_sigterm_first = test_runs.test_abort_sends_sigterm_first
test_internal_deployment_runs_a_build_service_image = (
    test_runs.test_internal_deployment_runs_a_build_service_image
)
test_failing_liveness_probe_restarts_the_attempt = (
    test_runs.test_failing_liveness_probe_restarts_the_attempt
)
test_startup_probe_gates_liveness = test_runs.test_startup_probe_gates_liveness
test_http_and_tcp_probes_reach_the_container = (
    test_runs.test_http_and_tcp_probes_reach_the_container
)
test_killed_mid_run_is_finished_on_the_same_container = (
    test_run_recovery.test_killed_mid_run_is_finished_on_the_same_container
)
test_stopped_server_hands_runs_over = test_run_recovery.test_stopped_server_hands_runs_over


@pytest.fixture(scope="module", autouse=True)
def runsc_runtime() -> Iterator[None]:
    """DOCKYARD_CONTAINER_RUNTIME=runsc for every server started in this module (they inherit
    the environment: the recovery cases start their own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKYARD_CONTAINER_RUNTIME", "runsc")
        yield


@pytest.fixture(scope="module")
def live(runsc_runtime: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("runsc-runs")) as live:
        yield live


def test_attempts_run_under_runsc(live: LiveDockyard) -> None:
    job = busybox_job(live, "sandboxed", "dmesg | head -n 1")
    run_id = test_runs.start(live, job)
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    lines = live.lines_of("run", run_id)
    assert "Attempt 1 started (runtime runsc)" in lines
    assert any("Starting gVisor" in line for line in lines), lines
