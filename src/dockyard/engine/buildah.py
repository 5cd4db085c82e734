"""Images built and pushed without a daemon by buildah (Debian's `buildah`): the engine behind
`buildEngine: "kaniko"`. Kaniko itself ships only as a container image; buildah does the same
job (a Dockerfile build with no Docker engine, pushed straight to a registry) from a package.

Each project has its own buildah storage under the data dir (`buildah/<projectId>`), kept
between builds: with `--layers` every step is cached there, and only that project's builds
see it. Each build runs in a cgroup of its own below the worker's (`dockyard-builds/<key>`,
runc's step cgroups nested in it), which `usage` reads. The storage driver is vfs: a layer
is a plain directory, nothing is ever mounted on the host, so a build killed mid-step
(abort, timeout, worker crash) leaves no mount behind, only working containers, which
`buildah rm --all` removes after a failed build, and before the next one when a build did
not finish (a marker file says so). A project's builds on a machine therefore take turns,
by a file lock in the storage that a killed worker's death releases; builds and pushes also
share a second one. `dockyard gc` drops a storage only while it holds both alone.

A push is skipped when dockyard's registry already has, under that tag, the image this engine
just built: its manifest names that image's config, whose digest is the image id. buildah
compresses the layers anew on each push, so the manifest digests of two pushes need not
match; the config, which names every layer by the digest of its content, is the same.

Steps run under `--isolation oci` (runc) with no network: buildah's own bridge (CNI) would
number containers in a private range that docker-up.sh's rules do not contain. With
`step_networks` (a Docker engine on this machine) they join the network namespace of a
container on the engine's default bridge instead, contained as BuildKit's steps are. With
`DOCKYARD_BUILD_NETWORK=host` they run under `--isolation chroot`, which needs no runtime (a
worker in an unprivileged pod) and shares the worker's network: unsafe, as for BuildKit.

Base images: a short name (`FROM local/busybox:1`, no registry host) is looked up first in
dockyard's registry, then on Docker Hub, as BuildKit looks in its engine's image store first.
dockyard's login goes only to the `<registry>/local/` namespace, where the operator pushes the
base images: a Dockerfile cannot pull another project's images with it. Build argument values
reach buildah through its environment, secrets through 0600 files removed after the build.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import structlog

from dockyard.engine import cgroups, process
from dockyard.engine.base import LineSink, RegistryCredentials, ResourceUsage
from dockyard.engine.buildopts import (
    build_arg_env,
    build_arg_options,
    source_paths,
    target_option,
    write_secrets,
)
from dockyard.engine.dockercli import client_config
from dockyard.engine.registry import (
    BASE_IMAGES,
    DIGEST,
    PATH_COMPONENT,
    HttpRegistry,
    held_already,
    is_loopback_address,
    names_registry,
)
from dockyard.engine.retries import REGISTRY_RETRIES, RegistryRetries
from dockyard.engine.stepnets import StepNetworks
from dockyard.errors import BuildFailed, EngineUnavailable, Invalid

BUILDAH = "buildah"
STORAGE_DRIVER = "vfs"
# Names buildah (a Go program, through containers/image and containers/storage) or the loader
# read from their own environment: as build arguments they would steer buildah.
ENV_OF_BUILDAH = re.compile(
    r"(BUILDAH_|STORAGE_|CONTAINERS_|REGISTRY_|DOCKER_|XDG_|LD_|SSL_CERT_|TMP).*"
    r"|PATH|HOME|GODEBUG|GOTRACEBACK|GOGC|GOMAXPROCS|GOMEMLIMIT",
    re.IGNORECASE,
)
PASSED_ENV = frozenset({"PATH", "SSL_CERT_FILE", "SSL_CERT_DIR"})
FROM_IMAGE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)
STEP_LINE = re.compile(r"STEP \d+/\d+: .*")
ERROR_PREFIX = "Error: "
STEP_OUTPUT_LINES = 15
FALLBACK_LINES = 10
TURN_POLL_SECONDS = 0.1
# In a storage: the lock its builds take turns by; the one its builds and pushes share and
# gc takes alone; the marker of a build under way or killed, whose containers may be left.
TURN_LOCK = "turn.lock"
USE_LOCK = "use.lock"
UNFINISHED = "unfinished-build"

log = structlog.get_logger(__name__)


class BuildahEngine:
    """Builds (`ImageBuilder`) and pushes (`ImagePusher`) in the per-project storages under
    `root`, pushing to `registry` with `login`."""

    def __init__(
        self,
        root: Path,
        registry: str,
        login: RegistryCredentials | None = None,
        *,
        network: str = "default",
        step_networks: StepNetworks | None = None,
        retries: RegistryRetries = REGISTRY_RETRIES,
    ) -> None:
        self.root = root
        self.registry = registry
        self.login = login
        self.network = network
        self.step_networks = step_networks
        self.retries = retries
        self._turns: dict[str, asyncio.Lock] = {}
        # The image id of each tag this engine built and has not pushed yet.
        self._built: dict[str, str] = {}
        self.cgroups: dict[str, cgroups.Cgroup] = {}

    async def usage(self, key: str, /) -> ResourceUsage | None:
        """What the build `key`'s process tree has used so far; None when it is not running."""
        cgroup = self.cgroups.get(key)
        return None if cgroup is None else await asyncio.to_thread(cgroup.usage)

    def storage(self, reference: str) -> Path:
        """The storage of the project whose image `reference` (`registry/project/name:tag`)
        names."""
        parts = reference.split("/")
        if len(parts) < 3 or not PATH_COMPONENT.fullmatch(parts[1]):
            raise Invalid("image", f"{reference!r} is not an image of a project")
        return self.root / parts[1]

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
        """Build `dockerfile` with `context` (relative to `source_dir`), tag the image `tag` in
        its project's storage and return its id. `registry_logins` let base images come from
        private registries. With `usage_key`, `usage(usage_key)` reads its usage while it
        builds."""
        dockerfile_path, context_dir = source_paths(source_dir, dockerfile, context)
        build_args = build_args or {}
        arg_env = build_arg_env(build_args, ENV_OF_BUILDAH, "buildah")
        storage = self.storage(tag)
        options = [
            *target_option(target),
            *build_arg_options(build_args, arg_env),
            *(f"--label={name}={value}" for name, value in (labels or {}).items()),
            *([] if use_cache else ["--no-cache"]),
        ]
        async with (
            self._turn(storage),
            _held(storage / USE_LOCK, fcntl.LOCK_SH),
            self._isolation(tag) as isolation,
        ):
            with tempfile.TemporaryDirectory(prefix="dockyard-build-") as scratch_dir:
                scratch = Path(scratch_dir)
                if (storage / UNFINISHED).exists():  # a build killed with its worker
                    await self._remove_containers(storage, scratch)
                (storage / UNFINISHED).touch()
                iidfile = scratch / "image-id"
                logins = [*registry_logins, *self._base_image_login()]
                args = [
                    "bud",
                    "--layers",
                    "--format=docker",
                    "--http-proxy=false",
                    f"--file={dockerfile_path}",
                    f"--tag={tag}",
                    f"--iidfile={iidfile}",
                    *_authfile(scratch, logins),
                    *options,
                    *isolation,
                    *write_secrets(scratch, secrets or {}),
                    "--",
                    str(context_dir),
                ]
                output = BuildahOutput(on_line)
                registries = {login.registry.split("/")[0] for login in logins}
                registries |= base_registries(dockerfile_path.read_text(errors="replace"))
                try:
                    with self._own_cgroup(usage_key) as place:
                        built = await self._run(
                            storage, scratch, args, output.feed, arg_env, registries, place
                        )
                finally:
                    if not iidfile.exists():  # failed, cancelled: its working containers go
                        await self._remove_containers(storage, scratch)
                if not built.ok:
                    raise BuildFailed(output.failure_message())
                (storage / UNFINISHED).unlink()
                image_id = self._built[tag] = iidfile.read_text().strip()
                return image_id

    async def push(self, image: str, reference: str, *, on_line: LineSink | None = None) -> str:
        """Push `image` (a tag of its project's storage) as `reference`; the pushed digest.
        A push to a registry that does not answer is tried again (`retries`)."""
        for value in (image, reference):
            if not value or value.startswith("-"):
                raise Invalid("image", f"{value!r} is not an image reference")
        storage = self.storage(reference)
        if digest := await self._already_pushed(image, reference):
            return held_already(reference, digest, on_line)
        async with _held(storage / USE_LOCK, fcntl.LOCK_SH):
            return await self._push(storage, image, reference, on_line)

    async def _push(
        self, storage: Path, image: str, reference: str, on_line: LineSink | None
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="dockyard-push-") as scratch_dir:
            scratch = Path(scratch_dir)
            digestfile = scratch / "digest"
            args = [
                "push",
                f"--digestfile={digestfile}",
                *_authfile(scratch, [self.login] if self.login else []),
                *(["--tls-verify=false"] if self._plain_http(reference) else []),
                "--",
                image,
                f"docker://{reference}",
            ]

            async def push_once() -> None:
                pushed = await self._run(storage, scratch, args, on_line)
                if not pushed.ok:
                    lines = " ".join(list(pushed.tail)[-3:]) or "no output"
                    raise EngineUnavailable(f"Push of {reference} failed: {lines}")

            await self.retries.call(push_once, EngineUnavailable, "pushing", on_line)
            digest = digestfile.read_text().strip()
        if not DIGEST.fullmatch(digest):
            raise EngineUnavailable(f"Push of {reference} reported no digest")
        return digest

    async def _already_pushed(self, image: str, reference: str) -> str | None:
        """The digest of the manifest `reference` names in dockyard's registry when it is of
        the image this engine last built as `image` (its config's digest is the image id);
        else None, and the push goes ahead (and reports any real failure)."""
        image_id = self._built.pop(image, None)
        if image_id is None or not names_registry(reference, self.registry):
            return None
        repository, _, tag = reference.split("/", 1)[1].rpartition(":")
        try:
            found = await HttpRegistry(self.registry, self.login).manifest(repository, tag)
        except (EngineUnavailable, Invalid):
            return None
        if found is None or found.config_digest != image_id:
            return None
        return found.digest

    async def untag(self, reference: str) -> None:
        """Nothing to drop: `buildah rmi` would take the image's cached layers with it, and
        only the project's own builds see its storage."""

    async def prune_cache(self, unused_for_hours: int, projects: set[str]) -> str:
        """Drop the storages of projects not in `projects` (deleted) and of those no build
        used for that long, but for those a build or push is using now."""
        if not self.root.is_dir():
            return "no buildah storage"
        oldest = time.time() - unused_for_hours * 3600
        unused = [
            storage
            for storage in self.root.iterdir()
            if storage.is_dir()
            and (storage.name not in projects or storage.stat().st_mtime < oldest)
        ]
        dropped = [
            storage for storage in unused if await asyncio.to_thread(_drop_unless_used, storage)
        ]
        in_use = len(unused) - len(dropped)
        return f"{len(dropped)} buildah storages dropped" + (f", {in_use} in use" if in_use else "")

    @contextlib.asynccontextmanager
    async def _turn(self, storage: Path) -> AsyncIterator[None]:
        """The storage to this build alone, among this worker's builds and those of the other
        workers on this machine."""
        waiting = self._turns.setdefault(str(storage), asyncio.Lock())
        async with waiting, _held(storage / TURN_LOCK, fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def _own_cgroup(self, key: str | None) -> Iterator[Callable[[int], None] | None]:
        """What places the build's process in the cgroup of `key`, made for it and removed
        after it; `usage` reads it once the process is in. None without a key, or where this
        worker may not make cgroups (not root): the build goes on unmeasured."""
        cgroup = None if key is None else _made(f"dockyard-builds/{key}")
        if key is None or cgroup is None:
            yield None
            return

        def place(pid: int) -> None:
            try:
                cgroup.add(pid)
            except OSError as exc:
                log.warning("build not measured: not placed in its cgroup", error=str(exc))
                return
            self.cgroups[key] = cgroup

        try:
            yield place
        finally:
            self.cgroups.pop(key, None)
            cgroup.remove()

    @contextlib.asynccontextmanager
    async def _isolation(self, tag: str) -> AsyncIterator[list[str]]:
        """How the steps of the build of `tag` run, and on which network."""
        if self.network == "host":
            yield ["--isolation=chroot"]
        elif self.step_networks is None:
            yield ["--isolation=oci", "--network=none"]
        else:
            async with self.step_networks.held(tag) as namespace:
                yield ["--isolation=oci", f"--network=ns:{namespace}"]

    def _plain_http(self, reference: str) -> bool:
        """Whether `reference` is in dockyard's registry on a loopback address, which speaks
        plain HTTP: buildah, unlike Docker, does not take that for granted."""
        return is_loopback_address(self.registry) and names_registry(reference, self.registry)

    def _base_image_login(self) -> list[RegistryCredentials]:
        if self.login is None:
            return []
        namespace = f"{self.registry}/{BASE_IMAGES}"
        return [RegistryCredentials(namespace, self.login.username, self.login.password)]

    def _registries_conf(self, scratch: Path, registries: Collection[str]) -> Path:
        """Short names searched in dockyard's registry, then Docker Hub; dockyard's registry
        and those of `registries` on a loopback address spoken to in plain HTTP, as Docker
        does."""
        plain = {self.registry, *registries}
        lines = [
            f'unqualified-search-registries = ["{self.registry}", "docker.io"]',
            'short-name-mode = "permissive"',
        ]
        for registry in sorted(r for r in plain if is_loopback_address(r)):
            lines += ["[[registry]]", f'location = "{registry}"', "insecure = true"]
        path = scratch / "registries.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    async def _run(
        self,
        storage: Path,
        scratch: Path,
        args: Sequence[str],
        on_line: LineSink | None,
        extra_env: Mapping[str, str] | None = None,
        registries: Collection[str] = (),
        on_spawn: Callable[[int], None] | None = None,
    ) -> process.Completed:
        storage.mkdir(parents=True, exist_ok=True)
        os.utime(storage)  # when it last served: `dockyard gc` drops storages unused long
        (storage / "tmp").mkdir(exist_ok=True)
        env = {
            **{name: value for name, value in os.environ.items() if name in PASSED_ENV},
            **(extra_env or {}),
            "HOME": str(scratch),
            "TMPDIR": str(storage / "tmp"),
            "STORAGE_DRIVER": STORAGE_DRIVER,
            "CONTAINERS_REGISTRIES_CONF": str(self._registries_conf(scratch, registries)),
        }
        argv = [
            BUILDAH,
            f"--root={storage / 'storage'}",
            f"--runroot={storage / 'run'}",
            f"--storage-driver={STORAGE_DRIVER}",
            *args,
        ]
        try:
            return await process.run(argv, env=env, on_line=on_line, on_spawn=on_spawn)
        except FileNotFoundError as exc:
            raise EngineUnavailable(f"buildah is missing (apt-get install buildah): {exc}") from exc

    async def _remove_containers(self, storage: Path, scratch: Path) -> None:
        """The working containers a build left (killed or failed mid-step), and then its
        marker; shielded, so an abort's cancellation cannot cut it short."""

        async def remove() -> None:
            if (await self._run(storage, scratch, ["rm", "--all"], None)).ok:
                (storage / UNFINISHED).unlink(missing_ok=True)

        await asyncio.shield(remove())


@contextlib.asynccontextmanager
async def _held(path: Path, mode: int) -> AsyncIterator[None]:
    """The flock `mode` on the lock file `path` of a storage, made with its storage if gone.
    The lock is polled, so an abort cuts the wait short. A storage gc dropped while this
    waited (lock file and all) is made anew, and its new lock file taken."""
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as lock:
            while not _flock(lock, mode):
                await asyncio.sleep(TURN_POLL_SECONDS)
            if _is_current(lock, path):
                yield
                return


def _flock(lock: TextIO, mode: int) -> bool:
    try:
        fcntl.flock(lock, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_current(lock: TextIO, path: Path) -> bool:
    """Whether the open lock file is still the one at `path` (its storage not dropped)."""
    try:
        return os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino
    except FileNotFoundError:
        return False


def _drop_unless_used(storage: Path) -> bool:
    """Remove `storage` unless a build has its turn or a build or push its shared lock;
    whether it went. Both locks are held while it goes: a build or push that waited for one
    then finds its lock file gone and starts on a new storage."""
    with (storage / TURN_LOCK).open("a") as turn, (storage / USE_LOCK).open("a") as use:
        if not (_flock(turn, fcntl.LOCK_EX) and _flock(use, fcntl.LOCK_EX)):
            return False
        shutil.rmtree(storage, ignore_errors=True)
    return True


def _made(name: str) -> cgroups.Cgroup | None:
    """The cgroup `name` below the worker's, made (None where it may not be)."""
    try:
        cgroup = cgroups.own(name)
        cgroup.create()
    except OSError as exc:
        log.warning("build not measured: no cgroup of its own", error=str(exc))
        return None
    return cgroup


def base_registries(dockerfile: str) -> set[str]:
    """The registry hosts the `FROM` lines of a Dockerfile name (`host[:port]/...`)."""
    found = set()
    for image in FROM_IMAGE.findall(dockerfile):
        host, slash, _ = image.partition("/")
        if slash and ("." in host or ":" in host or host == "localhost"):
            found.add(host)
    return found


def _authfile(scratch: Path, logins: Sequence[RegistryCredentials]) -> list[str]:
    """`--authfile` of a 0600 file holding only these logins (the docker client format,
    which containers/image reads too; a key may be a `registry/namespace`)."""
    config_dir = client_config(scratch, logins)
    return [] if config_dir is None else [f"--authfile={config_dir / 'config.json'}"]


class BuildahOutput:
    """Follows `buildah bud`'s output: forwards every line, remembers the step it is at, that
    step's last output lines and buildah's error."""

    def __init__(self, on_line: LineSink | None) -> None:
        self.on_line = on_line
        self.step: str | None = None
        self.step_output: deque[str] = deque(maxlen=STEP_OUTPUT_LINES)
        self.tail: deque[str] = deque(maxlen=FALLBACK_LINES)
        self.error: str | None = None

    def feed(self, line: str) -> None:
        self.tail.append(line)
        if self.on_line is not None:
            self.on_line(line)
        if STEP_LINE.fullmatch(line):
            self.step = line.partition(": ")[2]
            self.step_output.clear()
        elif line.startswith(ERROR_PREFIX):
            self.error = line.removeprefix(ERROR_PREFIX)
        else:
            self.step_output.append(line)

    def failure_message(self) -> str:
        if self.step is None or self.error is None:
            return "\n".join(["Build failed:", *self.tail])
        lines = [f"Build failed at step {self.step}: {self.error}"]
        if self.step_output:
            lines += ["Last output of that step:", *self.step_output]
        return "\n".join(lines)
