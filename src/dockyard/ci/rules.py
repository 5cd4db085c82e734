"""Whether a git event builds a job or build service: the build rules of the spec pages,
applied to facts read from the repository itself (changed files, the head commit's message),
never to the lists a webhook payload claims.

Each rule that skips says so in words, so users can see why a push did not build.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pathspec

# The page's default `ciIgnoreFlags`.
DEFAULT_CI_IGNORE_FLAGS = (
    "[skip ci]",
    "[ci skip]",
    "[no ci]",
    "[skip nf]",
    "[nf skip]",
    "[northflank skip]",
    "[skip northflank]",
)


@dataclass(frozen=True)
class GitEvent:
    """A push to `branch`, or a pull request (`pull_request_id`) from `branch`, whose head is
    `sha`."""

    repository: str
    branch: str
    sha: str
    before: str | None = None  # the branch's previous head (pushes), or the PR's base
    pull_request_id: int | None = None

    @property
    def is_pull_request(self) -> bool:
        return self.pull_request_id is not None


@dataclass(frozen=True)
class CommitFacts:
    changed_files: Sequence[str]
    message: str


@dataclass(frozen=True)
class Decision:
    build: bool
    reason: str


def branch_rule_matches(rule: str, branch: str) -> bool:
    """A build rule: the branch name, `*` matching any run of characters (`/` included)."""
    pattern = ".*".join(re.escape(part) for part in rule.split("*"))
    return re.fullmatch(pattern, branch) is not None


def _target_wants(kind: str, body: dict[str, Any], event: GitEvent) -> Decision:
    configuration = body.get("buildConfiguration") or {}
    if kind == "job":
        if event.is_pull_request:
            return Decision(False, "jobs build their branch, not pull requests")
        branch = ((body.get("deployment") or {}).get("vcs") or {}).get("projectBranch")
        if branch != event.branch:
            return Decision(False, f"the job builds branch {branch!r}, not {event.branch!r}")
        return Decision(True, f"branch {event.branch!r} is the job's branch")
    key = "prRestrictions" if event.is_pull_request else "branchRestrictions"
    what = "pull requests from" if event.is_pull_request else "pushes to"
    for rule in configuration.get(key) or []:
        if branch_rule_matches(rule, event.branch):
            return Decision(True, f"{key} rule {rule!r} matches {what} {event.branch!r}")
    return Decision(False, f"no {key} rule matches {what} {event.branch!r}")


def _paths_allow(configuration: dict[str, Any], files: Sequence[str]) -> Decision | None:
    rules = configuration.get("pathIgnoreRules") or []
    if not rules:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(rules)
    matching = [path for path in files if spec.match_file(path)]
    if configuration.get("isAllowList"):
        if not matching:
            return Decision(False, "no changed file matches the pathIgnoreRules allow list")
        return None
    if files and len(matching) == len(files):
        return Decision(False, "every changed file matches pathIgnoreRules")
    return None


def _message_allows(configuration: dict[str, Any], message: str) -> Decision | None:
    if not configuration.get("ciIgnoreFlagsEnabled"):
        return None
    flags = configuration.get("ciIgnoreFlags") or DEFAULT_CI_IGNORE_FLAGS
    for flag in flags:
        if flag in message:
            return Decision(False, f"the commit message contains the ignore flag {flag!r}")
    return None


def decide(kind: str, body: dict[str, Any], event: GitEvent, facts: CommitFacts) -> Decision:
    """Whether the job or build service (`kind`, whole wire body) builds on `event`."""
    if body.get("disabledCI"):
        return Decision(False, "disabledCI is set")
    wanted = _target_wants(kind, body, event)
    if not wanted.build:
        return wanted
    configuration = body.get("buildConfiguration") or {}
    skipped = _paths_allow(configuration, facts.changed_files) or _message_allows(
        configuration, facts.message
    )
    return skipped or wanted
