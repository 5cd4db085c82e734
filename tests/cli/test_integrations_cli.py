"""`dockyard vcs` and `dockyard registries` against a live `dockyard up` (real Docker,
registry, git): tokens and passwords come from stdin or a file and are never printed or
listed, rotation, 409 on deleting what a job uses; ssh links made, listed, re-keyed and
re-pinned by the CLI, one building a private repository from a real sshd (tests/sshd.py) by
the deploy key the CLI printed; self-hosted VCS records and token links of them; and the
README's "Build a private repository" quickstart, run command by command against git's own
HTTP server behind basic auth (tests/githttp.py)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from dockyard.cli.output import out as cli_out
from tests.builds.conftest import LiveDockyard, live_with_project
from tests.githttp import GitHttpServer
from tests.gitrepos import make_sample_repo
from tests.sshd import SshServer

pytestmark = pytest.mark.e2e

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "tok-cli-quickstart-6d0f2a9b"
NEW_TOKEN = "tok-cli-rotated-1c7e5f3a"
PASSWORD = "registry-pw-9a8b7c6d"
NEW_PASSWORD = "registry-pw-rotated-5e4f"


class Private(NamedTuple):
    """A live dockyard, the private git server (https://git.acme.test) it fetches from and an
    sshd serving the same repositories (ssh://git.ssh.test:<port>)."""

    live: LiveDockyard
    server: GitHttpServer
    sshd: SshServer


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    root = tmp_path_factory.mktemp("integrations-cli")
    sample = make_sample_repo(root / "git")
    sshd = SshServer(sample.repo.root, root / "sshd")
    with GitHttpServer(sample.repo.root, {"ci-bot": TOKEN}) as server, sshd:
        insteadof = sample.repo.insteadof | {
            "https://git.acme.test/": f"{server.url}/",
            f"ssh://git.ssh.test:{sshd.port}/": f"ssh://127.0.0.1:{sshd.port}/",
        }
        env = {"DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof)}
        with live_with_project(root, sample, "My Project", **env) as live:
            yield Private(live, server, sshd)


@pytest.fixture(autouse=True)
def logged_in(private: Private, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.delenv("DOCKYARD_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKYARD_URL", private.live.process.url)
    token = private.live.http.headers["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("DOCKYARD_TOKEN", token)
    monkeypatch.setenv("DOCKYARD_PROJECT", private.live.project)
    # A wide terminal: the tables' cells whole (an ssh link's key fingerprint is 50 wide).
    monkeypatch.setattr(cli_out, "width", 200)


def run(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def dockyard(*args: str, stdin: str | None = None) -> str:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def as_json(*args: str, stdin: str | None = None) -> Any:
    """The JSON a command prints on stdout (its hints go to stderr)."""
    result = run(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


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


def fingerprint_of(public_key: str) -> str:
    """What `ssh-keygen -lf` says of the key: `SHA256:...`."""
    with tempfile.NamedTemporaryFile("w", suffix=".pub") as file:
        file.write(public_key + "\n")
        file.flush()
        said = subprocess.run(
            ["ssh-keygen", "-lf", file.name], capture_output=True, text=True, check=True
        )
    return said.stdout.split()[1]


def test_an_ssh_link_made_by_the_cli_builds_by_the_deploy_key_it_printed(
    private: Private, tmp_path: Path
) -> None:
    sshd = private.sshd
    host_key_file = tmp_path / "known_hosts"
    host_key_file.write_text(f"# ssh-keyscan\n[git.ssh.test]:{sshd.port} {sshd.host_key}\n")
    url = f"ssh://git.ssh.test:{sshd.port}{sshd.root}"
    added = run(
        "vcs", "add", "--ssh", "--name", "Deploy Key", "--url", url, "--login", sshd.user,
        "--host-key-file", str(host_key_file),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    public_key = added.stdout.strip()
    assert public_key.startswith("ssh-ed25519 ") and public_key.endswith(" dockyard:deploy-key")
    assert "\n" not in public_key and "deploy key" in added.stderr
    [listed] = as_json("vcs", "list")
    assert listed["kind"] == "ssh" and listed["publicKey"] == public_key
    assert listed["hostKey"] == sshd.host_key and "PRIVATE KEY" not in json.dumps(listed)
    table = dockyard("vcs", "list")
    assert "ssh" in table and fingerprint_of(public_key) in table
    assert public_key.split()[1] in dockyard("vcs", "list", "--public-keys")

    sshd.authorize(public_key)
    dockyard("jobs", "create", "--name", "over-ssh", "--repo", "https://git.ssh.test/acme/app")
    built = dockyard("builds", "start", "--job", "over-ssh", "--follow")
    assert "SUCCESS" in built and "with VCS link 'deploy-key'" in built, built

    rotated = run("vcs", "rotate-key", "deploy-key")
    assert rotated.exit_code == 0 and "deploy key" in rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key.startswith("ssh-ed25519 ") and new_key != public_key
    assert as_json("vcs", "rotate-key", "deploy-key")["publicKey"] not in (public_key, new_key)
    refused(run("vcs", "rotate", "deploy-key", stdin=TOKEN), "HTTP 400", "rotate-key")

    cleared = as_json("vcs", "host-key", "deploy-key", "--clear")
    assert "hostKey" not in cleared
    pinned = as_json("vcs", "host-key", "deploy-key", "--host-key", sshd.host_key)
    assert pinned["hostKey"] == sshd.host_key
    assert run("vcs", "host-key", "deploy-key").exit_code == 2
    both = run("vcs", "host-key", "deploy-key", "--clear", "--host-key", sshd.host_key)
    assert both.exit_code == 2
    refused(run("vcs", "host-key", "deploy-key", "--host-key", "not a key"), "HTTP 400")
    dockyard("jobs", "delete", "over-ssh", "--yes")
    dockyard("vcs", "delete", "deploy-key", "--yes")


def test_self_hosted_servers_and_token_links_of_them(private: Private) -> None:
    server = as_json(
        "vcs", "servers", "add", "--name", "Acme Gitea", "--url", "https://git.acme.test",
        "--type", "gitea",
    )  # fmt: skip
    assert server["id"] == "acme-gitea" and server["vcsType"] == "gitea"
    [listed] = as_json("vcs", "servers", "list")
    assert listed["selfHostedVcsId"] == server["selfHostedVcsId"]
    assert "https://git.acme.test" in dockyard("vcs", "servers", "list")

    link = as_json(
        "vcs", "add", "--name", "Gitea Token", "--server", "acme-gitea", "--login", "ci-bot",
        stdin=TOKEN,
    )  # fmt: skip
    assert link["selfHostedVcsId"] == server["selfHostedVcsId"] and link["kind"] == "token"
    assert link["vcsUrl"] == "https://git.acme.test" and link["vcsType"] == "gitea"
    assert "token" in dockyard("vcs", "list")
    refused(run("vcs", "servers", "delete", "acme-gitea", "--yes"), "HTTP 409")
    dockyard("vcs", "delete", "gitea-token", "--yes")
    assert "deleted" in dockyard("vcs", "servers", "delete", "acme-gitea", "--yes")
    assert as_json("vcs", "servers", "list") == []
    no_token = run("vcs", "add", "--ssh", "--name", "x", "--server", "acme-gitea")
    assert no_token.exit_code == 2


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
