"""Images built by BuildKit through `docker build` (Debian's CLI, `DOCKER_BUILDKIT=1`).

Build steps run on BuildKit's `default` network, the engine's default bridge, unless the
worker names another (`none`, or `host`: unsafe, a step then reaches the machine's loopback
services). Debian's docker 20.10 refuses any other network with BuildKit ("network mode ...
not supported by buildkit"), so a project's own network is not one of them. Secrets reach
the build only as BuildKit secret mounts, from 0600 files in a private temp dir outside the
source dir that is removed afterwards; the caller masks their values in the streamed output
(engine/ cannot import the masking of logs/). Build argument values reach the CLI through its
environment (`--build-arg NAME` alone), never its command line, which any local user can read.

Usage: the engine's BuildKit ignores `--cgroup-parent` (each step's cgroup is
`/docker/buildkit/<step>`, whatever the flag says), and no step tells which build it is of,
so each build adds a host name to its steps' `/etc/hosts` (`--add-host`), which tells its
step cgroups from those of other images' builds on the engine (`StepsOfBuild`). The name is
the image repository's, not the build's: extra hosts are part of a `RUN` step's cache key,
and a name of each build's own would make every build run every step again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import re
import tempfile
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from dockyard.engine.base import LineSink, RegistryCredentials, ResourceUsage
from dockyard.engine.buildopts import (
    build_arg_env,
    build_arg_options,
    source_paths,
    target_option,
    write_secrets,
)
from dockyard.engine.cgroups import Cgroup
from dockyard.engine.dockercli import DockerCli, client_config
from dockyard.errors import BuildFailed, EngineUnavailable

# Names the docker CLI (a Go program) or the loader read from their own environment: as build
# arguments they would steer the CLI (another engine, a config with credential helpers...).
ENV_OF_THE_CLI = re.compile(
    r"(DOCKER_|BUILDKIT_|BUILDX_|LD_|SSL_CERT_).*"
    r"|PATH|HOME|TMPDIR|GODEBUG|GOTRACEBACK|GOGC|GOMAXPROCS|GOMEMLIMIT",
    re.IGNORECASE,
)
STEP_OUTPUT_LINES = 15
FALLBACK_LINES = 10
# `--progress plain` prints `#<vertex> <text>`: the first line of a vertex is its name
# (`[2/3] RUN make`), then `<seconds> <output>` lines, and `ERROR: <why>` when it fails.
VERTEX_LINE = re.compile(r"#(\d+) (.*)")
TIMED_OUTPUT = re.compile(r"\d+\.\d+ (.*)")
ERROR_PREFIX = "ERROR: "
# Where dockerd (cgroupfs driver, no cgroup parent of its own) puts BuildKit's step cgroups.
STEP_CGROUPS = Cgroup("/docker/buildkit")
# The host name BuildKit gives its steps, in their /etc/hosts.
SANDBOX_HOST = "buildkitsandbox"


class BuildkitBuilder:
    def __init__(self, docker_host: str, network: str = "default") -> None:
        self.docker = DockerCli(docker_host)
        self.network = network
        self.steps: dict[str, StepsOfBuild] = {}

    async def usage(self, key: str, /) -> ResourceUsage | None:
        """What the steps of the build `key` have used so far; None before its first step
        runs (or once it has ended)."""
        steps = self.steps.get(key)
        return None if steps is None else await asyncio.to_thread(steps.usage)

    async def prune_cache(self, unused_for_hours: int) -> str:
        """Drop BuildKit cache records unused for that long; the engine's summary line."""
        pruned = await self.docker.run(
            ["builder", "prune", "--force", "--filter", f"until={unused_for_hours}h"]
        )
        if not pruned.ok:
            raise EngineUnavailable(f"Pruning the build cache failed: {' '.join(pruned.tail)}")
        return pruned.tail[-1] if pruned.tail else "nothing to prune"

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
        labels: Mapping[str, str] | None = None,
        registry_logins: Sequence[RegistryCredentials] = (),
        on_line: LineSink | None = None,
        usage_key: str | None = None,
    ) -> str:
        """Build `dockerfile` with `context`, both paths relative to `source_dir` (a leading
        `/` is its root), tag the image `tag` and return its id. `registry_logins` let base
        images come from private registries. With `usage_key`, `usage(usage_key)` reads the
        steps' usage while it builds."""
        dockerfile_path, context_dir = source_paths(source_dir, dockerfile, context)
        build_args = build_args or {}
        arg_env = build_arg_env(build_args, ENV_OF_THE_CLI, "the docker CLI")
        options = [
            *target_option(target),
            *build_arg_options(build_args, arg_env),
            *(f"--label={name}={value}" for name, value in (labels or {}).items()),
        ]
        if usage_key is not None:
            steps = self.steps[usage_key] = StepsOfBuild(steps_marker(tag))
            options.append(f"--add-host={steps.marker}:127.0.0.1")
        try:
            with tempfile.TemporaryDirectory(prefix="dockyard-build-") as scratch:
                iidfile = Path(scratch) / "image-id"
                args = [
                    "build",
                    f"--network={self.network}",
                    "--progress=plain",
                    f"--file={dockerfile_path}",
                    f"--tag={tag}",
                    f"--iidfile={iidfile}",
                    *options,
                    *write_secrets(Path(scratch), secrets or {}),
                    *([] if use_cache else ["--no-cache"]),
                    "--",
                    str(context_dir),
                ]
                output = BuildOutput(on_line)
                config_dir = client_config(Path(scratch), registry_logins)
                result = await self.docker.run(
                    args, on_line=output.feed, config_dir=config_dir, extra_env=arg_env
                )
                if not result.ok:
                    raise BuildFailed(output.failure_message())
                return iidfile.read_text().strip()
        finally:
            if usage_key is not None:
                del self.steps[usage_key]


class BuildOutput:
    """Follows the plain progress output: forwards every line, remembers the failing step and
    its last output lines. The caller masks secrets in the lines and in the failure message."""

    def __init__(self, on_line: LineSink | None) -> None:
        self.on_line = on_line
        self.step_names: dict[str, str] = {}
        self.step_output: dict[str, deque[str]] = {}
        self.tail: deque[str] = deque(maxlen=FALLBACK_LINES)
        self.failure: tuple[str, str] | None = None

    def feed(self, line: str) -> None:
        self.tail.append(line)
        if self.on_line is not None:
            self.on_line(line)
        if match := VERTEX_LINE.fullmatch(line):
            self._follow_step(*match.groups())

    def _follow_step(self, vertex: str, text: str) -> None:
        if vertex not in self.step_names:
            self.step_names[vertex] = text
            self.step_output[vertex] = deque(maxlen=STEP_OUTPUT_LINES)
        elif text.startswith(ERROR_PREFIX):
            self.failure = self.failure or (vertex, text.removeprefix(ERROR_PREFIX))
        elif output := TIMED_OUTPUT.fullmatch(text):
            self.step_output[vertex].append(output[1])

    def failure_message(self) -> str:
        if self.failure is None:
            return "\n".join(["Build failed:", *self.tail])
        vertex, error = self.failure
        lines = [f"Build failed at step {self.step_names[vertex]}: {error}"]
        if self.step_output[vertex]:
            lines += ["Last output of that step:", *self.step_output[vertex]]
        return "\n".join(lines)


def steps_marker(tag: str) -> str:
    """The host name the steps of builds of `tag`'s repository carry: the same from one build
    to the next, so that the steps' cache keys do not change."""
    repository, _, version = tag.rpartition(":")
    if not repository or "/" in version:  # no tag, only a registry's port
        repository = tag
    return f"dockyard-steps-{hashlib.sha256(repository.encode()).hexdigest()[:16]}"


class StepsOfBuild:
    """The step cgroups of one build, told from other builds' by the host name `marker` in
    their `/etc/hosts`, and the last usage read of each: a step's cgroup goes when it ends,
    its CPU, disk and network counters (each step has a network namespace of its own) stay in
    the build's sums. Memory: the steps running now (in
    use), the most one step used (peak; steps of parallel stages are not summed there)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.ours: dict[str, ResourceUsage] = {}
        self.running: set[str] = set()
        self.others: set[str] = set()

    def usage(self) -> ResourceUsage | None:
        self.running = set()
        for step in STEP_CGROUPS.children():
            if step not in self.others and (step in self.ours or self._is_ours(step)):
                with contextlib.suppress(EngineUnavailable):  # it has just ended
                    self.ours[step] = STEP_CGROUPS.child(step).usage()
                    self.running.add(step)
        return self._summed()

    def _is_ours(self, step: str) -> bool:
        """Whether the step belongs to this build; False, and asked again at the next read,
        until its process runs in its sandbox (runc starts it in the host's root)."""
        pids = STEP_CGROUPS.child(step).pids()
        if not pids:
            return False
        try:
            names = Path(f"/proc/{pids[0]}/root/etc/hosts").read_text().split()
        except OSError:
            return False
        if SANDBOX_HOST not in names:
            return False
        if self.marker not in names:
            self.others.add(step)
        return self.marker in names

    def _summed(self) -> ResourceUsage | None:
        """None while no step of it runs: the next sample spreads the CPU over the gap."""
        if not self.running:
            return None
        used = self.ours.values()
        return dataclasses.replace(
            max(used, key=lambda u: u.at),
            cpu_seconds=sum(u.cpu_seconds for u in used),
            memory_bytes=sum(self.ours[step].memory_bytes for step in self.running),
            memory_peak_bytes=max(u.memory_peak_bytes or u.memory_bytes for u in used),
            disk_read_bytes=sum(u.disk_read_bytes for u in used),
            disk_write_bytes=sum(u.disk_write_bytes for u in used),
            network_rx_bytes=sum(u.network_rx_bytes for u in used),
            network_tx_bytes=sum(u.network_tx_bytes for u in used),
        )
