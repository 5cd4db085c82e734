"""The narrow interfaces the API and the worker use to reach the real world.

Long operations stream every output line of git or docker to an `on_line` callback; it is
called from the event loop and must not block (append to a buffer, write it elsewhere).
Cancelling the task that awaits an operation kills its process: nothing is left running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

LineSink = Callable[[str], None]


class ContainerEngine(Protocol):
    async def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers."""


class RegistryClient(Protocol):
    async def ping(self) -> None:
        """Raise EngineUnavailable unless the registry answers its /v2/ endpoint."""

    async def manifest_exists(self, repository: str, tag: str) -> bool:
        """Whether `repository:tag` (e.g. `project/job`, a sha) has a manifest in the registry."""


class GitClient(Protocol):
    async def resolve(self, url: str, ref: str) -> str:
        """The commit sha `ref` points at in the remote `url`; `ref` is a branch name or a full
        ref (`refs/pull/7/head`). GitError when the ref does not exist."""

    async def checkout(
        self,
        url: str,
        sha: str,
        dest: Path,
        *,
        full_clone: bool = False,
        keep_git_dir: bool = False,
        ref: str | None = None,
        on_line: LineSink | None = None,
    ) -> None:
        """The tree of commit `sha` into the empty (or absent) dir `dest`; shallow unless
        `full_clone`; `.git` removed unless `keep_git_dir`; `ref` (a PR ref) is fetched first
        when the sha may be reachable only from it. GitError when the sha does not exist."""


class ImageBuilder(Protocol):
    async def build(
        self,
        source_dir: Path,
        *,
        tag: str,
        dockerfile: str = "/Dockerfile",
        context: str = "/",
        target: str | None = None,
        build_args: Mapping[str, str] | None = None,
        secrets: Mapping[str, bytes] | None = None,
        use_cache: bool = True,
        on_line: LineSink | None = None,
    ) -> str:
        """Build the image of `dockerfile` with `context` (both relative to `source_dir`, which
        they must stay inside), tag it `tag` and return its image id. `secrets` become
        BuildKit secret mounts (`RUN --mount=type=secret,id=NAME`), never in the image.
        BuildFailed (failing step and last lines) when the build fails."""


class ImagePusher(Protocol):
    async def push(self, image: str, reference: str, *, on_line: LineSink | None = None) -> str:
        """Tag the local `image` as `reference` (`registry/project/name:sha`), push it and
        return the pushed manifest digest."""
