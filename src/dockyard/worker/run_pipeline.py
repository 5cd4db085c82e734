"""The run pipeline a worker runs for one claimed run: drive it through its attempts with
Kubernetes Job semantics (worker/runs.py claims runs and hands them here).

A run's attempts: attempt N is the container `dockyard-run-<runId>-<N>`. Its number is
written before the container is created and its exit is counted (succeeded / failed) in one
compare-and-set afterwards, so whoever drives the run after a crash finds either the container
(reattach, or count its exit) or nothing to count yet (create it); a run its counts already
decide (a success, or past the backoff limit) is concluded without another attempt, and a
counted attempt's container a dead worker left behind is removed. A failed attempt is retried
after a back-off of 10 s, 20 s, 40 s ... (at most 6 min) until `failed` exceeds
`backoffLimit` (pastBackoffLimit); `activeDeadlineSeconds` bounds the whole run from the first
start (pastActiveDeadline).

When the engine stops answering (restarted, killed) the runner waits for it to come back
(at most ENGINE_RETURN_SECONDS) and resumes the run from its row as a worker taking it over
would: a container the engine kept running (live-restore) is reattached, its log followed on
from the last line stored; one it killed has its exit counted as a failed attempt.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import ContainerNetwork, Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database, restored_on_failure, retry_while_unavailable
from dockyard.engine.base import (
    ContainerExists,
    ContainerSpec,
    ContainerState,
    JobContainers,
    RegistryCredentials,
)
from dockyard.errors import DockyardError, EngineUnavailable, Invalid, RunFailed
from dockyard.logs.masking import masker
from dockyard.logs.service import (
    LogCap,
    LogCursor,
    LogWriter,
    container_log_cursor,
    file_texts,
)
from dockyard.metrics.instruments import RUN_PHASE_SECONDS
from dockyard.pacing import doubling
from dockyard.registries.service import registry_logins
from dockyard.runs import notices, repository
from dockyard.runs.leftovers import LABEL_DATABASE, LABEL_RUN, database_label
from dockyard.runs.models import JobRun
from dockyard.runs.plans import MIB
from dockyard.runs.recipe import RunSecrets, run_recipe
from dockyard.runs.service import open_secrets
from dockyard.runs.status import RunStatus, move_run
from dockyard.secrets.credentials import refuse_own_registry, registry_login
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.probes import ProbeFailed, Prober
from dockyard.worker.sampling import UsageSampler

log = structlog.get_logger(__name__)

MAX_MESSAGE = 4000
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 360.0
ENGINE_RETURN_SECONDS = 300.0
ENGINE_POLL_SECONDS = 0.5
LAST_LINES_SECONDS = 5.0

# How a runner waits out a back-off: asyncio.sleep; tests pass one that only records it.
Sleep = Callable[[float], Awaitable[None]]


def container_name(run: JobRun, attempt: int) -> str:
    return f"dockyard-run-{run.id}-{attempt}"


def backoff_seconds(failed: int, scale: float) -> float:
    """The Kubernetes Job controller's back-off before the next attempt after `failed`
    failures: 10 s doubled each time, capped at 6 min."""
    return doubling(failed, BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS) * scale


def past_backoff_limit(run: JobRun) -> bool:
    return run.failed > run.backoff_limit


class RunTakenOver(Exception):
    """The run's row changed without this worker (lease lost, concluded, deleted)."""


class RunRunner:
    """Drives one run from RUNNING to SUCCESS or FAILED, resuming where the row says it is."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        containers: JobContainers,
        run: JobRun,
        worker_id: str,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.database = database
        self.box = box
        self.containers = containers
        self.run_row = run
        self.worker_id = worker_id
        self.sleep = sleep
        self.recipe = run_recipe(run)
        self.aborting = False
        self.current: ContainerState | None = None
        # Why the current attempt failed when its exit code does not say (a probe, a start).
        self.failure: str | None = None
        # Where the current attempt's container lines written so far end; the container.
        self.cursor = LogCursor()
        self.followed: str | None = None
        # The attempt during which the engine went away, if one did.
        self.engine_lost_in: int | None = None
        self.redact = masker([])
        self.logs: LogWriter | None = None
        # When pastActiveDeadline is reached, on the event loop's clock (see `_arm`).
        self.deadline_at: float | None = None
        self.usage = UsageSampler(
            database,
            containers,
            "run",
            run.id,
            interval=settings.usage_sample_seconds,
            max_samples=settings.usage_max_samples,
        )

    # ---- the row ----------------------------------------------------------------------------

    async def _update(self, **changes: Any) -> None:
        """Write `changes` while this worker still holds the run (absolute values: written
        again when the database was away, whatever became of the first try)."""
        expected = {"status": RunStatus.RUNNING.value, "claimed_by": self.worker_id}

        async def store() -> bool:
            async with self.database.sessions() as session:
                changed = await repository.compare_and_set(session, self.run_row, expected, changes)
                await session.commit()
            return changed

        what = f"run {self.run_row.id} {', '.join(changes)}"
        if not await retry_while_unavailable(what, store):
            raise RunTakenOver(self.run_row.id)
        for name, value in changes.items():
            setattr(self.run_row, name, value)

    async def _conclude(self, status: RunStatus, message: str | None) -> None:
        """The run's last lines and its final status, once the database answers, unless
        another worker holds the run by then."""
        changes: dict[str, Any] = {"active": 0, "container_name": None, "retry_at": None}
        if message is not None:
            changes["message"] = self.redact(message)[:MAX_MESSAGE]

        async def store() -> bool:
            if self.logs is not None:
                # On every try: once the disk has space, the marker of the lines it dropped.
                await self.logs.flush()
            with restored_on_failure(self.run_row):
                async with self.database.sessions() as session:
                    moved = await move_run(
                        session, self.run_row, status, held_by=self.worker_id, **changes
                    )
                    await session.commit()
            return moved

        if not await retry_while_unavailable(f"run {self.run_row.id} {status.value}", store):
            log.info("run taken over elsewhere", run=self.run_row.id)

    async def _holds(self, session: AsyncSession) -> bool:
        return await repository.is_claimed_by(session, self.run_row, self.worker_id)

    def let_go(self) -> None:
        if self.logs is not None:
            self.logs.drop_rest()

    # ---- the run ----------------------------------------------------------------------------

    async def run(self) -> None:
        run_secrets = open_secrets(self.box, self.run_row)
        self.redact = masker(secret_values(run_secrets))
        logs = self.logs = LogWriter(
            self.database,
            "run",
            self.run_row.id,
            "",
            self.redact,
            holds=self._holds,
            cap=LogCap(self.settings.log_max_lines_per_run, self.settings.log_max_mb_per_run * MIB),
        )
        flusher = asyncio.create_task(logs.run_flusher())
        deadline = asyncio.timeout(None)
        try:
            async with deadline:
                self._arm(deadline)
                await self._attempts(run_secrets, logs, deadline)
        except RunTakenOver:
            log.info("run taken over elsewhere", run=self.run_row.id)
        except asyncio.CancelledError:
            if not self.aborting:
                raise  # shutdown: the container keeps running for whoever takes over
            await asyncio.shield(self._end_current("Aborted by request", logs))
        except TimeoutError:
            seconds = self.recipe.active_deadline_seconds
            why = (
                f"DeadlineExceeded: the run took longer than {seconds} s"
                if deadline.expired()
                else "The container engine did not answer in time"
            )
            await asyncio.shield(self._end_current(why, logs))
        except RunFailed as exc:
            logs.write(f"Error: {exc.message}")
            await self._conclude(RunStatus.FAILED, exc.message)
        except DockyardError as exc:
            log.warning("run failed", run=self.run_row.id, error=exc.message)
            await self._conclude(RunStatus.FAILED, exc.message)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    def _arm(self, deadline: asyncio.Timeout) -> None:
        """pastActiveDeadline counts from the run's first start, across restarts, on the
        event loop's monotonic clock: from the start this runner saw, or, for a run started
        before it (another worker's, or before a restart), from the start its row records,
        read once against the wall clock and bounded by the deadline (a wall clock stepped
        back, or behind the one that wrote the start, gives the run at most its full deadline
        again, not an hour more)."""
        seconds = self.recipe.active_deadline_seconds
        if seconds is None or self.run_row.started_at is None:
            return
        if self.deadline_at is None:
            left = (self.run_row.started_at + timedelta(seconds=seconds) - utcnow()).total_seconds()
            self.deadline_at = asyncio.get_running_loop().time() + min(left, seconds)
        deadline.reschedule(self.deadline_at)

    async def _attempts(
        self, run_secrets: RunSecrets, logs: LogWriter, deadline: asyncio.Timeout
    ) -> None:
        while True:
            try:
                return await self._drive(run_secrets, logs, deadline)
            except EngineUnavailable as lost:
                await self._await_engine(lost, logs)

    async def _await_engine(self, lost: EngineUnavailable, logs: LogWriter) -> None:
        """Until the engine answers again; EngineUnavailable when it stays away."""
        self.engine_lost_in = self.run_row.attempt
        logs.write(f"{lost.message}; waiting for the engine to answer again")
        loop = asyncio.get_running_loop()
        given_up_at = loop.time() + ENGINE_RETURN_SECONDS
        while True:
            await asyncio.sleep(ENGINE_POLL_SECONDS)
            try:
                await self.containers.ping()
            except EngineUnavailable as exc:
                if loop.time() > given_up_at:
                    raise EngineUnavailable(
                        f"{exc.message}, for {ENGINE_RETURN_SECONDS:.0f} s: the run is ended"
                    ) from exc
                continue
            logs.write("The container engine answers again; the run resumes")
            return

    async def _drive(
        self, run_secrets: RunSecrets, logs: LogWriter, deadline: asyncio.Timeout
    ) -> None:
        await self._check_architecture()
        if await self._conclude_counted():
            return
        while True:
            await self._wait_for_retry()
            state = await self._begin_or_resume(run_secrets, logs)
            final = await self._watch(state, logs, deadline)
            if await self._count_exit(final, logs):
                return

    async def _conclude_counted(self) -> bool:
        """A worker that died after counting an attempt's exit but before concluding the run
        left a run its counts already decide: conclude it, starting no further attempt."""
        row = self.run_row
        if row.container_name is not None:
            return False
        if row.succeeded > 0:
            await self._remove_counted()
            await self._conclude(RunStatus.SUCCESS, None)
            return True
        if past_backoff_limit(row):
            await self._remove_counted()
            await self._conclude(
                RunStatus.FAILED,
                f"BackoffLimitExceeded: {row.failed} failed attempts (backoffLimit "
                f"{row.backoff_limit})",
            )
            return True
        return False

    async def _remove_counted(self) -> None:
        """The container of the last counted attempt, if a worker died between counting its
        exit and removing it."""
        row = self.run_row
        if row.container_name is None and row.attempt > 0:
            found = await self.containers.find(container_name(row, row.attempt))
            if found is not None:
                await self._remove(found)

    async def _check_architecture(self) -> None:
        wanted = self.recipe.architecture
        engine = await self.containers.architecture()
        if wanted is not None and wanted != engine:
            raise RunFailed(f"The job needs architecture {wanted!r}; this engine runs {engine!r}")

    async def _wait_for_retry(self) -> None:
        """Until the row's `retry_at`, at most the back-off its failures call for (it was
        written with a wall clock, this worker's or another's, that may have stepped since)."""
        row = self.run_row
        if row.retry_at is not None and row.container_name is None:
            left = (row.retry_at - utcnow()).total_seconds()
            longest = backoff_seconds(row.failed, self.settings.run_backoff_scale)
            await self.sleep(max(min(left, longest), 0))

    async def _begin_or_resume(self, run_secrets: RunSecrets, logs: LogWriter) -> ContainerState:
        row = self.run_row
        beginning = time.monotonic()
        if row.container_name is not None:
            found = await self.containers.find(row.container_name)
            if found is not None and (found.running or found.finished_at is not None):
                logs.container_id = row.container_name
                logs.write(f"Reattached to attempt {row.attempt}")
                return found
            if found is not None:  # created, never started: start it afresh
                await self.containers.remove(found.id)
        else:
            await self._remove_counted()
            attempt = row.attempt + 1
            await self._update(attempt=attempt, container_name=container_name(row, attempt))
        assert row.container_name is not None
        logs.container_id = row.container_name
        try:
            spec = await self._container_spec(run_secrets, logs)
        except RunFailed as exc:  # its image cannot be pulled: a failed attempt
            return self._not_started(exc.message, logs)
        try:
            state = await self.containers.start(spec)
            # A new container has no lines stored yet: its log is followed from its start.
            self.cursor, self.followed = LogCursor(), state.id
        except ContainerExists as exists:
            state = exists.state
        except RunFailed as exc:
            return self._not_started(f"the container could not start: {exc.message}", logs)
        RUN_PHASE_SECONDS.labels("start").observe(time.monotonic() - beginning)
        logs.write(f"Attempt {row.attempt} started (runtime {await self.containers.runtime()})")
        return state

    def _not_started(self, failure: str, logs: LogWriter) -> ContainerState:
        """The current attempt failed before its container ran: counted as a failed exit."""
        assert self.run_row.container_name is not None
        self.failure = failure
        logs.write(f"Attempt {self.run_row.attempt}: {failure}")
        return ContainerState(self.run_row.container_name, False, None, None, utcnow())

    async def _record_start(self, state: ContainerState) -> None:
        """The current attempt is active; the run's start is its first attempt's."""
        row = self.run_row
        seconds = self.recipe.active_deadline_seconds
        if row.started_at is None and seconds is not None:
            self.deadline_at = asyncio.get_running_loop().time() + seconds
        await self._update(active=1, started_at=row.started_at or state.started_at or utcnow())

    async def _container_spec(self, run_secrets: RunSecrets, logs: LogWriter) -> ContainerSpec:
        recipe = self.recipe
        image, network = await asyncio.gather(self._image(run_secrets, logs), self._network())
        assert self.run_row.container_name is not None
        if recipe.storage_mb and not await self.containers.supports_storage_limit():
            logs.write(
                f"Ephemeral storage of {recipe.storage_mb} MB is not enforced: this engine's "
                "storage driver cannot limit a container (overlay2 on xfs with pquota can)"
            )
        return ContainerSpec(
            name=self.run_row.container_name,
            image=image,
            entrypoint=recipe.entrypoint,
            command=recipe.command,
            env=run_secrets.runtime_environment,
            files={path: base64.b64decode(file.data) for path, file in run_secrets.files().items()},
            labels={
                **recipe.labels,
                LABEL_RUN: self.run_row.id,
                LABEL_DATABASE: database_label(self.settings.resolved_database_url),
                "dockyard.project": self.run_row.project_id,
                "dockyard.job": self.run_row.job_id,
                "dockyard.attempt": str(self.run_row.attempt),
            },
            network_mode=network,
            nano_cpus=recipe.nano_cpus,
            memory_bytes=recipe.memory_bytes,
            pids_limit=recipe.pids_limit,
            shm_size_bytes=recipe.shm_size_mb * MIB if recipe.shm_size_mb else None,
            storage_bytes=recipe.storage_mb * MIB if recipe.storage_mb else None,
        )

    async def _image(self, run_secrets: RunSecrets, logs: LogWriter) -> str:
        """The id of the run's image on the engine, pulled if need be."""
        login = await self._credentials()
        if login is not None and self.recipe.external:  # redacted too, should a pull show it
            self.redact = logs.redact = masker([*secret_values(run_secrets), login.password])
        return await self.containers.ensure_image(self.recipe.image, login, on_line=logs.write)

    async def _network(self) -> str:
        network = self.settings.container_network
        if network is ContainerNetwork.PROJECT:
            return await self.containers.project_network(
                self.settings.installation, self.run_row.project_id
            )
        return network.value

    async def _credentials(self) -> RegistryCredentials | None:
        """dockyard's login for a build's image; for an external one the login its job names,
        if any. An external image in dockyard's own registry (the API refuses it, but the
        registry setting may have changed since) is refused: it could be any project's."""
        recipe = self.recipe
        if not recipe.external:
            return registry_login(self.settings)
        try:
            refuse_own_registry(recipe.image, self.settings.registry)
        except Invalid as exc:
            raise RunFailed(exc.message) from exc
        if recipe.credentials is None:
            return None
        async with self.database.sessions() as session:
            logins = await registry_logins(
                session, self.box, self.settings, self.run_row.project_id, [recipe.credentials]
            )
        return logins[0]

    async def _watch(
        self, state: ContainerState, logs: LogWriter, deadline: asyncio.Timeout
    ) -> ContainerState:
        """Until the attempt's container exits (or a probe ends it); its final state. Its log
        is followed before the start is recorded, so its first line is not kept waiting."""
        self.current = state
        if state.started_at is None:  # it never ran: nothing to follow
            return state
        # Followed again after the engine came back, the cursor already stands where the
        # lines written end (some may not be stored yet).
        if self.followed != state.id:
            self.cursor = await retry_while_unavailable(
                f"run {self.run_row.id} log cursor",
                lambda: container_log_cursor(
                    self.database, "run", self.run_row.id, logs.container_id
                ),
            )
            self.followed = state.id
        following = asyncio.create_task(self._follow_container_lines(state, logs))
        try:
            if not self.run_row.active:  # a new attempt, or its worker died before recording it
                await self._record_start(state)
            self._arm(deadline)
        except BaseException:
            following.cancel()
            raise
        prober = Prober(
            self.containers,
            state.id,
            time_scale=self.settings.probe_time_scale,
            on_line=logs.write,
        )
        health = asyncio.create_task(prober.watch(self.recipe.health_checks))
        exited = asyncio.create_task(self.containers.wait(state.id))
        name = self.run_row.container_name or state.id
        sampling = asyncio.create_task(
            self.usage.watch(
                state.id,
                state.started_at,
                name,
                self.recipe.memory_bytes,
                limit_cores=self.recipe.nano_cpus / 1e9,
            )
        )
        try:
            done = await _first_of({health, exited}, following)
            if exited not in done:
                await self._stop_after_probe(health, state)
            final = await exited
            sampling.cancel()
            await self.usage.conclude(final)
            await self._read_to_the_end(following, logs)
            return final
        finally:
            for task in (following, health, exited, sampling):
                task.cancel()

    async def _stop_after_probe(self, health: asyncio.Task[None], state: ContainerState) -> None:
        """A probe gave up on the container: stop it, and fail the attempt unless it had
        already exited on its own (a check racing its exit fails; the exit code decides)."""
        try:
            await health
        except ProbeFailed as failed:
            assert self.run_row.container_name is not None
            now = await self.containers.find(self.run_row.container_name)
            if now is not None and now.running:
                self.failure = failed.message
                await self._notify_health_check_failure(failed.message)
        await self.containers.stop(state.id, self.recipe.grace_period_seconds)

    async def _notify_health_check_failure(self, message: str) -> None:
        """Into the outbox, with the lines so far: a probe's verdict is no status change, so
        it has a transaction of its own."""

        async def store() -> None:
            if self.logs is not None:
                await self.logs.flush()
            async with self.database.sessions() as session:
                await notices.run_health_check_failed(session, self.run_row, message)
                await session.commit()

        await retry_while_unavailable(f"run {self.run_row.id} health check failure", store)

    async def _count_exit(self, final: ContainerState, logs: LogWriter) -> bool:
        """Count the attempt's exit; whether the run has concluded."""
        row = self.run_row
        failure, self.failure = self.failure, None
        succeeded = failure is None and final.exit_code == 0
        reason = failure or _exit_reason(final)
        if self.engine_lost_in == row.attempt:
            reason += "; the container engine restarted during the attempt"
        if final.exit_code is not None:
            logs.write(f"Attempt {row.attempt} exited with code {final.exit_code}")
        changes: dict[str, Any] = {"active": 0, "container_name": None}
        if succeeded:
            changes["succeeded"] = row.succeeded + 1
        else:
            changes["failed"] = row.failed + 1
            wait = backoff_seconds(row.failed + 1, self.settings.run_backoff_scale)
            changes["retry_at"] = utcnow() + timedelta(seconds=wait)
        await self._update(**changes)
        await self._remove(final)
        self.current = None
        if succeeded:
            await self._conclude(RunStatus.SUCCESS, None)
            return True
        if past_backoff_limit(row):
            await self._conclude(
                RunStatus.FAILED,
                f"BackoffLimitExceeded: {row.failed} failed attempts (backoffLimit "
                f"{row.backoff_limit}); the last: {reason}",
            )
            return True
        logs.write(f"Attempt {row.attempt} failed ({reason}); retrying in {wait:.1f} s")
        return False

    async def _read_to_the_end(self, following: asyncio.Task[None], logs: LogWriter) -> None:
        """Until the exited container's log has been read, as long as its lines still come
        or get stored (the engine keeps a chatty container's log, to be read well after its
        exit); a stream silent for LAST_LINES_SECONDS is given up."""
        while True:
            progress = (self.cursor.at, self.cursor.repeats, logs.stored)
            done, _ = await asyncio.wait({following}, timeout=LAST_LINES_SECONDS)
            if done:
                return await following
            if (self.cursor.at, self.cursor.repeats, logs.stored) == progress:
                return None

    async def _follow_container_lines(self, state: ContainerState, logs: LogWriter) -> None:
        """The container's lines after those already written, into `logs`."""
        is_new = self.cursor.reader()

        def from_container(line: str, at: datetime) -> None:
            if is_new(at):
                logs.write(line, at)

        await self.containers.follow_logs(
            state.id, from_container, since=self.cursor.resume_from, room=logs.room
        )

    async def _collect_last_lines(self, state: ContainerState, logs: LogWriter) -> None:
        """The lines the stopped container wrote after its log stream was cut off (its log is
        read again from where the lines written end)."""
        with contextlib.suppress(TimeoutError, DockyardError):
            async with asyncio.timeout(5):
                await self._follow_container_lines(state, logs)

    async def _remove(self, state: ContainerState) -> None:
        with contextlib.suppress(DockyardError):
            await self.containers.remove(state.id)

    async def _end_current(self, message: str, logs: LogWriter) -> None:
        """Stop the running attempt (SIGTERM, SIGKILL after the grace period) and fail the
        run with `message`."""
        if self.current is not None:
            await self.containers.stop(self.current.id, self.recipe.grace_period_seconds)
            await self._collect_last_lines(self.current, logs)
            await self._remove(self.current)
        logs.write(message)
        with contextlib.suppress(RunTakenOver, DockyardError):
            await self._conclude(RunStatus.FAILED, message)


async def _first_of(
    awaited: set[asyncio.Task[Any]], following: asyncio.Task[None]
) -> set[asyncio.Task[Any]]:
    """The tasks of `awaited` done first; the exception of `following` (the log stream) if it
    fails before: its engine went away."""
    done, _ = await asyncio.wait({*awaited, following}, return_when=asyncio.FIRST_COMPLETED)
    if done & awaited:
        return done & awaited
    following.result()
    done, _ = await asyncio.wait(awaited, return_when=asyncio.FIRST_COMPLETED)
    return done


def _exit_reason(state: ContainerState) -> str:
    if state.oom_killed:
        return "OOMKilled: killed for using more memory than its plan allows"
    return f"exit code {state.exit_code}"


def secret_values(run_secrets: RunSecrets) -> list[str]:
    return [
        *run_secrets.runtime_environment.values(),
        *file_texts(f.data for f in run_secrets.files().values()),
    ]
