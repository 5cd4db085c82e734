"""The `dockyard` CLI against a live server (real Docker, registry and git), driven through
Typer's runner: contexts, every resource command, builds and runs followed to their end, logs,
errors as the server's message and field path, and `--json` output scripts can parse."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from dockyard.client import ApiError, DockyardClient
from tests.builds.conftest import LiveDockyard
from tests.builds.test_job_builds import vcs_job
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

runner = CliRunner()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("cli")) as live:
        yield live


@pytest.fixture(autouse=True)
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config" / "cli.json"
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(config))
    for name in ("DOCKYARD_URL", "DOCKYARD_TOKEN", "DOCKYARD_CONTEXT", "DOCKYARD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def logged_in(live: LiveDockyard, token: str) -> LiveDockyard:
    dockyard("login", "--url", live.process.url, "--token", token, "--project", live.project)
    return live


@pytest.fixture
def token(live: LiveDockyard) -> str:
    return live.http.headers["Authorization"].removeprefix("Bearer ")


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def dockyard(*args: str) -> str:
    """The output of a command that must succeed."""
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def as_json(*args: str) -> Any:
    return json.loads(dockyard(*args, "--json"))


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line]


def failed_with(result: Result, *fragments: str) -> str:
    """The command failed with a one-line error (no traceback) naming every fragment."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.output.startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result.output


# ---- contexts --------------------------------------------------------------------------------


def test_login_keeps_contexts_in_a_file_only_its_owner_reads(
    live: LiveDockyard, token: str, cli_config: Path
) -> None:
    dockyard("login", "--url", live.process.url, "--token", token, "--project", live.project)
    dockyard("login", "--url", live.process.url, "--token", token, "--context", "second")

    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    saved = json.loads(cli_config.read_text())
    assert saved["current"] == "second" and set(saved["contexts"]) == {"default", "second"}
    assert saved["contexts"]["default"]["project"] == live.project
    listed = dockyard("context", "list")
    assert "* second" in " ".join(listed.split()) and "default" in listed

    dockyard("context", "use", "default")
    assert [p["id"] for p in as_json("projects", "list")] == [live.project]
    assert as_json("--context", "second", "projects", "get", live.project)["id"] == live.project
    dockyard("logout", "--context", "second")
    assert set(json.loads(cli_config.read_text())["contexts"]) == {"default"}


def test_login_with_a_bad_token_saves_nothing(live: LiveDockyard, cli_config: Path) -> None:
    failed_with(run("login", "--url", live.process.url, "--token", "dky_nope"), "HTTP 401")
    assert not cli_config.exists()
    failed_with(run("projects", "list"), "not logged in")
    failed_with(run("login", "--url", "http://127.0.0.1:1", "--token", "x"), "cannot reach")


def test_the_environment_stands_in_for_a_context(
    live: LiveDockyard, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_URL", live.process.url)
    monkeypatch.setenv("DOCKYARD_TOKEN", token)
    monkeypatch.setenv("DOCKYARD_PROJECT", live.project)
    assert isinstance(as_json("jobs", "list"), list)


# ---- the client the CLI is built on ----------------------------------------------------------


def test_client_walks_every_page_and_raises_the_envelope(live: LiveDockyard, token: str) -> None:
    with DockyardClient(live.process.url, token) as api:
        made = {api.create_project(f"paged {n:03d}").id for n in range(120)}
        listed = [project.id for project in api.list_projects()]
        assert made <= set(listed) and len(listed) == len(set(listed)) > 120
        with pytest.raises(ApiError) as missing:
            api.get_job(live.project, "no-such-job")
        assert missing.value.status == 404 and "no-such-job" in missing.value.message
        for project in made:
            api.delete_project(project)


# ---- resources -------------------------------------------------------------------------------


def test_projects_list_get_create_delete(logged_in: LiveDockyard) -> None:
    created = as_json("projects", "create", "CLI Project", "--description", "made by the CLI")
    assert created["id"] == "cli-project" and created["description"] == "made by the CLI"
    assert "cli-project" in dockyard("projects", "list")
    assert as_json("projects", "get", "cli-project")["name"] == "CLI Project"

    failed_with(run("projects", "create", "CLI Project"), "HTTP 409")
    assert "deleted project cli-project" in dockyard("projects", "delete", "cli-project", "--yes")
    failed_with(run("projects", "get", "cli-project"), "HTTP 404")


def test_jobs_from_yaml_and_json_files(logged_in: LiveDockyard, tmp_path: Path) -> None:
    spec = job_spec("from yaml", "echo from-yaml")
    yaml_file = tmp_path / "job.yaml"
    yaml_file.write_text(to_yaml(spec))
    json_file = tmp_path / "job.json"
    json_file.write_text(json.dumps(spec | {"name": "from json"}))

    assert as_json("jobs", "create", "--file", str(yaml_file))["id"] == "from-yaml"
    assert as_json("jobs", "create", "-f", str(json_file))["jobType"] == "manual"
    listed = dockyard("jobs", "list")
    assert "from-yaml" in listed and "from-json" in listed
    assert as_json("jobs", "get", "from-yaml")["deployment"]["external"]["imagePath"]

    dockyard("jobs", "delete", "from-json", "--yes")
    failed_with(run("jobs", "get", "from-json"), "HTTP 404")


def test_jobs_create_with_a_schedule_makes_a_cron_job(
    logged_in: LiveDockyard, tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "hello" / "job.json"
    made = as_json(
        "jobs",
        "create",
        "--file",
        str(example),
        "--schedule",
        "*/5 * * * *",
        "--concurrency-policy",
        "forbid",
    )
    assert made["jobType"] == "cron" and made["concurrencyPolicy"] == "forbid"
    got = as_json("jobs", "get", "hello")
    assert got["settings"]["cron"] == {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid"}
    assert got["suspended"] is False

    from_repo = as_json(
        "jobs",
        "create",
        "--name",
        "nightly",
        "--repo",
        logged_in.sample.repo.url,
        "--schedule",
        "@daily",
    )
    assert from_repo["jobType"] == "cron" and from_repo["schedule"] == "@daily"
    assert as_json("jobs", "get", "nightly")["settings"]["cron"]["concurrencyPolicy"] == "Allow"
    cron_file = tmp_path / "cron.yaml"  # a body with its own schedule is a cron job's
    cron_file.write_text(to_yaml(job_spec("weekly", "true") | {"schedule": "@weekly"}))
    assert as_json("jobs", "create", "--file", str(cron_file))["jobType"] == "cron"

    bad = run("jobs", "create", "--file", str(example), "--schedule", "every day")
    output = failed_with(bad, "HTTP 400", "schedule")
    assert "\n  schedule: " in output
    not_cron = run("jobs", "create", "--file", str(example), "--concurrency-policy", "allow")
    assert not_cron.exit_code == 2 and "--schedule" in not_cron.output
    unknown = ["--schedule", "@daily", "--concurrency-policy", "sometimes"]
    assert run("jobs", "create", "-f", str(example), *unknown).exit_code == 2
    for job in ("hello", "nightly", "weekly"):
        dockyard("jobs", "delete", job, "--yes")


def test_a_bad_request_prints_the_server_message_and_field_path(
    logged_in: LiveDockyard, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(job_spec("bad", "true") | {"backoffLimit": -1}))
    output = failed_with(run("jobs", "create", "--file", str(bad)), "HTTP 400", "backoffLimit")
    assert "\n  backoffLimit: " in output

    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    assert run("jobs", "create", "--file", str(not_json)).exit_code == 2
    assert run("builds", "list", "--job", "a", "--service", "b").exit_code == 2


def test_services_and_their_builds(logged_in: LiveDockyard, tmp_path: Path) -> None:
    spec = tmp_path / "service.yaml"
    spec.write_text(
        to_yaml(
            {
                "name": "cli service",
                "billing": {"buildPlan": "nf-compute-200-8"},
                "vcsData": {"projectUrl": logged_in.sample.repo.url, "projectType": "github"},
                "buildSettings": {
                    "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
                },
            }
        )
    )
    assert as_json("services", "create", "--file", str(spec))["id"] == "cli-service"
    assert "cli-service" in dockyard("services", "list")
    assert as_json("services", "get", "cli-service")["serviceType"] == "build"

    result = run("builds", "start", "--service", "cli-service", "--branch", "feature", "--follow")
    assert result.exit_code == 0, result.output
    assert "Pushed " in result.output and "SUCCESS" in result.output
    builds = as_json("builds", "list", "--service", "cli-service")
    assert builds[0]["sha"] == logged_in.sample.feature and builds[0]["status"] == "SUCCESS"
    dockyard("services", "delete", "cli-service", "--yes")


# ---- builds, runs and logs -------------------------------------------------------------------


def test_build_follow_streams_logs_and_exits_with_the_outcome(
    logged_in: LiveDockyard, tmp_path: Path
) -> None:
    live = logged_in
    job = vcs_job(live, "cli build")
    dockerfile = 'FROM local/busybox:1\nARG GREETING\nRUN echo "arg=$GREETING" > /arg.txt\n'
    good = live.sample.repo.commit(
        {"Dockerfile": dockerfile + 'CMD ["cat", "/arg.txt"]\n'}, "an argument", branch="cli-args"
    )

    result = run("build", "start", "--job", job, "--sha", good, "--arg", "GREETING=hi", "-f")
    assert result.exit_code == 0, result.output
    assert "Pushed " in result.output
    assert result.output.strip().splitlines()[-1].split()[2] == "SUCCESS"

    broken = live.sample.repo.commit(
        {"Dockerfile": "FROM local/busybox:1\nRUN exit 3\n"}, "broken", branch="cli-broken"
    )
    result = run("build", "start", "--job", job, "--sha", broken, "--follow")
    assert result.exit_code == 1, result.output
    assert "FAILURE" in result.output

    run_result = run("run", "start", "--job", job, "--follow")
    assert run_result.exit_code == 0, run_result.output
    assert "arg=hi" in run_result.output


def test_run_follow_json_is_lines_then_the_run(logged_in: LiveDockyard) -> None:
    job = busybox_job(logged_in, "cli run", 'echo "who=$WHO"; exit "$CODE"')
    ok = run("runs", "start", "--job", job, "--env", "WHO=cli", "--env", "CODE=0", "-f", "--json")
    assert ok.exit_code == 0, ok.output
    *lines, final = json_lines(ok.output)
    assert any(line["log"] == "who=*****" for line in lines)  # the run's env is secret
    assert {"log", "ts", "containerId"} <= set(lines[0])
    assert final["status"] == "SUCCESS" and final["concluded"] is True

    failing = run("runs", "start", "--job", job, "--env", "CODE=4", "--follow")
    assert failing.exit_code == 1 and "FAILED" in failing.output, failing.output
    assert run("runs", "start", "--job", job, "--env", "NOEQUALS").exit_code == 2

    runs = as_json("runs", "list", "--job", job)
    assert [r["status"] for r in runs] == ["FAILED", "SUCCESS"]
    stored = dockyard("logs", "--job", job, "--run", runs[1]["id"])
    assert "who=*****" in stored
    assert as_json("runs", "get", runs[0]["id"], "--job", job)["failed"] == 1


def test_logs_of_a_build_stored_and_followed(logged_in: LiveDockyard) -> None:
    job = vcs_job(logged_in, "cli logs")
    started = as_json("builds", "start", "--job", job, "--sha", logged_in.sample.first)
    followed = run("logs", "--job", job, "--build", started["id"], "--follow")
    assert followed.exit_code == 0, followed.output
    assert "Pushed " in followed.output

    stored = json_lines(dockyard("logs", "--job", job, "--build", started["id"], "--json"))
    assert stored[-1]["log"].startswith("Pushed ")
    assert (
        len(json_lines(dockyard("logs", "-j", job, "-b", started["id"], "--lines", "2", "--json")))
        == 2
    )
    assert as_json("builds", "get", started["id"], "--job", job)["status"] == "SUCCESS"


def test_abort_a_build_and_a_run(logged_in: LiveDockyard) -> None:
    job = busybox_job(
        logged_in, "cli abort", "trap 'exit 143' TERM; while true; do sleep 0.2; done"
    )
    started = as_json("runs", "start", "--job", job)
    assert "aborting run" in dockyard("runs", "abort", started["id"], "--job", job)
    aborted = logged_in.wait_for(f"/jobs/{job}/runs/{started['id']}")
    assert aborted["status"] == "FAILED"

    slow = logged_in.sample.repo.commit(
        {"Dockerfile": "FROM local/busybox:1\nRUN sleep 60\n"}, "slow", branch="cli-slow"
    )
    builder = vcs_job(logged_in, "cli abort build")
    queued = as_json("builds", "start", "--job", builder, "--sha", slow)
    assert "aborting build" in dockyard("builds", "abort", queued["id"], "--job", builder)
    assert logged_in.wait_for(f"/jobs/{builder}/build/{queued['id']}")["status"] == "ABORTED"


# ---- shell completion ------------------------------------------------------------------------


def complete(words: str, env: dict[str, str]) -> list[str]:
    """What bash completion offers for `words` (the last one being typed)."""
    done = subprocess.run(
        [sys.executable, "-m", "dockyard"],
        env=os.environ
        | env
        | {
            "_DOCKYARD_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(shlex.split(words)) - (0 if words.endswith(" ") else 1)),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.split()


def test_shell_completion_offers_commands_and_ids(
    logged_in: LiveDockyard, cli_config: Path
) -> None:
    env = {"DOCKYARD_CLI_CONFIG": str(cli_config)}
    assert {"projects", "jobs", "builds", "runs", "logs"} <= set(complete("dockyard ", env))
    assert complete("dockyard bui", env) == ["builds"]
    job = busybox_job(logged_in, "completed job", "true")
    assert job in complete(f"dockyard runs start --job {job[:5]}", env)


# ---- helpers ---------------------------------------------------------------------------------


def job_spec(name: str, command: str) -> dict[str, Any]:
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "external": {"imagePath": "local/busybox:1"},
            "docker": {"configType": "customCommand", "customCommand": command},
        },
    }


def to_yaml(spec: dict[str, Any]) -> str:
    return str(yaml.safe_dump(spec))


# ---- the live display in a real terminal -----------------------------------------------------

TICKER = 'for i in $(seq -w 1 30); do echo "tick $i of 30: the quick brown fox"; sleep 0.1; done'


class Tmux:
    """A tmux server of its own, one 100x40 window running one shell command."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        self.tmux("new-session", "-d", "-x", "100", "-y", "40", f"env {exports} {command}")

    def screen(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-").splitlines()

    def wait_for(self, prefix: str, timeout: float = 120) -> list[str]:
        """The screen once a line starts with `prefix`."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if any(line.startswith(prefix) for line in screen):
                return screen
            assert time.monotonic() < deadline, "\n".join(screen)
            time.sleep(0.3)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is missing: scripts/install.sh test installs it"
    session = Tmux(f"dockyard-test-{os.getpid()}")
    try:
        yield session
    finally:
        subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True)


def test_follow_in_a_terminal_keeps_streamed_lines_whole(
    logged_in: LiveDockyard, cli_config: Path, tmux: Tmux
) -> None:
    job = busybox_job(logged_in, "ticker", TICKER)
    dockyard_bin = Path(sys.executable).with_name("dockyard")
    tmux.start(
        f"sh -c '{dockyard_bin} runs start --job {job} --follow; echo EXIT=$?; sleep 600'",
        {"DOCKYARD_CLI_CONFIG": str(cli_config), "TERM": "xterm-256color"},
    )
    while_running = [line for line in tmux.wait_for("tick 10") if line.strip()]
    assert "RUNNING" in while_running[-1], "\n".join(while_running)  # the status line, below
    screen = tmux.wait_for("EXIT=")

    text = "\n".join(screen)
    ticks = [line for line in screen if "tick" in line]
    assert ticks == [f"tick {i:02d} of 30: the quick brown fox" for i in range(1, 31)], text
    finals = [line for line in screen if line.startswith("run ")]
    assert len(finals) == 1 and "SUCCESS" in finals[0], text
    assert "RUNNING" not in text and "EXIT=0" in text, text
