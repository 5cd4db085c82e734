"""The build pipeline a worker runs for one claimed build: fetch the source (git or bundle),
write the build files, build with BuildKit or buildah, push to the registry. Each phase is a status
(CLONING, BUILDING, UPLOADING); every output line is stored, secrets redacted."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from dockyard.builds import repository
from dockyard.builds.images import OWNER_LABEL, build_dir, built_image, source_cache
from dockyard.builds.models import Build
from dockyard.builds.recipe import BuildRecipe, BuildSecrets, build_recipe
from dockyard.builds.service import open_secrets
from dockyard.builds.status import BuildStatus, is_terminal, move_build
from dockyard.config import Settings
from dockyard.db.session import Database, restored_on_failure, retry_while_unavailable
from dockyard.engine.base import GitClient, ImageBuilder, ImagePusher, RegistryCredentials
from dockyard.engine.bundles import fetch_bundle
from dockyard.engine.git import GitAuthFailed, pull_request_ref
from dockyard.engine.paths import inside
from dockyard.errors import BuildFailed, DockyardError
from dockyard.logs.masking import masker
from dockyard.logs.service import LogWriter, file_texts
from dockyard.metrics.instruments import BUILD_PHASE_SECONDS
from dockyard.registries.service import registry_logins
from dockyard.secrets.crypto import SecretBox
from dockyard.targets.schemas import SecretFile
from dockyard.vcslinks.service import Fetcher, fetcher_for
from dockyard.worker.sampling import UsageSampler, sampling

log = structlog.get_logger(__name__)

MAX_MESSAGE = 4000
TEMPLATE = re.compile(r"\$\{([A-Za-z0-9_./-]+)\}")
TEXT_ENCODINGS = frozenset({"utf-8", "utf8", "ascii", "latin1"})
MISSING_ENGINES = {
    "buildpack": "buildpack builds need the 'pack' CLI and a builder image, which this dockyard "
    "does not have; use buildSettings.dockerfile (BuildKit) instead",
}
# The phases' names in dockyard_build_phase_seconds.
PHASE_NAMES = {
    BuildStatus.CLONING: "clone",
    BuildStatus.BUILDING: "build",
    BuildStatus.UPLOADING: "push",
}


class BuildTakenOver(Exception):
    """The build's row moved without this worker (aborted while queued, taken over after a
    lost heartbeat, or deleted): stop driving it."""


@dataclass(frozen=True)
class ImageEngine:
    builder: ImageBuilder
    pusher: ImagePusher


@dataclass(frozen=True)
class BuildEngines:
    git: GitClient
    # The Dockerfile engines this worker offers, by their `buildEngine` name.
    images: Mapping[str, ImageEngine]

    def image_engine(self, name: str) -> ImageEngine:
        if name not in self.images:
            raise BuildFailed(f"this worker does not offer the {name} build engine")
        return self.images[name]


def secret_values(secrets: BuildSecrets) -> list[str]:
    files = [*secrets.build_files.values(), *secrets.docker_secret_mounts.values()]
    return [*secrets.build_arguments.values(), *file_texts(file.data for file in files)]


def file_bytes(file: SecretFile, arguments: dict[str, str]) -> bytes:
    """The bytes of a build file: base64-decoded; text has `${NAME}` replaced by the build
    argument NAME (unknown names stay as written)."""
    data = base64.b64decode(file.data)
    encoding = file.encoding
    if encoding not in TEXT_ENCODINGS:
        return data
    text = data.decode(encoding)
    return TEMPLATE.sub(lambda m: arguments.get(m[1], m[0]), text).encode(encoding)


def write_build_files(source: Path, recipe: BuildRecipe, secrets: BuildSecrets) -> None:
    """Each build file at its absolute path under the build context (`dockerWorkDir`). The
    Dockerfile path, the context and every file's target are resolved (symlinks of the source
    followed) and checked inside the source before the first file is written."""
    inside(source, recipe.dockerfile_path, "dockerFilePath")
    context = inside(source, recipe.work_dir, "dockerWorkDir")
    targets = {
        path: inside(context, path, "buildFiles", "the build context (dockerWorkDir)")
        for path in secrets.build_files
    }
    for path, target in targets.items():
        if target == context:
            raise BuildFailed(f"buildFiles {path} names the build context itself, not a file")
    for path, target in targets.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file_bytes(secrets.build_files[path], secrets.build_arguments))
        except OSError as exc:
            raise BuildFailed(f"buildFiles {path} cannot be written: {exc.strerror}") from None


def directory_megabytes(root: Path) -> float:
    """The size of the files in `root`; symlinks are not followed (nor counted)."""
    total = sum(
        entry.lstat().st_size
        for entry in root.rglob("*")
        if not entry.is_symlink() and entry.is_file()
    )
    return total / 1024 / 1024


class ImageLocks:
    """One build at a time per image reference on a worker. Concurrent builds of one commit
    of one target would build and push the same tag at once: BuildKit shares their identical
    steps between the two sessions (one ending can fail the other's shared step) and both
    export and push one tag. Waiting instead costs little: the second finds every step
    cached and every layer pushed."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, reference: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(reference, asyncio.Lock())
        self._holders[reference] += 1
        try:
            async with lock:
                yield
        finally:
            self._holders[reference] -= 1
            if not self._holders[reference]:
                del self._holders[reference], self._locks[reference]

    def busy(self, reference: str) -> bool:
        return reference in self._locks and self._locks[reference].locked()


class BuildRunner:
    """Drives one build from PENDING to a concluded status."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        engines: BuildEngines,
        build: Build,
        image_locks: ImageLocks,
        on_success: Callable[[Build], Awaitable[None]] | None = None,
    ) -> None:
        self.image_locks = image_locks
        self.on_success = on_success
        self.settings = settings
        self.database = database
        self.box = box
        self.engines = engines
        self.build = build
        self.aborting = False
        self.workdir = build_dir(settings, build.id)
        self.redact = masker([])
        self.logs: LogWriter | None = None

    async def move(self, status: BuildStatus, **changes: Any) -> None:
        if is_terminal(status):
            # The scratch dir goes before the build concludes, not after: a worker killed in
            # between leaves an in-flight build, which recovery cleans up, never the dir of
            # a concluded one, which nothing would.
            await asyncio.to_thread(shutil.rmtree, self.workdir, True)
        # Tried again while the database is away or its disk full; a try whose commit went
        # through but whose answer was lost makes the next one find the build moved: taken
        # over, as it looks.
        moved = await retry_while_unavailable(
            f"build {self.build.id} {status.value}", lambda: self._store_move(status, changes)
        )
        if not moved:
            raise BuildTakenOver(self.build.id)

    async def _store_move(self, status: BuildStatus, changes: dict[str, Any]) -> bool:
        if is_terminal(status) and self.logs is not None:
            # On every try: once the disk has space, the marker of the lines it dropped.
            await self.logs.flush()
        with restored_on_failure(self.build):
            async with self.database.sessions() as session:
                moved = await move_build(
                    session, self.build, status, held_by=self.build.claimed_by, **changes
                )
                await session.commit()
        return moved

    def let_go(self) -> None:
        if self.logs is not None:
            self.logs.drop_rest()

    @contextlib.asynccontextmanager
    async def entering(self, phase: BuildStatus) -> AsyncIterator[None]:
        """Record the move to `phase` while its work already starts (a round trip less per
        phase); the phase ends only once the move is recorded, so a build taken over or
        aborted meanwhile stops there. The move is awaited, never cancelled, even when the
        work fails: a status write cut off mid-transaction would leave the row unknown. The
        phase's work, when it completes, is timed (dockyard_build_phase_seconds)."""
        moving = asyncio.ensure_future(self.move(phase))
        started = time.monotonic()
        try:
            yield
            BUILD_PHASE_SECONDS.labels(PHASE_NAMES[phase]).observe(time.monotonic() - started)
        finally:
            await asyncio.shield(moving)

    async def record(self, **changes: Any) -> None:
        """Non-status facts learned on the way (the resolved sha)."""

        async def store() -> None:
            async with self.database.sessions() as session:
                await repository.set_fields(session, self.build, changes)
                await session.commit()

        await retry_while_unavailable(f"build {self.build.id} {', '.join(changes)}", store)
        for name, value in changes.items():
            setattr(self.build, name, value)

    async def run(self) -> None:
        secrets = open_secrets(self.box, self.build)
        self.redact = masker(secret_values(secrets))
        logs = self.logs = LogWriter(
            self.database, "build", self.build.id, self.build.id, self.redact
        )
        flusher = asyncio.create_task(logs.run_flusher())
        try:
            async with asyncio.timeout(self.settings.build_timeout_seconds):
                await self._pipeline(secrets, logs)
        except BuildTakenOver:
            log.info("build taken over elsewhere", build=self.build.id)
        except asyncio.CancelledError:
            if not self.aborting:
                raise
            logs.write("Build aborted")
            await self._conclude(BuildStatus.ABORTED, "Aborted by request")
        except TimeoutError:
            await self._conclude(
                BuildStatus.FAILURE,
                f"Build took longer than {self.settings.build_timeout_seconds:.0f} s",
            )
        except DockyardError as exc:
            logs.write(f"Error: {exc.message}")
            await self._conclude(BuildStatus.FAILURE, f"{self.build.status}: {exc.message}")
        except Exception as exc:
            log.exception("build crashed", build=self.build.id)
            await self._conclude(BuildStatus.FAILURE, f"{self.build.status}: internal error: {exc}")
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await asyncio.to_thread(shutil.rmtree, self.workdir, True)

    async def _conclude(self, status: BuildStatus, message: str) -> None:
        with contextlib.suppress(BuildTakenOver):
            await asyncio.shield(self.move(status, message=self.redact(message)[:MAX_MESSAGE]))

    async def _pipeline(self, secrets: BuildSecrets, logs: LogWriter) -> None:
        recipe = build_recipe(self.build)
        if recipe.engine in MISSING_ENGINES:
            raise BuildFailed(MISSING_ENGINES[recipe.engine])
        source = self.workdir / "source"
        async with self.entering(BuildStatus.CLONING):
            await self._fetch_source(recipe, secrets, source, logs)
            self._check_storage(recipe, source)
            write_build_files(source, recipe, secrets)

        reference = built_image(self.settings, self.build)
        if self.image_locks.busy(reference):
            logs.write(f"Waiting for the build of the same commit in progress ({reference})")
        async with self.image_locks.hold(reference):
            await self._build_and_push(reference, secrets, recipe, source, logs)
        if self.on_success is not None:
            await self.on_success(self.build)

    async def _build_and_push(
        self,
        reference: str,
        secrets: BuildSecrets,
        recipe: BuildRecipe,
        source: Path,
        logs: LogWriter,
    ) -> None:
        engine = self.engines.image_engine(recipe.engine)
        async with self.entering(BuildStatus.BUILDING):
            logins = await self._registry_logins(recipe)
            if logins:  # their passwords are redacted too, should any output show one
                passwords = [login.password for login in logins]
                self.redact = logs.redact = masker([*secret_values(secrets), *passwords])
            sampler = UsageSampler(
                self.database,
                engine.builder,
                "build",
                self.build.id,
                interval=self.settings.usage_sample_seconds,
                max_samples=self.settings.usage_max_samples,
            )
            usage_key = self.build.id if sampler.interval else None
            async with sampling(sampler, self.build.id, recipe.engine):
                await engine.builder.build(
                    source,
                    tag=reference,
                    dockerfile=recipe.dockerfile_path,
                    context=recipe.work_dir,
                    target=recipe.target,
                    build_args=secrets.build_arguments,
                    secrets={
                        name: base64.b64decode(mount.data)
                        for name, mount in secrets.docker_secret_mounts.items()
                    },
                    use_cache=recipe.use_cache,
                    labels={OWNER_LABEL: f"{self.build.project_id}/{self.build.target_id}"},
                    registry_logins=logins,
                    on_line=logs.write,
                    usage_key=usage_key,
                )
        async with self.entering(BuildStatus.UPLOADING):
            try:
                digest = await engine.pusher.push(reference, reference, on_line=logs.write)
            finally:
                # Any build on this engine could name a local tag in FROM (a failed push's
                # too); runs pull by digest.
                with contextlib.suppress(DockyardError):
                    await engine.pusher.untag(reference)
        logs.write(f"Pushed {reference}, digest: {digest}")
        await self.move(BuildStatus.SUCCESS, image_uri=reference, image_digest=digest, message=None)

    async def _registry_logins(self, recipe: BuildRecipe) -> list[RegistryCredentials]:
        """The logins the recipe names, never dockyard's own: its registry holds every
        project's images, and its login would let a Dockerfile `FROM` any of them."""
        if not recipe.docker_credentials:
            return []
        async with self.database.sessions() as session:
            return await registry_logins(
                session,
                self.box,
                self.settings,
                self.build.project_id,
                recipe.docker_credentials,
            )

    async def _fetch_source(
        self, recipe: BuildRecipe, secrets: BuildSecrets, source: Path, logs: LogWriter
    ) -> None:
        if secrets.bundle_url:
            await fetch_bundle(
                secrets.bundle_url,
                source,
                max_bytes=self.settings.bundle_max_mb * 1024 * 1024,
                timeout=self.settings.bundle_timeout_seconds,
                allow=self.settings.fetch_allow,
                on_line=logs.write,
            )
            return
        assert recipe.project_url is not None
        fetcher = await self._fetcher(recipe, secrets, logs)
        try:
            await self._fetch_commit(recipe, fetcher, source, logs)
        except GitAuthFailed as exc:
            raise fetcher.refused(exc) from None

    async def _fetcher(
        self, recipe: BuildRecipe, secrets: BuildSecrets, logs: LogWriter
    ) -> Fetcher:
        """Who fetches the source (vcslinks/ chooses); its token or key joins the masked secrets."""
        assert recipe.project_url is not None
        async with self.database.sessions() as session:
            fetcher = await fetcher_for(
                session,
                self.box,
                self.engines.git,
                recipe.project_url,
                vcs_link_id=recipe.vcs_link_id,
                account_login=recipe.account_login,
                self_hosted_vcs_id=recipe.self_hosted_vcs_id,
            )
        if fetcher.credentials is not None:
            masked = [*secret_values(secrets), *fetcher.credentials.secrets]
            logs.redact = self.redact = masker(masked)
        logs.write(fetcher.describe())
        return fetcher

    async def _fetch_commit(
        self, recipe: BuildRecipe, fetcher: Fetcher, source: Path, logs: LogWriter
    ) -> None:
        build = self.build
        assert recipe.project_url is not None
        ref = (
            pull_request_ref(recipe.project_type or "github", build.pull_request_id)
            if build.pull_request_id is not None
            else None
        )
        if build.sha is None:
            wanted = ref or build.branch
            assert wanted is not None
            sha = await self.engines.git.resolve(
                fetcher.source, wanted, credentials=fetcher.credentials
            )
            logs.write(f"Latest commit of {wanted} is {sha}")
            await self.record(sha=sha)
        assert self.build.sha is not None
        await self.engines.git.checkout(
            fetcher.source,
            self.build.sha,
            source,
            full_clone=recipe.full_git_clone,
            keep_git_dir=recipe.include_git_folder,
            ref=ref,
            on_line=logs.write,
            cache=source_cache(self.settings, build.project_id, recipe.project_url),
            credentials=fetcher.credentials,
        )

    def _check_storage(self, recipe: BuildRecipe, source: Path) -> None:
        if recipe.storage_mb is not None and directory_megabytes(source) > recipe.storage_mb:
            raise BuildFailed(
                f"the source is larger than the build's ephemeral storage ({recipe.storage_mb} MB)"
            )
