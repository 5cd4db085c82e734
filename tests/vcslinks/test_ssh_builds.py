"""Private repositories over ssh end to end: a live dockyard builds from a real OpenSSH server
(tests/sshd.py) through ssh VCS links, by the deploy key dockyard made for the link: a job
names `https://git.ssh.test/acme/app`, the link `ssh://git.ssh.test:<port>/<repositories>`,
so git fetches `ssh://git.ssh.test:<port>/<repositories>/acme/app`, which the server's
insteadOf sends to 127.0.0.1 (as it sends https:// URLs to the test servers). A revoked
key fails naming the repository and the link; a server whose host key changed (after the link
pinned it, given or on first use) is refused. No private key reaches a build log, the server's
output, its data dir, the image or a reply, and its temporary key file is gone after each git
command."""

from __future__ import annotations

import json
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.base import SshKey
from dockyard.engine.git import GitClient, _ssh_files
from dockyard.vcslinks.models import VcsLink
from dockyard.vcslinks.service import fetch_url, hosts
from tests.builds.conftest import LiveDockyard, live_with_project
from tests.builds.test_job_builds import image_file
from tests.gitrepos import make_sample_repo
from tests.sshd import SshServer
from tests.vcslinks.test_private_builds import (
    WEBHOOK_SECRET,
    built,
    image_holds,
    private_job,
    pushed_and_built,
)

URL = "https://git.ssh.test/acme/app"
# The PEM armour and the start of every OpenSSH private key's body (`openssh-key-v1`).
PRIVATE_KEY_MARKS = ("PRIVATE KEY", "b3BlbnNzaC1rZXktdjE")


@dataclass
class Ssh:
    live: LiveDockyard
    server: SshServer
    # A second server, started by the test that changes its host key.
    other: SshServer

    def link(self, name: str, server: SshServer | None = None, **fields: Any) -> dict[str, Any]:
        server = server or self.server
        body = {
            "name": name,
            "kind": "ssh",
            "vcsService": "self-hosted",
            "vcsUrl": f"ssh://git.ssh.test:{server.port}{server.root}",
            "login": server.user,
        }
        reply = self.live.http.post("/v1/integrations/vcs/links", json=body | fields)
        assert reply.status_code == 200, reply.text
        assert not [mark for mark in PRIVATE_KEY_MARKS if mark in reply.text]
        made: dict[str, Any] = reply.json()["data"]
        return made

    def job(self, name: str, link: dict[str, Any], **vcs: str) -> str:
        return private_job(self.live, name, URL, vcsLinkId=link["vcsLinkId"], **vcs)

    def build(self, job: str) -> dict[str, Any]:
        return built(self.live, job)

    def key_leaks(self, build_id: str) -> list[str]:
        """Where private key material shows: the build log, sshd's and dockyard's output, the
        data dir's files (the database holds it sealed), the temporary dir."""
        found = [
            line
            for line in [*self.live.lines(build_id), *self.server.output]
            if any(mark in line for mark in PRIVATE_KEY_MARKS)
        ]
        output = self.live.process.output()
        found += ["dockyard output" for mark in PRIVATE_KEY_MARKS if mark in output]
        data_dir = self.live.process.data_dir
        for path in data_dir.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(mark.encode() in data for mark in PRIVATE_KEY_MARKS):
                    found.append(str(path.relative_to(data_dir)))
        found += [str(path) for path in Path(tempfile.gettempdir()).glob("dockyard-ssh-*")]
        return found


@pytest.fixture(scope="module")
def ssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ssh]:
    root = tmp_path_factory.mktemp("ssh")
    sample = make_sample_repo(root / "git")
    server = SshServer(sample.repo.root, root / "sshd")
    other = SshServer(sample.repo.root, root / "sshd-other")
    insteadof = sample.repo.insteadof | {
        f"ssh://git.ssh.test:{each.port}/": f"ssh://127.0.0.1:{each.port}/"
        for each in (server, other)
    }
    env = {
        "DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof),
        "DOCKYARD_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    with server, live_with_project(root, sample, "Over Ssh", **env) as live:
        yield Ssh(live, server, other)


def test_a_private_repository_builds_by_deploy_key(ssh: Ssh) -> None:
    link = ssh.link("deploy key", hostKey=ssh.server.host_key)
    assert link["hostKey"] == ssh.server.host_key
    ssh.server.authorize(link["publicKey"])

    build = ssh.build(ssh.job("over ssh", link))

    assert build["status"] == "SUCCESS", build
    image = build["registry"]["uri"]
    assert image_file(ssh.live, image, "/hello.txt") == "hello v2\n"
    assert image_holds(image, "PRIVATE KEY") == ""
    lines = ssh.live.lines(build["id"])
    said = (
        f"Fetching {URL} with VCS link 'deploy-key' (login {ssh.server.user}) as {link['vcsUrl']}"
    )
    assert f"{said}/acme/app" in lines
    assert any("Accepted publickey" in line for line in ssh.server.output)
    assert ssh.key_leaks(build["id"]) == []


def test_a_revoked_key_fails_naming_the_repository_and_the_link(ssh: Ssh) -> None:
    link = ssh.link("revoked", hostKey=ssh.server.host_key)
    ssh.server.authorize(link["publicKey"])
    ssh.server.revoke(link["publicKey"])

    build = ssh.build(ssh.job("revoked key", link))

    assert build["status"] == "FAILURE", build
    message = build["message"]
    assert f"Repository {URL} refused VCS link 'revoked' (login {ssh.server.user})" in message
    assert "deploy key" in message and "Permission denied (publickey)" in message
    assert ssh.key_leaks(build["id"]) == []


def test_a_host_key_pinned_on_first_use_refuses_a_changed_one(ssh: Ssh) -> None:
    with ssh.other as server:
        link = ssh.link("first use", server)
        assert "hostKey" not in link
        server.authorize(link["publicKey"])
        job = ssh.job("first use", link)

        first = ssh.build(job)
        assert first["status"] == "SUCCESS", first
        pinned = f"first use of the link: pinned the server's host key {server.host_key}"
        assert any(pinned in line for line in ssh.live.lines(first["id"]))

        server.new_host_key()
        refused = ssh.build(job)

    assert refused["status"] == "FAILURE", refused
    message = refused["message"]
    assert (
        f"Repository {URL}: the ssh host key of git.ssh.test:{server.port} is not the one "
        "VCS link 'first-use' pinned" in message
    )
    assert "Host key verification failed" in message
    assert ssh.key_leaks(refused["id"]) == []


def test_an_ssh_link_hosts_both_ssh_url_forms_and_https_urls_of_its_host() -> None:
    git = GitClient()
    github = VcsLink(kind="ssh", vcs_url="github.com:")
    assert hosts(github, git, "git@github.com:acme/app.git")
    assert hosts(github, git, "ssh://git@github.com/acme/app.git")
    assert not hosts(github, git, "ssh://git@github.com:2222/acme/app.git")
    assert fetch_url(github, git, "https://github.com/acme/app") == "github.com:acme/app"
    assert not hosts(github, git, "https://gitlab.com/acme/app")
    scoped = VcsLink(kind="ssh", vcs_url="ssh://git.test:2222/acme")
    assert hosts(scoped, git, "ssh://git@git.test:2222/acme/app")
    assert not hosts(scoped, git, "ssh://git@git.test:2222/acmeother/app")
    assert not hosts(scoped, git, "git@git.test:acme/app")
    assert fetch_url(scoped, git, "https://git.test/x/app") == "ssh://git.test:2222/acme/x/app"


def test_a_webhook_reads_the_repository_through_the_ssh_link(ssh: Ssh) -> None:
    link = ssh.link("hooked", hostKey=ssh.server.host_key)
    ssh.server.authorize(link["publicKey"])
    job = ssh.job("hooked", link, projectBranch="ssh-hook")

    build = pushed_and_built(ssh.live, job, URL, "ssh-hook")

    assert build["status"] == "SUCCESS", build
    assert ssh.key_leaks(build["id"]) == []


def test_the_branches_are_listed_through_an_ssh_link(ssh: Ssh) -> None:
    link = ssh.link("lister")
    ssh.server.authorize(link["publicKey"])

    listed = ssh.live.http.get(
        "/v1/integrations/vcs/repos/self-hosted/acme/app/branches",
        params={"vcs_link_id": link["vcsLinkId"]},
    )

    assert listed.status_code == 200, listed.text
    heads = {
        branch["name"]: branch["commit"]["sha"] for branch in listed.json()["data"]["branches"]
    }
    assert heads["main"] == ssh.live.sample.main


def test_the_key_file_is_private_and_gone_after_use_whatever_the_way() -> None:
    key = SshKey("git", b"-----BEGIN OPENSSH PRIVATE KEY-----\nbody\n", "ssh-ed25519 AAAA")
    with _ssh_files(key) as files:
        folder = files.identity.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(files.identity.stat().st_mode) == 0o600
        assert files.known_hosts.read_text() == "* ssh-ed25519 AAAA\n"
    assert not folder.exists()
    with pytest.raises(RuntimeError), _ssh_files(key) as files:
        folder = files.identity.parent
        raise RuntimeError("git failed")
    assert not folder.exists()
