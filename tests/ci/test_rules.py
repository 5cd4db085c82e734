"""The build rules, decided on facts (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.ci.rules import (
    DEFAULT_CI_IGNORE_FLAGS,
    CommitFacts,
    GitEvent,
    branch_rule_matches,
    decide,
)

PUSH = GitEvent("git.example.test/acme/app", "feature/login", "a" * 40)
PULL_REQUEST = GitEvent("git.example.test/acme/app", "feature/login", "b" * 40, pull_request_id=7)
CODE_CHANGE = CommitFacts(["src/app.py", "README.md"], "add login")


def service(**configuration: Any) -> dict[str, Any]:
    return {"buildConfiguration": configuration}


@pytest.mark.parametrize(
    ("rule", "branch", "matches"),
    [
        ("main", "main", True),
        ("main", "main2", False),
        ("feature/*", "feature/login", True),
        ("feature/*", "feature/a/b", True),
        ("feature/*", "features/x", False),
        ("*", "anything/at/all", True),
        ("release-*-rc", "release-1.2-rc", True),
        ("release-*-rc", "release-1.2", False),
        ("v1.0", "v1x0", False),
    ],
)
def test_branch_rules(rule: str, branch: str, matches: bool) -> None:
    assert branch_rule_matches(rule, branch) is matches


def test_service_branch_restrictions() -> None:
    assert decide("service", service(branchRestrictions=["feature/*"]), PUSH, CODE_CHANGE).build
    missed = decide("service", service(branchRestrictions=["main"]), PUSH, CODE_CHANGE)
    assert not missed.build and "branchRestrictions" in missed.reason
    assert not decide("service", service(), PUSH, CODE_CHANGE).build


def test_pull_request_rules_match_the_source_branch() -> None:
    body = service(branchRestrictions=["feature/*"], prRestrictions=["feature/*"])
    assert decide("service", body, PULL_REQUEST, CODE_CHANGE).build
    only_branches = service(branchRestrictions=["feature/*"])
    assert not decide("service", only_branches, PULL_REQUEST, CODE_CHANGE).build


def test_jobs_build_their_branch_only() -> None:
    job = {"deployment": {"vcs": {"projectBranch": "feature/login"}}}
    assert decide("job", job, PUSH, CODE_CHANGE).build
    assert not decide("job", job, PULL_REQUEST, CODE_CHANGE).build
    other = {"deployment": {"vcs": {"projectBranch": "main"}}}
    assert not decide("job", other, PUSH, CODE_CHANGE).build


def test_disabled_ci_builds_nothing() -> None:
    body = service(branchRestrictions=["*"]) | {"disabledCI": True}
    decision = decide("service", body, PUSH, CODE_CHANGE)
    assert not decision.build and decision.reason == "disabledCI is set"


def test_path_ignore_rules() -> None:
    docs_only = CommitFacts(["README.md", "docs/guide.md"], "docs")
    body = service(branchRestrictions=["*"], pathIgnoreRules=["*.md", "docs/"])
    assert not decide("service", body, PUSH, docs_only).build
    assert decide("service", body, PUSH, CODE_CHANGE).build


def test_allow_list_inverts_the_rules() -> None:
    body = service(branchRestrictions=["*"], pathIgnoreRules=["src/**"], isAllowList=True)
    assert decide("service", body, PUSH, CODE_CHANGE).build
    assert not decide("service", body, PUSH, CommitFacts(["README.md"], "docs")).build


@pytest.mark.parametrize("flag", DEFAULT_CI_IGNORE_FLAGS)
def test_each_default_ci_ignore_flag_skips(flag: str) -> None:
    body = service(branchRestrictions=["*"], ciIgnoreFlagsEnabled=True)
    decision = decide("service", body, PUSH, CommitFacts(["a.py"], f"wip {flag} please"))
    assert not decision.build and flag in decision.reason


def test_ci_ignore_flags_need_enabling_and_can_be_replaced() -> None:
    message = CommitFacts(["a.py"], "wip [skip ci]")
    assert decide("service", service(branchRestrictions=["*"]), PUSH, message).build
    custom = service(
        branchRestrictions=["*"], ciIgnoreFlagsEnabled=True, ciIgnoreFlags=["#nobuild"]
    )
    assert decide("service", custom, PUSH, message).build
    assert not decide("service", custom, PUSH, CommitFacts(["a.py"], "x #nobuild")).build
