"""Private repositories end to end: a live dockyard builds from git's own HTTP server behind
basic auth (tests/githttp.py) through token VCS links; a wrong token, a missing link and a
link in use fail clearly; the official SDK lists the links and a repository's branches. No
token reaches a build log, the git server's requests, the server's output or its data dir
(the source cache, the registry's image layers)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from northflank import ApiClient

from tests.builds.conftest import LiveDockyard, live_with_project
from tests.builds.test_job_builds import image_file
from tests.conformance.sdk_types import checked
from tests.githttp import GitHttpServer
from tests.gitrepos import make_sample_repo
from tests.live import DOCKER_HOST

TOKEN = "tok-private-5b1e0c9d7a3f"
WRONG_TOKEN = "tok-wrong-88c2e4a61b0d"
PRIVATE_URL = "https://git.private.test/acme/app"
UNLINKED_URL = "https://git.unlinked.test/acme/app"
WEBHOOK_SECRET = "private-webhook-secret"


def private_job(live: LiveDockyard, name: str, url: str, **vcs: str) -> str:
    """A manual job building repository `url` (its `deployment.vcs` with `vcs` added)."""
    source = {"projectUrl": url, "projectType": "self-hosted", "projectBranch": "main"}
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"vcs": source | vcs},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def built(live: LiveDockyard, job: str) -> dict[str, Any]:
    """The job's build, started and waited for."""
    started = live.post(f"/jobs/{job}/build", {})
    return live.wait_for(f"/jobs/{job}/build/{started['id']}")


@dataclass
class Private:
    live: LiveDockyard
    server: GitHttpServer
    links: dict[str, dict[str, Any]]

    def job(self, name: str, url: str = PRIVATE_URL, **vcs: str) -> str:
        return private_job(self.live, name, url, **vcs)

    def build(self, job: str) -> dict[str, Any]:
        return built(self.live, job)

    def leaks(self, secret: str, build_id: str) -> list[str]:
        """Where `secret` shows: build log, git server, dockyard's output, its data dir."""
        found = [line for line in self.live.lines(build_id) if secret in line]
        found += [line for line in self.server.output if secret in line]
        if secret in self.live.process.output():
            found.append("dockyard output")
        data_dir = self.live.process.data_dir
        for path in data_dir.rglob("*"):
            if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
                found.append(str(path.relative_to(data_dir)))
        return found


def image_holds(image: str, secret: str) -> str:
    """What the image's copy of the build context (`/src`) has of `secret` and of a `.git`
    dir (the image is pulled already)."""
    script = f"grep -rlF -- '{secret}' /src; ls -d /src/.git 2>/dev/null; true"
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "sh", "-c", script],
        env={"DOCKER_HOST": DOCKER_HOST},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    root = tmp_path_factory.mktemp("private")
    sample = make_sample_repo(root / "git")
    unlinked_root = Path(root / "unlinked")
    make_sample_repo(unlinked_root)
    with (
        GitHttpServer(sample.repo.root, {"alice": TOKEN}) as server,
        GitHttpServer(unlinked_root, {"bob": TOKEN}) as unlinked,
    ):
        insteadof = sample.repo.insteadof | {
            "https://git.private.test/": f"{server.url}/",
            "https://git.unlinked.test/": f"{unlinked.url}/",
        }
        env = {
            "DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof),
            "DOCKYARD_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        with live_with_project(root, sample, "Private", **env) as live:
            links = {}
            for name, login, token in (("good", "alice", TOKEN), ("wrong", "mallory", WRONG_TOKEN)):
                body = {
                    "name": name,
                    "vcsService": "self-hosted",
                    "vcsType": "gitea",
                    "vcsUrl": server.url,
                    "login": login,
                    "token": token,
                }
                reply = live.http.post("/v1/integrations/vcs/links", json=body)
                assert reply.status_code == 200, reply.text
                links[name] = reply.json()["data"]
            yield Private(live, server, links)


def test_a_private_repository_builds_through_the_link_that_reads_it(private: Private) -> None:
    job = private.job("private app")  # no link named: of two hosting links, the one that reads
    build = private.build(job)

    assert build["status"] == "SUCCESS", build
    image = build["registry"]["uri"]
    assert image_file(private.live, image, "/hello.txt") == "hello v2\n"
    assert image_holds(image, TOKEN) == ""
    lines = private.live.lines(build["id"])
    assert f"Fetching {PRIVATE_URL} with VCS link 'good' (login alice)" in lines
    assert any(line.endswith(" 200 alice") for line in private.server.output)
    assert private.leaks(TOKEN, build["id"]) == []


def test_a_wrong_token_fails_with_a_clear_message_and_is_not_shown(private: Private) -> None:
    job = private.job("wrong token", vcsLinkId=private.links["wrong"]["vcsLinkId"])
    build = private.build(job)

    assert build["status"] == "FAILURE", build
    message = build["message"]
    assert f"Repository {PRIVATE_URL} refused VCS link 'wrong' (login mallory)" in message
    assert "Authentication failed" in message
    assert private.leaks(WRONG_TOKEN, build["id"]) == []


def test_vcs_link_id_and_account_login_choose_the_link(private: Private) -> None:
    by_id = private.job("by link id", vcsLinkId=private.links["good"]["vcsLinkId"])
    assert private.build(by_id)["status"] == "SUCCESS"
    by_login = private.job("by login", accountLogin="mallory")
    refused = private.build(by_login)
    assert refused["status"] == "FAILURE" and "VCS link 'wrong'" in refused["message"]
    # A login no link has chooses nothing: the link that reads the repository fetches it.
    unknown_login = private.build(private.job("unknown login", accountLogin="nobody"))
    assert unknown_login["status"] == "SUCCESS", unknown_login


def test_a_repository_no_link_hosts_fails_naming_it(private: Private) -> None:
    build = private.build(private.job("unlinked", url=UNLINKED_URL))

    assert build["status"] == "FAILURE", build
    assert (
        f"Repository {UNLINKED_URL} needs credentials and no VCS link hosts it"
        in (build["message"])
    )
    assert "terminal prompts disabled" in build["message"]


def test_a_link_never_sends_its_token_to_another_server(private: Private) -> None:
    good = private.links["good"]
    build = private.build(private.job("elsewhere", url=UNLINKED_URL, vcsLinkId=good["vcsLinkId"]))

    assert build["status"] == "FAILURE", build
    assert (
        f"VCS link 'good' is for {private.server.url}, which does not host {UNLINKED_URL}"
        in (build["message"])
    )


def test_the_sdk_lists_the_links_and_the_branches(private: Private) -> None:
    live = private.live
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(api_token=token, base_url=live.process.url)

    links = checked(sdk.list.vcs)["vcsAccountLinks"]
    assert [link["login"] for link in links] == ["alice", "mallory"]
    listed = checked(
        sdk.list.branches,
        vcs_service="self-hosted",
        repository_owner="acme",
        repository_name="app",
        vcs_link_id=private.links["good"]["vcsLinkId"],
    )
    heads = {branch["name"]: branch["commit"]["sha"] for branch in listed["branches"]}
    assert heads["main"] == live.sample.main and heads["feature"] == live.sample.feature


def test_deleting_a_link_in_use_answers_409(private: Private) -> None:
    good = private.links["good"]
    private.job("holds the link", vcsLinkId=good["vcsLinkId"])

    refused = private.live.http.delete(f"/v1/integrations/vcs/links/{good['id']}")
    assert refused.status_code == 409, refused.text
    assert "holds-the-link" in refused.json()["error"]["message"]


def pushed_and_built(live: LiveDockyard, job: str, url: str, branch: str) -> dict[str, Any]:
    """A commit pushed to `branch` of the sample repository, delivered by a signed generic
    webhook naming `url`: the job's build of it, which the webhook started (waited for)."""
    sha = live.sample.repo.commit({"hook.txt": "pushed\n"}, "pushed", branch=branch)
    body = json.dumps(
        {"deliveryId": str(uuid.uuid4()), "repository": url, "branch": branch, "sha": sha}
    ).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    delivered = live.http.post(
        "/v1/webhooks/generic",
        content=body,
        headers={"X-Dockyard-Signature-256": signature, "Content-Type": "application/json"},
    )
    assert delivered.status_code == 200, delivered.text

    event = live.get(f"/jobs/{job}/ci-events")["events"][0]
    assert event["built"] is True, event
    build = live.wait_for(f"/jobs/{job}/build/{event['buildId']}")
    assert build["sha"] == sha, build
    return build


def test_a_webhook_reads_the_private_repository_through_the_link(private: Private) -> None:
    job = private.job("hooked", projectBranch="hook")
    build = pushed_and_built(private.live, job, PRIVATE_URL, "hook")
    assert build["status"] == "SUCCESS", build
