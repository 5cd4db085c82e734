"""Self-hosted VCS records through the API (added, listed, got, deleted; 409 while a link, a
job or a build service names one), links of a record (their server is the record's), the
check of `selfHostedVcsId` on every write of a job or build service, the choice of the link
that fetches a source of a record, and `GET /v1/integrations/vcs/repos` for plain git servers
against git's own HTTP server (tests/githttp.py): filters, pagination, a server that cannot
be reached (502 naming the link, never the token)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.engine.git import GitClient
from dockyard.errors import GitError
from dockyard.secrets.crypto import SecretBox, keys_of
from dockyard.vcslinks.service import Fetcher, fetcher_for
from tests.conftest import assert_error, issue_token
from tests.githttp import GitHttpServer
from tests.gitrepos import GitRepo
from tests.helpers import created_id, minimal_job, minimal_service

RECORDS = "/v1/integrations/vcs/self-hosted"
LINKS = "/v1/integrations/vcs/links"
REPOS = "/v1/integrations/vcs/repos"
TOKEN = "tok-self-hosted-3c9e1f7a"
WRONG = "tok-self-hosted-wrong-55d2"
HOST = "https://git.selfhosted.test"
DOCKERFILE = {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """acme/app and acme/lib on a git server behind basic auth (alice reads both)."""
    root = tmp_path_factory.mktemp("selfhosted-git")
    for path in ("acme/app", "acme/lib"):
        GitRepo(root, path).commit({"README.md": f"{path}\n"}, "first")
    with GitHttpServer(root, {"alice": TOKEN}) as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, server: GitHttpServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        git_insteadof={f"{HOST}/": f"{server.url}/"},
        fetch_allow=["127.0.0.0/8"],
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as app_client:
        token = issue_token(settings, name="admin", is_admin=True)
        app_client.headers["Authorization"] = f"Bearer {token}"
        yield app_client


@pytest.fixture
def project(client: TestClient) -> str:
    reply = client.post("/v1/projects", json={"name": "Self Hosted"})
    assert reply.status_code == 200, reply.text
    project_id: str = reply.json()["data"]["id"]
    return project_id


def ok(reply: Any) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def record(client: TestClient, name: str, url: str, **fields: Any) -> dict[str, Any]:
    made: dict[str, Any] = ok(client.post(RECORDS, json={"name": name, "vcsUrl": url} | fields))
    return made


def link(client: TestClient, name: str, server_id: str, login: str, token: str) -> dict[str, Any]:
    body = {
        "name": name,
        "vcsService": "self-hosted",
        "selfHostedVcsId": server_id,
        "login": login,
        "token": token,
    }
    made: dict[str, Any] = ok(client.post(LINKS, json=body))
    return made


def source(server_id: str | None, path: str = "acme/app") -> dict[str, Any]:
    vcs = {"projectUrl": f"{HOST}/{path}", "projectType": "self-hosted", "projectBranch": "main"}
    return vcs | ({"selfHostedVcsId": server_id} if server_id else {})


def job(name: str, server_id: str | None, path: str = "acme/app") -> dict[str, Any]:
    return minimal_job(name, deployment={"vcs": source(server_id, path)}, buildSettings=DOCKERFILE)


def service(name: str, server_id: str | None) -> dict[str, Any]:
    vcs = {k: v for k, v in source(server_id).items() if k != "projectBranch"}
    return minimal_service(name, vcsData=vcs)


# ---- the records ----------------------------------------------------------------------------


def test_records_are_added_listed_got_and_deleted(client: TestClient) -> None:
    plain = record(client, "Our Git", "http://Git.Corp.Test/")
    gitea = record(client, "Our Gitea", "https://gitea.corp.test", vcsType="gitea")
    assert plain["id"] == "our-git" and len(plain["selfHostedVcsId"]) == 24
    assert plain["vcsUrl"] == "http://git.corp.test" and "vcsType" not in plain
    assert gitea["vcsType"] == "gitea"
    assert_error(client.post(RECORDS, json={"name": "our git", "vcsUrl": "http://x.test"}), 409)

    listed = client.get(RECORDS, params={"per_page": 1})
    assert ok(listed)["selfHostedVcs"] == [plain]
    assert listed.json()["pagination"]["hasNextPage"] is True
    assert ok(client.get(f"{RECORDS}/{gitea['selfHostedVcsId']}")) == gitea
    assert ok(client.get(f"{RECORDS}/our-gitea")) == gitea

    assert ok(client.delete(f"{RECORDS}/our-gitea")) == {}
    assert_error(client.get(f"{RECORDS}/our-gitea"), 404)
    assert_error(client.delete(f"{RECORDS}/our-gitea"), 404)


def test_a_link_of_a_record_takes_its_server(client: TestClient) -> None:
    gitea = record(client, "Our Gitea", "https://gitea.corp.test", vcsType="gitea")
    made = link(client, "Gitea Bot", gitea["selfHostedVcsId"], "bot", TOKEN)
    assert made["vcsUrl"] == "https://gitea.corp.test" and made["vcsType"] == "gitea"
    assert made["selfHostedVcsId"] == gitea["selfHostedVcsId"]
    entry = ok(client.get("/v1/integrations/vcs"))["vcsAccountLinks"][0]
    assert entry["vcsUrl"] == "https://gitea.corp.test" and entry["vcsType"] == "gitea"
    assert entry["vcsService"] == "self-hosted"

    body = {"name": "Other", "vcsService": "self-hosted", "login": "bot", "token": TOKEN}
    unknown = client.post(LINKS, json=body | {"selfHostedVcsId": "f" * 24})
    assert "selfHostedVcsId" in assert_error(unknown, 404)["details"]
    both = body | {"selfHostedVcsId": gitea["id"], "vcsUrl": "https://elsewhere.test"}
    assert_error(client.post(LINKS, json=both), 400)
    github = body | {"selfHostedVcsId": gitea["id"], "vcsService": "github"}
    assert_error(client.post(LINKS, json=github), 400)


def test_an_unknown_self_hosted_vcs_id_is_refused_naming_the_field(
    client: TestClient, project: str
) -> None:
    unknown = "e" * 24
    jobs, services = f"/v1/projects/{project}/jobs", f"/v1/projects/{project}/services"
    for method, path, body, field in (
        ("POST", f"{jobs}/manual", job("Bad", unknown), "deployment.vcs.selfHostedVcsId"),
        ("PUT", f"{jobs}/manual", job("Bad", unknown), "deployment.vcs.selfHostedVcsId"),
        ("POST", f"{jobs}/cron", job("Bad", unknown) | {"schedule": "* * * * *"}, None),
        ("POST", f"{services}/build", service("Bad", unknown), "vcsData.selfHostedVcsId"),
        ("PUT", f"{services}/build", service("Bad", unknown), "vcsData.selfHostedVcsId"),
    ):
        refused = assert_error(client.request(method, path, json=body), 400)
        assert unknown in refused["message"]
        assert (field or "deployment.vcs.selfHostedVcsId") in refused["details"]
    assert ok(client.get(jobs))["jobs"] == [] and ok(client.get(services))["services"] == []

    known = record(client, "Our Git", "http://git.corp.test")["selfHostedVcsId"]
    created_id(client, project, "/jobs/manual", job("Good", known))
    created_id(client, project, "/services/build", service("Good", known))
    patch = {"deployment": {"vcs": source(unknown)}}
    refused = assert_error(client.patch(f"{jobs}/manual/good", json=patch), 400)
    assert "deployment.vcs.selfHostedVcsId" in refused["details"]
    patched = client.patch(f"{services}/build/good", json={"vcsData": {"selfHostedVcsId": unknown}})
    assert "vcsData.selfHostedVcsId" in assert_error(patched, 400)["details"]
    for target in (f"{jobs}/good", f"{services}/good"):
        moved = client.post(f"{target}/build-source", json={"selfHostedVcsId": unknown})
        assert "selfHostedVcsId" in assert_error(moved, 400)["details"]
    assert ok(client.get(f"{jobs}/good"))["vcsData"]["selfHostedVcsId"] == known


def test_deleting_a_record_in_use_is_a_conflict(client: TestClient, project: str) -> None:
    made = record(client, "Our Git", "http://git.corp.test")
    server_id = made["selfHostedVcsId"]
    linked = link(client, "Git Bot", server_id, "bot", TOKEN)
    created_id(client, project, "/jobs/manual", job("Uses It", server_id))
    created_id(client, project, "/services/build", service("Also", server_id))

    refused = assert_error(client.delete(f"{RECORDS}/{made['id']}"), 409)
    assert refused["details"]["usedBy"] == [
        "link git-bot",
        f"job {project}/uses-it",
        f"service {project}/also",
    ]
    ok(client.delete(f"{LINKS}/{linked['id']}"))
    ok(client.delete(f"/v1/projects/{project}/jobs/uses-it"))
    ok(client.delete(f"/v1/projects/{project}/services/also"))
    assert ok(client.delete(f"{RECORDS}/{server_id}")) == {}


# ---- which link fetches a source of a record -------------------------------------------------


def choose(settings: Settings, url: str, **kwargs: str) -> Fetcher:
    git = GitClient(settings.git_insteadof, allow=settings.fetch_allow, timeout=30)
    box = SecretBox(keys_of(settings))

    async def work(session: AsyncSession) -> Fetcher:
        return await fetcher_for(session, box, git, url, **kwargs)

    return asyncio.run(run_in_session(settings.resolved_database_url, work))


def test_a_source_of_a_record_is_fetched_by_that_records_links_only(
    client: TestClient, settings: Settings, server: GitHttpServer
) -> None:
    ours = record(client, "Ours", server.url)["selfHostedVcsId"]
    theirs = record(client, "Theirs", server.url)["selfHostedVcsId"]
    link(client, "Their Bot", theirs, "alice", TOKEN)
    mine = link(client, "My Bot", ours, "alice", WRONG)
    url = f"{HOST}/acme/app"

    # Of the two links on the server, the record's is chosen (without asking which reads).
    chosen = choose(settings, url, self_hosted_vcs_id=ours)
    assert chosen.link is not None and chosen.link.id == "my-bot"
    assert choose(settings, url).link is not None  # no record named: the one that reads
    with pytest.raises(GitError, match="'their-bot' is not a link of self-hosted VCS"):
        their_link = ok(client.get("/v1/integrations/vcs"))["vcsAccountLinks"][0]["vcsLinkId"]
        choose(settings, url, self_hosted_vcs_id=ours, vcs_link_id=their_link)
    gone = "d" * 24
    with pytest.raises(GitError) as failed:
        choose(settings, url, self_hosted_vcs_id=gone, vcs_link_id=mine["vcsLinkId"])
    assert failed.value.message.startswith(
        f"Self-hosted VCS '{gone}' (selfHostedVcsId of {url}) does not exist"
    )


# ---- the repositories the links reach ---------------------------------------------------------


def repos_of(client: TestClient, **params: Any) -> list[tuple[str, str]]:
    found = ok(client.get(REPOS, params=params))["repos"]
    return [(repo["accountLogin"], repo["full_name"]) for repo in found]


def test_a_plain_git_servers_repositories_are_those_targets_name_that_the_link_reads(
    client: TestClient, project: str, server: GitHttpServer
) -> None:
    ours = record(client, "Ours", server.url)
    good = link(client, "Good", ours["selfHostedVcsId"], "alice", TOKEN)
    link(client, "Wrong", ours["selfHostedVcsId"], "mallory", WRONG)
    for name, path in (("App", "acme/app"), ("Lib", "acme/lib"), ("Gone", "acme/missing")):
        created_id(client, project, "/jobs/manual", job(name, ours["selfHostedVcsId"], path))
    created_id(client, project, "/services/build", service("App Too", None))  # the same repo
    created_id(client, project, "/jobs/manual", minimal_job("Elsewhere"))  # no git source

    reply = ok(client.get(REPOS))
    assert reply["repos"][0] == {
        "accountLogin": "alice",
        "full_name": "acme/app",
        "id": "acme/app",
        "name": "app",
        "owner": {"login": "acme"},
        "selfHostedVcsId": ours["selfHostedVcsId"],
        "url": f"{HOST}/acme/app",
        "vcsService": "self-hosted",
    }
    assert repos_of(client) == [("alice", "acme/app"), ("alice", "acme/lib")]
    assert repos_of(client, vcs_link_id=good["vcsLinkId"]) == repos_of(client)
    assert repos_of(client, vcs_link_id="wrong") == []
    assert repos_of(client, account_login="mallory") == []
    assert repos_of(client, self_hosted_vcs_id=ours["id"], vcs_service="self-hosted") == (
        repos_of(client)
    )
    assert repos_of(client, vcs_service="github") == []
    other = record(client, "Other", "http://git.other.test")
    assert repos_of(client, self_hosted_vcs_id=other["selfHostedVcsId"]) == []
    assert TOKEN not in client.get(REPOS).text

    first = client.get(REPOS, params={"per_page": 1}).json()
    assert [repo["full_name"] for repo in first["data"]["repos"]] == ["acme/app"]
    assert first["pagination"]["hasNextPage"] is True
    after = ok(client.get(REPOS, params={"per_page": 1, "cursor": first["pagination"]["cursor"]}))
    assert [repo["full_name"] for repo in after["repos"]] == ["acme/lib"]
    second = client.get(REPOS, params={"per_page": 1, "page": 2}).json()
    assert second["data"] == after and second["pagination"]["hasNextPage"] is False

    assert_error(client.get(REPOS, params={"vcs_link_id": "x"}), 404)
    assert_error(client.get(REPOS, params={"self_hosted_vcs_id": "nope"}), 404)
    assert_error(client.get(REPOS, params={"vcs_service": "svn"}), 400, "query.vcs_service")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_server_whose_listing_fails_answers_502_naming_the_link(client: TestClient) -> None:
    gitea = record(client, "Down", f"http://127.0.0.1:{closed_port()}", vcsType="gitea")
    link(client, "Down Bot", gitea["selfHostedVcsId"], "bot", TOKEN)

    failed = client.get(REPOS)
    error = assert_error(failed, 502)
    assert error["message"].startswith(
        "VCS link 'down-bot' (login bot) could not list its repositories: 127.0.0.1:"
    )
    assert "could not be reached: ConnectError" in error["message"]
    assert TOKEN not in failed.text

    unicode_token = "tök-\U0010b42c-secret"
    odd = link(client, "Odd Bot", gitea["selfHostedVcsId"], "bot", unicode_token)
    refused = client.get(REPOS, params={"vcs_link_id": odd["vcsLinkId"]})
    assert "the login or token is not ASCII" in assert_error(refused, 502)["message"]
    assert "\U0010b42c" not in refused.text and unicode_token not in refused.text


def test_a_server_on_this_machine_is_refused_unless_allowed(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", registry="127.0.0.1:1", registry_autostart=False
    )
    with TestClient(create_app(settings)) as app_client:
        app_client.headers["Authorization"] = f"Bearer {issue_token(settings, is_admin=True)}"
        gitea = record(app_client, "Local", "http://127.0.0.1:9", vcsType="gitea")
        link(app_client, "Local Bot", gitea["selfHostedVcsId"], "bot", TOKEN)
        error = assert_error(app_client.get(REPOS), 502)
    assert "127.0.0.1:9 is refused" in error["message"]
