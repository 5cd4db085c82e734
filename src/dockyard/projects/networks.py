"""Project networks of deleted projects leave the engine. Deleting a project only deletes rows:
its runs' workers then stop their containers, and a network can go only once no container
uses it, so the worker looks again and again (worker/networks.py) and retries a network still
in use on its next look. `dockyard gc` does the same once."""

from __future__ import annotations

import structlog

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.engine.containers import DockerEngine
from dockyard.projects.service import existing_project_ids

log = structlog.get_logger(__name__)


async def orphan_networks(
    settings: Settings, engine: DockerEngine, database: Database
) -> dict[str, str]:
    """Network id -> project id, of the installation's networks whose project no longer
    exists."""
    # Listed before the projects are read: a network created meanwhile has its project.
    networks = await engine.project_networks(settings.installation)
    if not networks:
        return {}
    async with database.sessions() as session:
        existing = await existing_project_ids(session, set(networks.values()))
    return {network: project for network, project in networks.items() if project not in existing}


async def remove_orphan_networks(
    settings: Settings, engine: DockerEngine, database: Database
) -> list[str]:
    """Remove the networks of projects that no longer exist; the ids of those removed (a
    network some container still uses stays)."""
    removed = []
    for network_id, project_id in (await orphan_networks(settings, engine, database)).items():
        if await engine.remove_network(network_id):
            removed.append(network_id)
            log.info("network of a deleted project removed", project=project_id)
    return removed
