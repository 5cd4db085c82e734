"""create_app(): the FastAPI application with its routers, error handlers and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dockyard import __version__
from dockyard.api import health
from dockyard.api.errors import ERROR_RESPONSES, install_error_handlers
from dockyard.api.limits import BodyLimit
from dockyard.api.routes.auth import router as auth_router
from dockyard.api.routes.builds import router as builds_router
from dockyard.api.routes.ci import events as ci_events_router
from dockyard.api.routes.ci import webhook_secrets as webhook_secrets_router
from dockyard.api.routes.ci import webhooks as webhooks_router
from dockyard.api.routes.jobs import router as jobs_router
from dockyard.api.routes.logs import router as logs_router
from dockyard.api.routes.metrics import router as metrics_router
from dockyard.api.routes.notifications import project_router as project_notifications_router
from dockyard.api.routes.notifications import router as notifications_router
from dockyard.api.routes.projects import router as projects_router
from dockyard.api.routes.registries import router as registries_router
from dockyard.api.routes.runs import router as runs_router
from dockyard.api.routes.secrets import router as secrets_router
from dockyard.api.routes.services import router as services_router
from dockyard.api.routes.usage import router as usage_router
from dockyard.api.routes.vcs import router as vcs_router
from dockyard.api.routes.vcslinks import router as vcslinks_router
from dockyard.api.routing import include_v1
from dockyard.api.timing import RequestTiming
from dockyard.auth.service import TokenCache
from dockyard.config import Settings
from dockyard.db.notify import WorkSignal
from dockyard.db.session import Database
from dockyard.engine.containers import DockerEngine
from dockyard.engine.registry import HttpRegistry
from dockyard.gc.schedule import scheduled_collections
from dockyard.logs.tail import LogHub
from dockyard.migrations import prepare_storage
from dockyard.secrets.credentials import registry_login
from dockyard.secrets.crypto import SecretBox
from dockyard.ui.router import STATIC_DIR
from dockyard.ui.router import router as ui_router
from dockyard.worker.gauges import metrics_listener
from dockyard.worker.loop import create_worker, is_daemonless

# The order in which a request's route is looked for: the most requested first (each router
# tried costs). No method and path is served by two of them (tests/api/test_envelope.py), so
# the order changes nothing else.
V1_ROUTERS = (
    jobs_router,
    runs_router,
    logs_router,
    builds_router,
    projects_router,
    auth_router,
    ci_events_router,
    webhook_secrets_router,
    usage_router,
    secrets_router,
    services_router,
    project_notifications_router,
    notifications_router,
    registries_router,
    vcslinks_router,
    vcs_router,
)


def readiness_probes(
    settings: Settings, database: Database, *, with_worker: bool
) -> dict[str, Callable[[], Awaitable[None]]]:
    """What /ready checks: the database; and where the worker runs in this process, the
    Docker engine and the registry it builds and runs with (a lone API needs neither)."""
    probes: dict[str, Callable[[], Awaitable[None]]] = {"database": database.ping}
    if with_worker:
        if not is_daemonless(settings):
            probes["docker"] = DockerEngine(settings.docker_host).ping
        probes["registry"] = HttpRegistry(settings.registry, registry_login(settings)).ping
    return probes


def create_app(settings: Settings, *, run_worker: bool = False) -> FastAPI:
    """The API; with `run_worker` the worker loop runs in the same process (`dockyard up`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(prepare_storage, settings)
        database = Database(settings.resolved_database_url, settings.sqlite_busy_seconds)
        app.state.settings = settings
        app.state.db = database
        app.state.secret_box = SecretBox.from_settings(settings)
        app.state.tokens = TokenCache(settings.token_cache_seconds)
        app.state.readiness = readiness_probes(settings, database, with_worker=run_worker)
        app.state.worker_wake = WorkSignal(database, asyncio.Event())
        app.state.log_hub = LogHub(database)
        stop = asyncio.Event()
        worker_task = (
            asyncio.create_task(
                create_worker(
                    settings,
                    database,
                    app.state.secret_box,
                    app.state.worker_wake.local,
                    scheduled_collections(settings, database),
                ).run(stop)
            )
            if run_worker
            else None
        )
        listener = metrics_listener(settings, database) if run_worker else None
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            stop.set()
            if worker_task is not None:
                await worker_task
            await app.state.log_hub.close()
            await app.state.worker_wake.close()
            await database.dispose()

    app = FastAPI(
        title="dockyard",
        version=__version__,
        description="Self-hosted builds and jobs, served through the Northflank v1 API.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_mb * 1024 * 1024)
    app.add_middleware(RequestTiming)
    app.include_router(health.router)
    app.include_router(metrics_router, responses=ERROR_RESPONSES)
    include_v1(app, V1_ROUTERS)
    app.include_router(webhooks_router, prefix="/v1", responses=ERROR_RESPONSES)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(ui_router)
    return app
