"""`dockyard vcs` and `dockyard registries` against a live `dockyard up` (real Docker,
registry, git): tokens and passwords come from stdin or a file and are never printed or
listed, rotation, 409 on deleting what a job uses; and the README's "Build a private
repository" quickstart, run command by command against git's own HTTP server behind basic
auth (tests/githttp.py)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from tests.builds.conftest import LiveDockyard, live_with_project
from tests.githttp import GitHttpServer
from tests.gitrepos import make_sample_repo

pytestmark = pytest.mark.e2e

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "tok-cli-quickstart-6d0f2a9b"
NEW_TOKEN = "tok-cli-rotated-1c7e5f3a"
PASSWORD = "registry-pw-9a8b7c6d"
NEW_PASSWORD = "registry-pw-rotated-5e4f"


class Private(NamedTuple):
    """A live dockyard and the private git server (https://git.acme.test) it fetches from."""

    live: LiveDockyard
    server: GitHttpServer


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    root = tmp_path_factory.mktemp("integrations-cli")
    sample = make_sample_repo(root / "git")
    with GitHttpServer(sample.repo.root, {"ci-bot": TOKEN}) as server:
        insteadof = sample.repo.insteadof | {"https://git.acme.test/": f"{server.url}/"}
        env = {"DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof)}
        with live_with_project(root, sample, "My Project", **env) as live:
            yield Private(live, server)


@pytest.fixture(autouse=True)
def logged_in(private: Private, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.delenv("DOCKYARD_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKYARD_URL", private.live.process.url)
    token = private.live.http.headers["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("DOCKYARD_TOKEN", token)
    monkeypatch.setenv("DOCKYARD_PROJECT", private.live.project)


def run(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def dockyard(*args: str, stdin: str | None = None) -> str:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def as_json(*args: str, stdin: str | None = None) -> Any:
    return json.loads(dockyard(*args, "--json", stdin=stdin))


def refused(result: Result, *fragments: str) -> str:
    assert result.exit_code == 1 and result.output.startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result.output


def test_vcs_links_add_list_rotate_and_refuse_deleting_one_in_use(
    private: Private, tmp_path: Path
) -> None:
    outputs = []
    added = as_json(
        "vcs",
        "add",
        "--name",
        "Gitea Bot",
        "--url",
        "https://git.acme.test",
        "--login",
        "ci-bot",
        "--type",
        "gitea",
        stdin=TOKEN + "\n",
    )
    assert added["id"] == "gitea-bot" and added["vcsService"] == "self-hosted"
    assert added["login"] == "ci-bot" and "token" not in added
    [listed] = as_json("vcs", "list")
    assert listed["vcsLinkId"] == added["vcsLinkId"] and "token" not in listed
    outputs.append(table := dockyard("vcs", "list"))
    assert "Gitea Bot" in table and "https://git.acme.test" in table

    token_file = tmp_path / "new-token"
    token_file.write_text(NEW_TOKEN + "\n")
    outputs.append(
        rotated := dockyard("vcs", "rotate", "gitea-bot", "--token-file", str(token_file))
    )
    assert "ci-bot" in rotated
    outputs.append(dockyard("vcs", "rotate", added["vcsLinkId"], "--login", "bot2", stdin=TOKEN))
    assert as_json("vcs", "list")[0]["login"] == "bot2"
    empty = run("vcs", "rotate", "gitea-bot", stdin="")
    assert empty.exit_code == 2 and "token is empty" in empty.output

    job = as_json(
        "jobs",
        "create",
        "--name",
        "linked",
        "--repo",
        "https://git.acme.test/acme/app",
        "--vcs-link",
        "Gitea Bot",
    )
    assert job["deployment"]["vcs"]["vcsLinkId"] == added["vcsLinkId"]
    outputs.append(refused(run("vcs", "delete", "gitea-bot", "--yes"), "HTTP 409", "linked"))
    dockyard("jobs", "delete", "linked", "--yes")
    outputs.append(dockyard("vcs", "delete", "gitea-bot", "--yes"))
    assert as_json("vcs", "list") == []
    refused(run("vcs", "delete", "gitea-bot", "--yes"), "HTTP 404")
    for output in outputs:
        assert TOKEN not in output and NEW_TOKEN not in output


def test_registry_credentials_add_list_update_and_refuse_deleting_ones_in_use(
    private: Private, tmp_path: Path
) -> None:
    outputs = []
    added = as_json(
        "registries",
        "add",
        "--name",
        "Private Registry",
        "--url",
        "registry.acme.test:5000",
        "--username",
        "puller",
        stdin=PASSWORD,
    )
    assert added["id"] == "private-registry" and added["provider"] == "custom"
    assert PASSWORD not in json.dumps(added)
    [listed] = as_json("registries", "list")
    assert listed["registryUrl"] == "registry.acme.test:5000"
    outputs.append(table := dockyard("registries", "list"))
    assert "private-registry" in table

    password_file = tmp_path / "password"
    password_file.write_text(NEW_PASSWORD)
    outputs.append(
        dockyard("registries", "update", "private-registry", "--password-file", str(password_file))
    )
    outputs.append(
        dockyard(
            "registries",
            "update",
            "private-registry",
            "--username",
            "pusher",
            "--password-stdin",
            stdin=PASSWORD,
        )
    )
    assert run("registries", "update", "private-registry").exit_code == 2

    private.live.post(
        "/jobs/manual",
        {
            "name": "puller",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
            "deployment": {
                "external": {
                    "imagePath": "registry.acme.test:5000/app:1",
                    "credentials": added["id"],
                }
            },
        },
    )
    outputs.append(
        refused(run("registries", "delete", "private-registry", "--yes"), "HTTP 409", "puller")
    )
    dockyard("jobs", "delete", "puller", "--yes")
    outputs.append(dockyard("registries", "delete", "private-registry", "--yes"))
    assert as_json("registries", "list") == []
    for output in outputs:
        assert PASSWORD not in output and NEW_PASSWORD not in output


def quickstart_commands() -> list[str]:
    """The three commands of the README's "Build a private repository"."""
    section = README.read_text().split("### Build a private repository", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the quickstart has no commands"
    return block[1].splitlines()


def test_the_readme_quickstart_builds_a_private_repository(
    private: Private, tmp_path: Path
) -> None:
    (tmp_path / "token.txt").write_text(TOKEN + "\n")
    commands = quickstart_commands()
    assert len(commands) == 3, commands
    outputs = []
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "dockyard"
        stdin = None
        if "<" in words:  # the shell's redirection: the file becomes stdin
            at = words.index("<")
            stdin = (tmp_path / words[at + 1]).read_text()
            words = words[:at] + words[at + 2 :]
        outputs.append(dockyard(*words[1:], stdin=stdin))

    assert "SUCCESS" in outputs[-1] and "Pushed " in outputs[-1], outputs[-1]
    assert "with VCS link 'acme' (login ci-bot)" in outputs[-1]
    [build] = private.live.get("/jobs/app/build")["builds"]
    assert build["status"] == "SUCCESS"
    assert any(line.endswith(" 200 ci-bot") for line in private.server.output)
    assert all(TOKEN not in output for output in outputs)
    dockyard("jobs", "delete", "app", "--yes")
    dockyard("vcs", "delete", "acme", "--yes")
