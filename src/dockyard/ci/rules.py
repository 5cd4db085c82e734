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
from pydantic import AliasPath, BaseModel, ConfigDict, Field

from dockyard.jobs.schemas import ManualJobSpec, VcsDeployment
from dockyard.services.schemas import BuildServiceSpec, ServiceBuildConfiguration
from dockyard.targets.schemas import DEFAULT_CI_IGNORE_FLAGS, BuildConfiguration


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


class BuildRules(BaseModel):
    """What the build rules read of a job or build service: made from its spec (`of_job`,
    `of_service`), or parsed from those parts of its wire body."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    disabled_ci: bool = Field(False, validation_alias="disabledCI")
    # A job's: the branch it builds (`deployment.vcs.projectBranch`).
    branch: str | None = Field(
        None, validation_alias=AliasPath("deployment", "vcs", "projectBranch")
    )
    configuration: ServiceBuildConfiguration | BuildConfiguration = Field(
        default_factory=BuildConfiguration, validation_alias="buildConfiguration"
    )

    @classmethod
    def of_job(cls, spec: ManualJobSpec) -> BuildRules:
        vcs = spec.deployment.vcs if isinstance(spec.deployment, VcsDeployment) else None
        return cls(
            disabled_ci=bool(spec.disabled_ci),
            branch=vcs.project_branch if vcs else None,
            configuration=spec.build_configuration or BuildConfiguration(),
        )

    @classmethod
    def of_service(cls, spec: BuildServiceSpec) -> BuildRules:
        return cls(
            disabled_ci=bool(spec.disabled_ci),
            configuration=spec.build_configuration or ServiceBuildConfiguration(),
        )


def branch_rule_matches(rule: str, branch: str) -> bool:
    """A build rule: the branch name, `*` matching any run of characters (`/` included)."""
    pattern = ".*".join(re.escape(part) for part in rule.split("*"))
    return re.fullmatch(pattern, branch) is not None


def _target_wants(kind: str, rules: BuildRules, event: GitEvent) -> Decision:
    if kind == "job":
        if event.is_pull_request:
            return Decision(False, "jobs build their branch, not pull requests")
        branch = rules.branch
        if branch != event.branch:
            return Decision(False, f"the job builds branch {branch!r}, not {event.branch!r}")
        return Decision(True, f"branch {event.branch!r} is the job's branch")
    key = "prRestrictions" if event.is_pull_request else "branchRestrictions"
    what = "pull requests from" if event.is_pull_request else "pushes to"
    configuration = rules.configuration
    restrictions = (
        (
            configuration.pr_restrictions
            if event.is_pull_request
            else configuration.branch_restrictions
        )
        if isinstance(configuration, ServiceBuildConfiguration)
        else None
    )
    for rule in restrictions or []:
        if branch_rule_matches(rule, event.branch):
            return Decision(True, f"{key} rule {rule!r} matches {what} {event.branch!r}")
    return Decision(False, f"no {key} rule matches {what} {event.branch!r}")


def _paths_allow(configuration: BuildConfiguration, files: Sequence[str]) -> Decision | None:
    rules = configuration.path_ignore_rules or []
    if not rules:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(rules)
    matching = [path for path in files if spec.match_file(path)]
    if configuration.is_allow_list:
        if not matching:
            return Decision(False, "no changed file matches the pathIgnoreRules allow list")
        return None
    if files and len(matching) == len(files):
        return Decision(False, "every changed file matches pathIgnoreRules")
    return None


def _message_allows(configuration: BuildConfiguration, message: str) -> Decision | None:
    if not configuration.ci_ignore_flags_enabled:
        return None
    flags = configuration.ci_ignore_flags or DEFAULT_CI_IGNORE_FLAGS
    for flag in flags:
        if flag in message:
            return Decision(False, f"the commit message contains the ignore flag {flag!r}")
    return None


def decide(
    kind: str, target: BuildRules | dict[str, Any], event: GitEvent, facts: CommitFacts
) -> Decision:
    """Whether the job or build service (`kind`: its rules, or its wire body) builds on
    `event`."""
    rules = target if isinstance(target, BuildRules) else BuildRules.model_validate(target)
    if rules.disabled_ci:
        return Decision(False, "disabledCI is set")
    wanted = _target_wants(kind, rules, event)
    if not wanted.build:
        return wanted
    configuration = rules.configuration
    skipped = _paths_allow(configuration, facts.changed_files) or _message_allows(
        configuration, facts.message
    )
    return skipped or wanted
