"""Long-running commands: `up` (API + worker + local registry), `api`, `worker`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from dockyard.app import create_app
from dockyard.auth.service import issue_first_admin_token
from dockyard.config import Settings, load_settings
from dockyard.db.session import Database, run_in_session
from dockyard.engine.registry import HttpRegistry, LocalRegistry, collect_garbage
from dockyard.errors import EngineUnavailable
from dockyard.gc.schedule import scheduled_collections
from dockyard.logging import configure_logging
from dockyard.migrations import prepare_storage
from dockyard.secrets.credentials import local_registry_dir, registry_login, starts_local_registry
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.gauges import metrics_listener
from dockyard.worker.loop import check_run_engine, containment_warnings, create_worker

err = Console(stderr=True)
KEEP_ALIVE_SECONDS = 75


def _prepare(settings: Settings) -> None:
    configure_logging(settings.log_level)
    prepare_storage(settings)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code=1)


def _ensure_registry(settings: Settings) -> LocalRegistry | None:
    """The registry must answer; a loopback one is started (and kept running) when allowed
    and absent."""
    if HttpRegistry(settings.registry).answers():
        return None
    login = registry_login(settings)
    if not starts_local_registry(settings) or login is None:
        raise _fail(f"no registry answers at {settings.registry} (DOCKYARD_REGISTRY)")
    state_dir = local_registry_dir(settings)
    _collect_registry_garbage(state_dir)
    err.print(f"starting a local registry at {settings.registry}")
    return LocalRegistry(settings.registry, state_dir, login)


def _collect_registry_garbage(state_dir: Path) -> None:
    """Blobs of manifests `dockyard gc` deleted can only go while no registry serves them; a
    failure here costs disk, not the start."""
    try:
        err.print(f"registry garbage-collect: {collect_garbage(state_dir)}", markup=False)
    except EngineUnavailable as exc:
        err.print(f"[yellow]warning:[/] {exc.message}")


def _check_worker(settings: Settings) -> None:
    """EngineUnavailable unless the run engine answers (with the runtime asked for); a
    warning for each setting that is ignored or lets a project's code out of its containers."""
    for warning in [*check_run_engine(settings), *containment_warnings(settings)]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _serve(settings: Settings, *, run_worker: bool) -> None:
    config = uvicorn.Config(
        create_app(settings, run_worker=run_worker),
        host=settings.listen_host,
        port=settings.listen_port,
        log_level=settings.log_level,
        lifespan="on",
        # Log frames are small and many: deflating each for each tailing client costs more
        # CPU (and latency) than the bytes it saves on loopback or a LAN.
        ws_per_message_deflate=False,
        # Longer than the idle timeouts of clients and proxies (httpx 5 s, load balancers
        # 60 s), so that they, not the server, close an idle kept-alive connection: a server
        # closing one as the client sends on it leaves that request with no answer at all.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    uvicorn.Server(config).run()


def up() -> None:
    """Start API and worker in one process, with a local registry if none answers."""
    settings = load_settings()
    _prepare(settings)
    try:
        _check_worker(settings)
        registry = _ensure_registry(settings)
    except EngineUnavailable as exc:
        raise _fail(exc.message) from exc
    token = asyncio.run(run_in_session(settings.resolved_database_url, issue_first_admin_token))
    print(f"dockyard is up at {settings.base_url}", flush=True)
    print(f"dashboard: {settings.base_url}/ui/", flush=True)
    if token:
        print(f"admin token (shown once): {token}", flush=True)
    try:
        _serve(settings, run_worker=True)
    finally:
        if registry is not None:
            registry.stop()


def api() -> None:
    """Start only the API (workers run elsewhere)."""
    settings = load_settings()
    _prepare(settings)
    _serve(settings, run_worker=False)


def worker() -> None:
    """Start only a worker."""
    settings = load_settings()
    _prepare(settings)
    try:
        _check_worker(settings)
    except EngineUnavailable as exc:
        raise _fail(exc.message) from exc

    async def run() -> None:
        database = Database(settings.resolved_database_url, settings.sqlite_busy_seconds)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        box = SecretBox.from_settings(settings)
        collections = scheduled_collections(settings, database)
        worker = create_worker(settings, database, box, asyncio.Event(), collections)
        listener = metrics_listener(settings, database)
        try:
            await worker.run(stop)
        finally:
            if listener is not None:
                listener.stop()
            await database.dispose()

    asyncio.run(run())
