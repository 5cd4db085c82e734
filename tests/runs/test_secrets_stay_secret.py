"""Secret values a build and a run print never reach the database file, the REST logs or the
WebSocket frames: each shows `*****`."""

from __future__ import annotations

from northflank import ApiClient, ApiClientContext

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job

ENV_SECRET = "s3cr3t-env-v4lue"
ARG_SECRET = "s3cr3t-arg-v4lue"
PRINTS_ARG = 'FROM local/busybox:1\nARG SECRET_ARG\nRUN echo "arg is $SECRET_ARG"\n'


def test_printed_secrets_are_redacted_everywhere(live: LiveDockyard) -> None:
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(context=ApiClientContext(api_token=token, base_url=live.process.url))
    job = busybox_job(
        live,
        "leaky run",
        'echo "env is $SECRET_ENV"',
        runtimeEnvironment={"SECRET_ENV": ENV_SECRET},
    )
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    sha = live.sample.repo.commit({"Dockerfile": PRINTS_ARG}, "prints a secret", branch="leaky")
    service = {
        "name": "leaky build",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {
            "dockerfile": {
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
                "buildkit": {"useCache": False},
            }
        },
        "buildArguments": {"SECRET_ARG": ARG_SECRET},
    }
    service_id = live.post("/services/build", service)["id"]
    build_id = live.post(f"/services/{service_id}/build", {"branch": "leaky", "sha": sha})["id"]
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    assert live.wait_for(f"/services/{service_id}/build/{build_id}")["status"] == "SUCCESS"

    rest = str(live.http.get(f"/v1/projects/{live.project}/jobs/{job}/logs").json()) + str(
        live.http.get(f"/v1/projects/{live.project}/services/{service_id}/build-logs").json()
    )
    with sdk.logs.tail_logs(
        project_id=live.project,
        resource_id=job,
        resource_type="job",
        run_id=run_id,
        recv_timeout=30,
    ) as tail:
        frames = [line.log for line in tail]

    assert "env is *****" in rest and "arg is *****" in rest
    assert "env is *****" in frames
    data_dir = live.process.data_dir
    stored = b"".join(path.read_bytes() for path in data_dir.glob("dockyard.db*"))
    for secret in (ENV_SECRET, ARG_SECRET):
        assert secret not in rest and secret not in str(frames)
        assert secret.encode() not in stored, f"{secret} is in the database file"
