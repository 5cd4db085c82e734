"""Each project's own Docker network (a bridge), which its job containers join: Docker's
isolation rules keep it from every other network (other projects', the default bridge where
builds run), and the engine (scripts/docker-up.sh) keeps it from the host's own services.

A network is labelled with its project and its installation (the dockyard it belongs to: one
engine may serve several, each with its own database), and named after both,
`dockyard-<projectId>-<hash of the installation>`. The engine does not make names unique
under concurrent creates (and two networks of one name make a container's start fail with
"network not found" on an engine in swarm mode), so the processes of one machine create
networks one at a time, under a lock file named after the engine; across machines sharing
an engine every worker uses the oldest network of those labels and name, and a worker whose
create lost such a race removes its own again.
"""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker import APIClient
from docker.errors import APIError, NotFound

from dockyard.errors import RunFailed

LABEL_PROJECT = "dev.dockyard.project"
LABEL_INSTALLATION = "dev.dockyard.installation"
MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
NAME_TAKEN = 409
IN_USE = (403, 409)  # the engine's answers to removing a network that containers still use


@dataclass(frozen=True)
class ProjectNetwork:
    installation: str
    project_id: str

    @property
    def name(self) -> str:
        installation = hashlib.sha256(self.installation.encode()).hexdigest()[:8]
        return f"dockyard-{self.project_id}-{installation}"

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_INSTALLATION: self.installation, LABEL_PROJECT: self.project_id}


def ensure_project_network(api: APIClient, network: ProjectNetwork, engine: str) -> str:
    """The id of the project's network, created when it has none yet. `engine` names the
    engine (its DOCKER_HOST) for the lock that keeps this machine's creates apart."""
    existing = _oldest(_networks_of(api, network))
    if existing is not None:
        return existing
    with _creating_networks(engine):
        return _create_or_find(api, network)


def _create_or_find(api: APIClient, network: ProjectNetwork) -> str:
    existing = _oldest(_networks_of(api, network))
    if existing is not None:
        return existing
    created = _create(api, network)
    chosen = _oldest(_networks_of(api, network))
    if chosen is None:
        raise RunFailed(
            f"The network {network.name} exists without dockyard's labels: dockyard did not "
            "create it; remove or rename it"
        )
    if created is not None and created != chosen:
        remove_network(api, created)
    return chosen


@contextmanager
def _creating_networks(engine: str) -> Iterator[None]:
    digest = hashlib.sha256(engine.encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"dockyard-networks-{digest}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def project_networks(api: APIClient, installation: str) -> dict[str, str]:
    """Network id -> project id, of every project network of the installation."""
    listed: list[dict[str, Any]] = api.networks(
        filters={"label": [f"{LABEL_INSTALLATION}={installation}", LABEL_PROJECT]}
    )
    return {str(network["Id"]): str(network["Labels"][LABEL_PROJECT]) for network in listed}


def remove_network(api: APIClient, network_id: str) -> bool:
    """Remove the network; False when containers still use it (it stays). No error when it
    is gone."""
    try:
        api.remove_network(network_id)
    except NotFound:
        return True
    except APIError as exc:
        if exc.status_code in IN_USE:
            return False
        raise
    return True


def _create(api: APIClient, network: ProjectNetwork) -> str | None:
    """The new network's id; None when one of that name was created meanwhile."""
    try:
        created = api.create_network(
            network.name,
            driver="bridge",
            options=_options_like_the_default_bridge(api),
            check_duplicate=True,
            labels=network.labels,
        )
    except APIError as exc:
        if exc.status_code == NAME_TAKEN:
            return None
        raise
    return str(created["Id"])


def _networks_of(api: APIClient, network: ProjectNetwork) -> list[dict[str, Any]]:
    labels = [f"{key}={value}" for key, value in network.labels.items()]
    listed: list[dict[str, Any]] = api.networks(filters={"label": labels, "name": network.name})
    # The engine's name filter matches substrings: only that very name counts.
    return [found for found in listed if found["Name"] == network.name]


def _oldest(networks: list[dict[str, Any]]) -> str | None:
    ordered = sorted(networks, key=lambda network: (network["Created"], network["Id"]))
    return str(ordered[0]["Id"]) if ordered else None


def _options_like_the_default_bridge(api: APIClient) -> dict[str, str]:
    """An engine that does not masquerade its default bridge (traffic stays on the machine)
    gets no masquerading on project networks either: Docker's default for a new network is
    to masquerade, whatever the daemon's `--ip-masq`."""
    with suppress(NotFound):
        default = api.inspect_network("bridge")
        if (default.get("Options") or {}).get(MASQUERADE) == "false":
            return {MASQUERADE: "false"}
    return {}
