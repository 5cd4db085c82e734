"""Local bare git repositories with real commits, reachable as `https://git.example.test/...`
through git's insteadOf (`GitRepo.insteadof` is the `DOCKYARD_GIT_INSTEADOF` value)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOST_URL = "https://git.example.test/"
GIT_ENV = {
    **{name: value for name, value in os.environ.items() if not name.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Dockyard Test",
    "GIT_AUTHOR_EMAIL": "test@dockyard.test",
    "GIT_COMMITTER_NAME": "Dockyard Test",
    "GIT_COMMITTER_EMAIL": "test@dockyard.test",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


class GitRepo:
    """A bare repository `<root>/<path>.git`, written through a work tree under `<root>/work`."""

    def __init__(self, root: Path, path: str = "acme/app") -> None:
        self.root = root
        self.path = path
        self.bare = root / f"{path}.git"
        self.work = root / "work" / path
        self.bare.mkdir(parents=True)
        self.work.mkdir(parents=True)
        git(self.bare, "init", "--quiet", "--bare")
        git(self.work, "init", "--quiet", "--initial-branch=main")

    @property
    def url(self) -> str:
        return f"{HOST_URL}{self.path}"

    @property
    def insteadof(self) -> dict[str, str]:
        return {HOST_URL: f"{self.root}/"}

    def commit(
        self,
        files: Mapping[str, str],
        message: str = "change",
        *,
        branch: str = "main",
        start: str = "main",
        ref: str | None = None,
    ) -> str:
        """Commit `files` (path -> content) on `branch` of the work tree (a new branch starts
        at `start`) and publish it in the bare repo as `ref` (default: the branch). Returns the
        new commit's sha."""
        self._switch(branch, start)
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        sha = git(self.work, "rev-parse", "HEAD")
        self.set_ref(ref or f"refs/heads/{branch}", sha)
        return sha

    def head_of(self, branch: str) -> str | None:
        """The sha `branch` points at in the bare repository, if it exists there."""
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.bare,
            env=GIT_ENV,
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() or None

    def set_ref(self, ref: str, sha: str) -> None:
        git(self.work, "push", "--quiet", "--force", str(self.bare), f"{sha}:{ref}")

    def _switch(self, branch: str, start: str) -> None:
        if git(self.work, "symbolic-ref", "--short", "HEAD") == branch:
            return
        exists = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.work,
            env=GIT_ENV,
            capture_output=True,
        )
        if exists.returncode == 0:
            git(self.work, "checkout", "--quiet", branch)
        else:
            git(self.work, "checkout", "--quiet", "-b", branch, start)


@dataclass
class SampleRepo:
    """`acme/app`: two commits on main, a feature branch, a GitHub PR #7 and a GitLab MR #3
    whose commits are on no branch."""

    repo: GitRepo
    first: str
    main: str
    feature: str
    pull_7: str
    merge_request_3: str


SAMPLE_DOCKERFILE = "FROM local/busybox:1\nCOPY . /src/\nCOPY hello.txt /hello.txt\n"


def make_sample_repo(root: Path) -> SampleRepo:
    repo = GitRepo(root)
    first = repo.commit(
        {"README.md": "first\n", "Dockerfile": SAMPLE_DOCKERFILE, "hello.txt": "hello v1\n"},
        "first",
    )
    main = repo.commit({"hello.txt": "hello v2\n"}, "second")
    feature = repo.commit({"feature.txt": "feature\n"}, "feature", branch="feature")
    pull_7 = repo.commit({"pr.txt": "pull 7\n"}, "pr 7", branch="pr-7", ref="refs/pull/7/head")
    merge_request_3 = repo.commit(
        {"mr.txt": "merge request 3\n"}, "mr 3", branch="mr-3", ref="refs/merge-requests/3/head"
    )
    return SampleRepo(repo, first, main, feature, pull_7, merge_request_3)
