"""Containers that job runs left behind: a worker removes its attempt's container before it
concludes the run, but one killed in between, or driving a run whose job or project was
deleted meanwhile, leaves it on the engine. The worker sweeps them (worker/leftovers.py);
nothing of a live run is touched."""

from __future__ import annotations

import contextlib
import functools
import hashlib
from dataclasses import dataclass, field

import structlog
from sqlalchemy.engine import make_url

from dockyard.db.session import Database
from dockyard.engine.base import JobContainers, LabelledContainer
from dockyard.errors import DockyardError
from dockyard.metrics.instruments import CONTAINERS_SWEPT
from dockyard.runs import repository
from dockyard.runs.status import RunStatus, run_is_terminal

log = structlog.get_logger(__name__)

LABEL_RUN = "dockyard.run"
LABEL_DATABASE = "dev.dockyard.database"
# A leftover still running has outlived its run by a sweep interval: no grace is owed to it.
STOP_GRACE_SECONDS = 5.0


@functools.cache
def database_label(database_url: str) -> str:
    """Which database's run a container belongs to. dockyards sharing one engine (and one
    registry, so their `installation` is alike) each have a database, and their run ids
    may meet. A digest of the URL without its password."""
    public = make_url(database_url).set(password=None).render_as_string(hide_password=False)
    return hashlib.sha256(public.encode()).hexdigest()[:16]


@dataclass
class LeftoverSweep:
    """One sweep removes the leftovers that have exited; a running one goes (stopped, then
    removed) when it is still a leftover at the next sweep: the worker stopping an aborted
    run's container gets a whole interval to end it with its grace period and read its last
    lines."""

    containers: JobContainers
    database: Database
    database_label: str
    running_leftovers: set[str] = field(default_factory=set)

    async def sweep(self) -> int:
        """How many containers it removed."""
        # Listed before the runs are read: a container created meanwhile has its run. Only
        # this database's: a run id is a name (`quick-river-9114`) another dockyard's run
        # may bear too.
        found = await self.containers.labelled(LABEL_DATABASE, self.database_label)
        if not found:
            self.running_leftovers = set()
            return 0
        async with self.database.reads() as session:
            statuses = await repository.statuses_of(session, {c.labels[LABEL_RUN] for c in found})
        leftovers = [c for c in found if self._is_leftover(c, statuses)]
        running = {c.state.id for c in leftovers if c.state.running}
        removed = 0
        for container in leftovers:
            if container.state.id in running - self.running_leftovers:
                continue
            if await self._remove(container, statuses.get(container.labels[LABEL_RUN])):
                removed += 1
        self.running_leftovers = running
        CONTAINERS_SWEPT.inc(removed)
        return removed

    def _is_leftover(self, container: LabelledContainer, statuses: dict[str, str]) -> bool:
        status = statuses.get(container.labels[LABEL_RUN])
        return status is None or run_is_terminal(RunStatus(status))

    async def _remove(self, container: LabelledContainer, status: str | None) -> bool:
        state = container.state
        with contextlib.suppress(DockyardError):
            if state.running:
                await self.containers.stop(state.id, STOP_GRACE_SECONDS)
            await self.containers.remove(state.id)
            log.info(
                "container of a job run swept",
                container=state.id[:12],
                run=container.labels[LABEL_RUN],
                run_status=status or "deleted",
            )
            return True
        log.warning("a leftover container could not be removed", container=state.id[:12])
        return False
