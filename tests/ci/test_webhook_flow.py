"""Webhooks end to end: a live dockyard, real commits pushed to a local bare repository,
payloads signed as GitHub and GitLab sign them, and the builds (and runs) they cause."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.builds.conftest import LiveDockyard, start_live
from tests.gitrepos import make_sample_repo

SECRET = "webhook-secret"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp("webhooks")
    sample = make_sample_repo(root / "git")
    process = start_live(
        root, sample, DOCKYARD_WEBHOOK_SECRET=SECRET, DOCKYARD_RUN_BACKOFF_SCALE="0.01"
    )
    token = process.admin_token()
    http = httpx.Client(
        base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert http.post("/v1/projects", json={"name": "Hooks"}).status_code == 200
    try:
        yield LiveDockyard(process, http, sample, "hooks")
    finally:
        http.close()
        process.stop(signal.SIGTERM)


def service(live: LiveDockyard, name: str, **configuration: Any) -> str:
    body = {
        "name": name,
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
        "buildConfiguration": configuration,
    }
    service_id: str = live.post("/services/build", body)["id"]
    return service_id


def github(
    live: LiveDockyard, event: str, payload: dict[str, Any], **headers: str
) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return live.http.post(
        "/v1/webhooks/github",
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        }
        | headers,
    )


def push(live: LiveDockyard, branch: str, files: dict[str, str], message: str) -> dict[str, Any]:
    """Commit to `branch` of the real repository and return GitHub's push payload for it."""
    repo = live.sample.repo
    before = repo.head_of(branch)
    sha = repo.commit(files, message, branch=branch)
    return {
        "ref": f"refs/heads/{branch}",
        "before": before or "0" * 40,
        "after": sha,
        "repository": {"clone_url": f"{repo.url}.git"},
        # Lies a payload may tell: the rules read the repository, not these.
        "head_commit": {"message": "innocent", "modified": ["src/app.py"]},
    }


def decision_of(
    live: LiveDockyard, response: httpx.Response, kind: str, target: str
) -> dict[str, Any]:
    """The decision `response`'s delivery made for `target`: its newest CI event (the answer
    only counts the decisions, naming no target)."""
    assert response.status_code == 200, response.text
    assert set(response.json()["data"]) <= {"deliveryId", "duplicate", "note", "built", "skipped"}
    event: dict[str, Any] = live.get(f"/{kind}/{target}/ci-events")["events"][0]
    return event


def test_branch_rules_paths_and_flags(live: LiveDockyard) -> None:
    target = service(
        live,
        "rules",
        branchRestrictions=["feat/*"],
        pathIgnoreRules=["*.md"],
        ciIgnoreFlagsEnabled=True,
    )
    cases = [
        ("feat/a", {"app.py": "1"}, "code", True, "branchRestrictions rule 'feat/*'"),
        ("main", {"app.py": "2"}, "code on main", False, "no branchRestrictions rule matches"),
        ("feat/b", {"NOTES.md": "x"}, "docs", False, "every changed file matches"),
        ("feat/c", {"app.py": "3"}, "wip [skip ci]", False, "ignore flag '[skip ci]'"),
    ]
    for branch, files, message, built, reason in cases:
        response = github(live, "push", push(live, branch, files, message))
        decision = decision_of(live, response, "services", target)
        assert decision["built"] is built, (branch, decision)
        assert reason in decision["reason"], (branch, decision)

    builds = live.get(f"/services/{target}/build")["builds"]
    assert [b["branch"] for b in builds] == ["feat/a"]
    events = live.get(f"/services/{target}/ci-events")["events"]
    assert [e["built"] for e in events] == [False, False, False, True]
    assert events[0]["commitMessage"].strip() == "wip [skip ci]"


def test_pull_requests_disabled_ci_and_duplicates(live: LiveDockyard) -> None:
    target = service(live, "pulls", prRestrictions=["pr-*"])
    disabled = service(live, "disabled", prRestrictions=["*"])
    live.http.patch(f"/v1/projects/hooks/services/build/{disabled}", json={"disabledCI": True})
    sample = live.sample
    payload = {
        "action": "opened",
        "number": 7,
        "pull_request": {
            "head": {"ref": "pr-7", "sha": sample.pull_7},
            "base": {"sha": sample.main},
        },
        "repository": {"clone_url": sample.repo.url},
    }
    delivery = {"X-GitHub-Delivery": "pr-7-opened"}

    first = github(live, "pull_request", payload, **delivery)
    built = decision_of(live, first, "services", target)
    skipped = decision_of(live, first, "services", disabled)
    again = github(live, "pull_request", payload, **delivery)

    assert built["built"] and not skipped["built"] and skipped["reason"] == "disabledCI is set"
    assert again.json()["data"] | {"deliveryId": None} == {
        "deliveryId": None,
        "duplicate": True,
        "note": "delivered before: ignored",
        "built": 0,
        "skipped": 0,
    }
    [build] = live.get(f"/services/{target}/build")["builds"]
    assert build["pullRequestId"] == 7 and build["sha"] == sample.pull_7
    redelivered = github(live, "pull_request", payload)
    decision = decision_of(live, redelivered, "services", target)
    assert not decision["built"] and "already built" in decision["reason"]


def test_bad_signature_does_nothing(live: LiveDockyard) -> None:
    target = service(live, "guarded", branchRestrictions=["*"])
    payload = push(live, "guarded", {"app.py": "x"}, "change")

    forged = github(live, "push", payload, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})

    assert forged.status_code == 401, forged.text
    assert forged.json()["error"]["status"] == 401
    assert live.get(f"/services/{target}/ci-events")["events"] == []
    assert live.get(f"/services/{target}/build")["builds"] == []


def test_gitlab_push(live: LiveDockyard) -> None:
    target = service(live, "from gitlab", branchRestrictions=["gl-*"])
    payload = push(live, "gl-1", {"app.py": "gl"}, "gitlab change")
    payload["project"] = {"git_http_url": payload.pop("repository")["clone_url"]}

    response = live.http.post(
        "/v1/webhooks/gitlab",
        json=payload,
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET},
    )
    decision = decision_of(live, response, "services", target)

    assert decision["built"], decision
    wrong = live.http.post(
        "/v1/webhooks/gitlab",
        json=payload,
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"},
    )
    assert wrong.status_code == 401


def test_push_builds_and_runs_a_job(live: LiveDockyard) -> None:
    body = {
        "name": "deploy on push",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "runOnSourceChange": "always",
        "deployment": {
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": "release",
            },
            "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    job = live.post("/jobs/manual", body)["id"]

    response = github(live, "push", push(live, "release", {"hello.txt": "released\n"}, "ship"))
    decision = decision_of(live, response, "jobs", job)
    assert decision["built"], decision

    build = live.wait_for(f"/jobs/{job}/build/{decision['buildId']}")
    assert build["status"] == "SUCCESS", build
    assert build["trigger"] == "webhook"
    deadline = time.monotonic() + 60
    while not (runs := live.get(f"/jobs/{job}/runs")["runs"]):
        assert time.monotonic() < deadline, "no run followed the build"
        time.sleep(0.2)
    run = live.wait_for(f"/jobs/{job}/runs/{runs[0]['id']}")
    assert run["status"] == "SUCCESS", run
    assert "released" in live.lines_of("run", run["id"])
