"""The seed flow through the official Northflank CLI (npm `@northflank/cli`, pinned in
tests/conformance/js/package.json), its binary run by node with only `northflank login`'s
`--host` pointing it at dockyard: login (`GET /v1/login`), a project, a build service
(create, patch, build a branch), a manual job (create, re-point its build source, build a sha,
run), and the logs of the builds and the run (ranges, and a tail over a WebSocket), each
command non-interactive (`--input` or `--file` JSON, ids as flags, `-o json`).

The CLI gets a HOME of its own whose config records an update check made just now, so it asks
registry.npmjs.org nothing; node preloads js/loopback-only.cjs, which refuses (and records)
any connection off 127.0.0.1, and the test asserts there was none.

Quirks of the CLI itself, outside dockyard:
- `login` exits 0 even when the token is refused (it prints "Failed to login ..."); the test
  reads what it printed and the context file it wrote.
- `get job build-logs` asks which run to read unless given `--runId` (its prompt offers
  "all-job-runs"); non-interactively it needs a run id, which dockyard's build logs ignore, so
  the job's build logs are read after its run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builds.conftest import LiveDockyard
from tests.helpers import VCS_JOB, minimal_job

pytestmark = pytest.mark.e2e

JS_DIR = Path(__file__).parent / "js"
CLI_JS = JS_DIR / "node_modules" / "@northflank" / "cli" / "dist" / "cli.js"
COMMAND_TIMEOUT = 60  # seconds for one CLI command
CONCLUDE_TIMEOUT = 180  # seconds for a build or run to conclude


@dataclass
class Cli:
    """The CLI binary with its own HOME: `run` a command, `json` what one prints with
    `-o json`; `each` and `jsons` do several at once (node takes 0.4 s to start the CLI)."""

    node: str
    home: Path
    net_log: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "FORCE_COLOR": "0",
            "NODE_OPTIONS": f"--require {JS_DIR / 'loopback-only.cjs'}",
            "LOOPBACK_ONLY_LOG": str(self.net_log),
        }
        return subprocess.run(
            [self.node, str(CLI_JS), *args],
            cwd=self.home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )

    def each(self, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(len(commands)) as pool:
            return list(pool.map(lambda args: self.run(*args), commands))

    def json(self, *args: str) -> Any:
        return printed_json(self.run(*args, "-o", "json"))

    def jsons(self, *commands: list[str]) -> list[Any]:
        return [printed_json(done) for done in self.each(*[[*c, "-o", "json"] for c in commands])]

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = json.loads((self.home / ".northflank" / "config.json").read_text())
        return config


def printed_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0 and not done.stderr, (done.args[2:], done.stdout, done.stderr)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The CLI with a fresh HOME, checked before the live dockyard starts."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the official CLI needs it")
    if not CLI_JS.is_file():
        pytest.fail(f"{CLI_JS} is missing: run `scripts/install.sh test`")
    home = tmp_path_factory.mktemp("northflank-home")
    (home / ".northflank").mkdir()
    # An update check "made now" (the CLI reads a number of milliseconds): none is made today.
    checked = {"contexts": [], "lastUpdateCheck": int(time.time() * 1000)}
    (home / ".northflank" / "config.json").write_text(json.dumps(checked))
    found = Cli(node, home, home / "off-loopback.log")
    yield found
    assert not found.net_log.exists(), f"the CLI tried to reach {found.net_log.read_text()}"


def wait_for(
    http: httpx.Client, path: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll GET `path` (dockyard's own API, not the CLI: node starts in about 0.4 s)."""
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while True:
        data: dict[str, Any] = http.get(path).raise_for_status().json()["data"]
        if done(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def concluded(item: dict[str, Any]) -> bool:
    return bool(item["concluded"])


def log_texts(lines: list[dict[str, Any]]) -> list[str]:
    assert all(set(line) == {"containerId", "log", "ts"} for line in lines), lines
    return [line["log"] for line in lines]


@pytest.mark.timeout(2 * CONCLUDE_TIMEOUT + 120)
def test_northflank_cli_seed_flow(cli: Cli, live: LiveDockyard, token: str) -> None:
    url = live.process.url

    # ---- login: a refused token adds no context; dockyard's token logs in --------------------
    login = ["login", "--token-login", "--host", url, "--name"]
    refused = cli.run(*login, "wrong", "--token", "dky_unknown")
    assert "Failed to login with the provided token" in refused.stderr, refused
    assert cli.config()["contexts"] == []
    accepted = cli.run(*login, "dockyard", "--token", token)
    assert accepted.returncode == 0, accepted
    assert "Successfully logged in using token login" in accepted.stdout, accepted
    assert cli.config()["current"] == "dockyard"
    assert cli.config()["contexts"] == [{"name": "dockyard", "token": token, "host": url}]

    # ---- project ----------------------------------------------------------------------------
    project = cli.json("create", "project", "--input", json.dumps({"name": "CLI flow"}))
    assert project["id"] == "cli-flow" and project["name"] == "CLI flow"
    p = ["--projectId", project["id"]]

    # ---- build service: create (from a file), patch, build a branch ---------------------------
    vcs = {"projectUrl": live.sample.repo.url, "projectType": "github"}
    dockerfile = VCS_JOB["buildSettings"]
    spec = {
        "name": "cli service",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": vcs,
        "buildSettings": dockerfile,
    }
    (cli.home / "service.json").write_text(json.dumps(spec))
    service = cli.json("create", "service", "build", *p, "--file", str(cli.home / "service.json"))
    assert service["id"] == "cli-service" and service["serviceType"] == "build"
    s = [*p, "--serviceId", service["id"]]
    patch = {"description": "patched by the cli", "disabledCI": True}
    patched = cli.json("patch", "service", "build", *s, "--input", json.dumps(patch))
    assert patched["description"] == "patched by the cli" and patched["disabledCI"] is True
    service_build = cli.json("start", "service", "build", *s, "--input", '{"branch": "feature"}')
    assert service_build["status"] == "QUEUED" and service_build["branch"] == "feature"

    # ---- manual job: create on the feature branch, re-point it to main, build a sha ----------
    job_spec = minimal_job(
        "cli job",
        deployment={
            "vcs": vcs | {"projectBranch": "feature"},
            "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
        },
        buildSettings=dockerfile,
    )
    job = cli.json("create", "job", "manual", *p, "--input", json.dumps(job_spec))
    assert job["id"] == "cli-job" and job["jobType"] == "manual"
    j = [*p, "--jobId", job["id"]]
    source = vcs | {"projectBranch": "main"}
    assert cli.json("update", "job", "build-source", *j, "--input", json.dumps(source)) == {}
    sha = json.dumps({"sha": live.sample.first})
    job_build = cli.json("start", "job", "build", *j, "--input", sha)
    assert job_build["status"] == "QUEUED" and job_build["sha"] == live.sample.first

    # ---- both builds conclude; the CLI reads them and the service build's logs -------------
    jobs_path = f"/v1/projects/{project['id']}/jobs/{job['id']}"
    services_path = f"/v1/projects/{project['id']}/services/{service['id']}"
    wait_for(live.http, f"{jobs_path}/build/{job_build['id']}", concluded)
    wait_for(live.http, f"{services_path}/build/{service_build['id']}", concluded)
    built, service_built, service_build_lines = cli.jsons(
        ["get", "job", "build", *j, "--buildId", job_build["id"]],
        ["get", "service", "build", *s, "--buildId", service_build["id"]],
        ["get", "service", "build-logs", *s, "--buildId", service_build["id"]],
    )
    assert built["status"] == "SUCCESS", built
    assert built["branch"] == "main" and built["registry"]["uri"].startswith(live.registry)
    assert service_built["status"] == "SUCCESS", service_built
    assert service_built["sha"] == live.sample.feature
    assert log_texts(service_build_lines), "no service build log lines"

    # ---- run the job; the CLI reads the run, its logs (JSON, its own format, a tail), the
    # job build's logs, and a job that is not there
    started = cli.json("start", "job", "run", *j, "--input", "{}")
    assert started["runName"].startswith("cli-job-")
    wait_for(live.http, f"{jobs_path}/runs/{started['id']}", concluded)
    r = ["--runId", started["id"]]
    run_json, logs_json, build_logs_json, formatted, tailed, missing = cli.each(
        ["get", "job", "run", *j, *r, "-o", "json"],
        ["get", "job", "logs", *j, *r, "-o", "json"],
        ["get", "job", "build-logs", *j, "--buildId", job_build["id"], *r, "-o", "json"],
        ["get", "job", "logs", *j, *r],  # the CLI's own format
        ["get", "job", "logs", *j, *r, "--tail"],  # a WebSocket, closed: the run has ended
        ["get", "job", *p, "--jobId", "no-such-job", "-o", "json"],
    )
    run = printed_json(run_json)
    assert run["status"] == "SUCCESS" and run["succeeded"] == 1, run
    assert "hello v1" in log_texts(printed_json(logs_json))
    assert any("Dockerfile" in line for line in log_texts(printed_json(build_logs_json)))
    assert formatted.returncode == 0 and " -- hello v1\n" in formatted.stdout, formatted
    assert tailed.returncode == 0 and " -- hello v1\n" in tailed.stdout, tailed
    assert tailed.stdout.endswith("Log session ended\n") and not tailed.stderr, tailed
    # an API error reaches the CLI's user: its message, status and exit code
    assert missing.returncode == 1, missing
    assert "API request failed" in missing.stderr, missing
    assert "HTTP status code: 404" in missing.stderr, missing
