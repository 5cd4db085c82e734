"""The official SDK lists the repositories the VCS links reach (`api.list.repos`) from a live
dockyard: a self-hosted VCS (a plain git server: git's own HTTP server behind basic auth,
tests/githttp.py) and its link; the SDK's filters and its pagination (`all`) give what the
API's do, every answer in the SDK's own types."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from northflank import ApiClient

from tests.builds.conftest import LiveDockyard, live_with_project
from tests.conformance.sdk_types import checked
from tests.githttp import GitHttpServer
from tests.gitrepos import GitRepo, make_sample_repo
from tests.helpers import minimal_job

TOKEN = "tok-sdk-repos-6a1d93"
HOST = "https://git.sdk-repos.test"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveDockyard, GitHttpServer]]:
    root = tmp_path_factory.mktemp("sdk-repos")
    sample = make_sample_repo(root / "git")
    GitRepo(root / "git", "acme/lib").commit({"README.md": "lib\n"}, "first")
    with GitHttpServer(sample.repo.root, {"alice": TOKEN}) as server:
        insteadof = sample.repo.insteadof | {f"{HOST}/": f"{server.url}/"}
        env = {"DOCKYARD_GIT_INSTEADOF": json.dumps(insteadof)}
        with live_with_project(root, sample, "Repos", **env) as running:
            yield running, server


def test_the_sdk_lists_the_repositories_of_a_self_hosted_vcs(
    live: tuple[LiveDockyard, GitHttpServer],
) -> None:
    running, server = live
    record = running.http.post(
        "/v1/integrations/vcs/self-hosted", json={"name": "Corp Git", "vcsUrl": server.url}
    ).json()["data"]
    server_id = record["selfHostedVcsId"]
    link = {
        "name": "Corp Bot",
        "vcsService": "self-hosted",
        "selfHostedVcsId": server_id,
        "login": "alice",
        "token": TOKEN,
    }
    made = running.http.post("/v1/integrations/vcs/links", json=link)
    assert made.status_code == 200, made.text
    for name in ("app", "lib"):
        vcs = {
            "projectUrl": f"{HOST}/acme/{name}",
            "projectType": "self-hosted",
            "projectBranch": "main",
            "selfHostedVcsId": server_id,
        }
        running.post("/jobs/manual", minimal_job(f"Build {name}", deployment={"vcs": vcs}))
    token = running.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(api_token=token, base_url=running.process.url)

    repos = checked(sdk.list.repos, self_hosted_vcs_id=server_id)["repos"]
    assert [repo["full_name"] for repo in repos] == ["acme/app", "acme/lib"]
    assert {repo["selfHostedVcsId"] for repo in repos} == {server_id}
    assert {repo["accountLogin"] for repo in repos} == {"alice"}
    first = checked(sdk.list.repos, per_page=1, vcs_service="self-hosted")
    assert [repo["name"] for repo in first["repos"]] == ["app"]
    every = sdk.list.repos.all(per_page=1, account_login="alice")
    assert [repo["name"] for repo in every.data["repos"]] == ["app", "lib"]
    assert checked(sdk.list.repos, account_login="nobody")["repos"] == []
    assert TOKEN not in json.dumps(repos)
