"""Job runs end to end on real containers."""

from __future__ import annotations

import base64
import time

from tests.builds.conftest import LiveDockyard
from tests.live import free_port
from tests.runs.conftest import busybox_job


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def start(live: LiveDockyard, job: str, body: dict | None = None) -> str:  # type: ignore[type-arg]
    started = live.post(f"/jobs/{job}/runs", body or {})
    assert set(started) == {"id", "runName"}
    run_id: str = started["id"]
    return run_id


def test_success_with_env_and_files(live: LiveDockyard) -> None:
    job = busybox_job(
        live,
        "hello",
        'echo hello $GREETING; [ "$GREETING" = world ] && echo env-ok; '
        "grep -q level=debug /etc/app/config.txt && echo file-ok; cat /etc/app/config.txt",
        runtimeEnvironment={"GREETING": "world"},
        runtimeFiles={"/etc/app/config.txt": {"data": b64("level=debug\n")}},
    )
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")

    assert run["status"] == "SUCCESS", run
    assert (run["succeeded"], run["failed"], run["active"]) == (1, 0, 0)
    lines = live.lines_of("run", run_id)
    assert "env-ok" in lines and "file-ok" in lines
    assert "level=debug" not in lines, "runtime files are secrets: each line redacted"
    assert "hello *****" in lines, "runtime environment values are secrets: redacted"


def test_failures_are_retried_up_to_the_backoff_limit(live: LiveDockyard) -> None:
    job = busybox_job(live, "always fails", "echo failing; exit 1", backoffLimit=2)
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")

    assert run["status"] == "FAILED", run
    assert (run["succeeded"], run["failed"]) == (0, 3)
    assert "BackoffLimitExceeded" in run["message"] and "exit code 1" in run["message"]
    assert live.lines_of("run", run_id).count("failing") == 3


def test_active_deadline_stops_the_run(live: LiveDockyard) -> None:
    job = busybox_job(
        live,
        "too slow",
        "echo started; trap 'exit 143' TERM; sleep 60 & wait",
        activeDeadlineSeconds=2,
        backoffLimit=3,
    )
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=40)

    assert run["status"] == "FAILED", run
    assert "DeadlineExceeded" in run["message"], run
    assert run["active"] == 0


TRAPS_TERM = "trap 'echo got TERM; exit 0' TERM; echo waiting; while true; do sleep 0.2; done"


def test_abort_sends_sigterm_first(live: LiveDockyard) -> None:
    job = busybox_job(live, "aborted", TRAPS_TERM)
    run_id = start(live, job)
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(
        path, lambda run: run["active"] == 1 and "waiting" in live.lines_of("run", run_id), 30
    )

    aborted = live.delete(path)
    assert aborted.status_code == 200, aborted.text

    run = live.wait_for(path, timeout=30)
    assert run["status"] == "FAILED" and run["message"] == "Aborted by request", run
    assert "got TERM" in live.lines_of("run", run_id)
    assert live.delete(path).status_code == 409


def test_config_types_decide_entrypoint_and_command(live: LiveDockyard) -> None:
    cases = {
        "customCommand": ({"customCommand": "echo from-command"}, "from-command"),
        "customEntrypoint": ({"customEntrypoint": "echo from-entrypoint"}, "from-entrypoint"),
        "customEntrypointCustomCommand": (
            {"customEntrypoint": "echo", "customCommand": "both 'quoted words'"},
            "both quoted words",
        ),
    }
    for config_type, (fields, expected) in cases.items():
        job = busybox_job(
            live,
            f"config {config_type}",
            "unused",
            deployment={
                "external": {"imagePath": "local/busybox:1"},
                "docker": {"configType": config_type, **fields},
            },
        )
        run_id = start(live, job)
        run = live.wait_for(f"/jobs/{job}/runs/{run_id}")
        assert run["status"] == "SUCCESS", (config_type, run)
        assert expected in live.lines_of("run", run_id), config_type


def test_run_overrides_environment_for_one_run(live: LiveDockyard) -> None:
    job = busybox_job(live, "overridden env", 'echo "mode=$MODE"', runtimeEnvironment={"MODE": "a"})
    first = start(live, job, {"runtimeEnvironment": {"MODE": "b"}})
    second = start(live, job)

    for run_id, mode in ((first, "b"), (second, "a")):
        assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
        assert f"mode={mode}" in live.lines_of("run", run_id)


def test_vcs_job_runs_its_latest_build(live: LiveDockyard) -> None:
    body = {
        "name": "built job",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": "main",
            },
            "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    job = live.post("/jobs/manual", body)["id"]
    early = live.http.post(f"/v1/projects/{live.project}/jobs/{job}/runs", json={})
    assert early.status_code == 409, early.text
    assert "no successful build" in early.json()["error"]["message"]

    build = live.post(f"/jobs/{job}/build", {})
    assert live.wait_for(f"/jobs/{job}/build/{build['id']}")["status"] == "SUCCESS"
    run_id = start(live, job)

    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    assert "hello v2" in live.lines_of("run", run_id)


def test_internal_deployment_runs_a_build_service_image(live: LiveDockyard) -> None:
    service = {
        "name": "image source",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    service_id = live.post("/services/build", service)["id"]
    build = live.post(f"/services/{service_id}/build", {"branch": "main", "sha": live.sample.first})
    assert live.wait_for(f"/services/{service_id}/build/{build['id']}")["status"] == "SUCCESS"
    job = busybox_job(
        live,
        "internal image",
        "unused",
        deployment={
            "internal": {"id": service_id, "branch": "main", "buildSHA": "latest"},
            "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
        },
    )

    run_id = start(live, job)

    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    assert "hello v1" in live.lines_of("run", run_id)


def test_failing_liveness_probe_restarts_the_attempt(live: LiveDockyard) -> None:
    probe = {
        "protocol": "CMD",
        "type": "livenessProbe",
        "cmd": "test -f /tmp/never",
        "initialDelaySeconds": 1,
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 2,
    }
    script = "trap 'exit 143' TERM; echo up; while true; do sleep 0.2; done"
    job = busybox_job(live, "unhealthy", script, backoffLimit=1, healthChecks=[probe])
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)

    assert run["status"] == "FAILED" and run["failed"] == 2, run
    assert "Liveness probe failed" in run["message"], run
    assert live.lines_of("run", run_id).count("up") == 2


def test_startup_probe_gates_liveness(live: LiveDockyard) -> None:
    """Liveness would fail until /tmp/ready exists; the startup probe holds it back until the
    container creates the file, and the run then succeeds."""
    check = "test -f /tmp/ready"
    timing = {"periodSeconds": 10, "timeoutSeconds": 2}
    probes = [
        {
            "protocol": "CMD",
            "type": "startupProbe",
            "cmd": check,
            "initialDelaySeconds": 1,
            "failureThreshold": 10,
            **timing,
        },
        {
            "protocol": "CMD",
            "type": "livenessProbe",
            "cmd": check,
            "initialDelaySeconds": 1,
            "failureThreshold": 2,
            **timing,
        },
    ]
    job = busybox_job(
        live, "slow starter", "sleep 3; touch /tmp/ready; sleep 4; echo done", healthChecks=probes
    )
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)

    assert run["status"] == "SUCCESS", run
    lines = live.lines_of("run", run_id)
    assert any(line.startswith("Startup probe succeeded") for line in lines), lines


def test_run_on_source_change_always_runs_each_new_build(live: LiveDockyard) -> None:
    body = {
        "name": "continuous",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "runOnSourceChange": "always",
        "deployment": {
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": "main",
            },
            "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    job = live.post("/jobs/manual", body)["id"]
    build = live.post(f"/jobs/{job}/build", {"sha": live.sample.first})
    assert live.wait_for(f"/jobs/{job}/build/{build['id']}")["status"] == "SUCCESS"

    deadline = time.monotonic() + 30
    while not (runs := live.get(f"/jobs/{job}/runs")["runs"]):
        assert time.monotonic() < deadline, "no run after the build succeeded"
        time.sleep(0.2)
    run = live.wait_for(f"/jobs/{job}/runs/{runs[0]['id']}")
    assert run["status"] == "SUCCESS"
    assert "hello v1" in live.lines_of("run", run["id"])


def test_architecture_must_match_the_engine(live: LiveDockyard) -> None:
    job = busybox_job(live, "arm only", "echo never", infrastructure={"architecture": "arm"})
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")

    assert run["status"] == "FAILED" and run["failed"] == 0, run
    assert "'arm'" in run["message"] and "'x86'" in run["message"], run


def test_http_and_tcp_probes_reach_the_container(live: LiveDockyard) -> None:
    """busybox httpd on a free port: the HTTP readiness probe reports Ready, the TCP liveness
    probe passes, and the run ends on its own with success. httpd listens on every address:
    the probes come from the worker, at the container's address (as the kubelet's do)."""
    port = free_port()
    timing = {"initialDelaySeconds": 1, "periodSeconds": 10, "timeoutSeconds": 2}
    probes = [
        {
            "protocol": "HTTP",
            "type": "readinessProbe",
            "path": "/health",
            "port": port,
            "failureThreshold": 3,
            "successThreshold": 1,
            **timing,
        },
        {"protocol": "TCP", "type": "livenessProbe", "port": port, "failureThreshold": 2, **timing},
    ]
    serve = f"httpd -p {port} -h /www"
    script = f"mkdir -p /www && echo ok > /www/health && {serve} && sleep 4"
    job = busybox_job(live, "web", script, healthChecks=probes)
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)

    assert run["status"] == "SUCCESS", run
    assert f"Ready: HTTP GET :{port}/health" in live.lines_of("run", run_id)
