"""A live dockyard builds a job whose source names a self-hosted VCS through that record's
link, from git's own HTTP server behind basic auth (tests/githttp.py), although an older link
without the record hosts and reads the repository too."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.builds.conftest import LiveDockyard, live_with_project
from tests.githttp import GitHttpServer
from tests.gitrepos import make_sample_repo
from tests.helpers import minimal_job

TOKEN = "tok-self-hosted-build-91e4c2"
HOST = "https://git.corp-builds.test"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveDockyard, GitHttpServer]]:
    root = tmp_path_factory.mktemp("self-hosted-builds")
    sample = make_sample_repo(root / "git")
    with GitHttpServer(sample.repo.root, {"alice": TOKEN}) as server:
        insteadof = sample.repo.insteadof | {f"{HOST}/": f"{server.url}/"}
        env = {"DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof)}
        with live_with_project(root, sample, "Corp", **env) as running:
            yield running, server


def test_a_source_of_a_record_builds_through_the_records_link(
    live: tuple[LiveDockyard, GitHttpServer],
) -> None:
    running, server = live
    http = running.http
    plain = {"name": "Plain Bot", "vcsService": "self-hosted", "vcsUrl": server.url}
    assert http.post(
        "/v1/integrations/vcs/links", json=plain | {"login": "alice", "token": TOKEN}
    ).is_success
    record = http.post(
        "/v1/integrations/vcs/self-hosted", json={"name": "Corp Git", "vcsUrl": server.url}
    ).json()["data"]
    server_id = record["selfHostedVcsId"]
    corp = {
        "name": "Corp Bot",
        "vcsService": "self-hosted",
        "selfHostedVcsId": server_id,
        "login": "alice",
        "token": TOKEN,
    }
    assert http.post("/v1/integrations/vcs/links", json=corp).is_success
    vcs = {
        "projectUrl": f"{HOST}/acme/app",
        "projectType": "self-hosted",
        "projectBranch": "main",
        "selfHostedVcsId": server_id,
    }
    dockerfile = {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}}
    job = running.post(
        "/jobs/manual", minimal_job("Corp App", deployment={"vcs": vcs}, buildSettings=dockerfile)
    )["id"]

    started = running.post(f"/jobs/{job}/build", {})
    build = running.wait_for(f"/jobs/{job}/build/{started['id']}")
    assert build["status"] == "SUCCESS", build
    lines = running.lines(build["id"])
    assert f"Fetching {HOST}/acme/app with VCS link 'corp-bot' (login alice)" in lines
    assert not any(TOKEN in line for line in lines)
