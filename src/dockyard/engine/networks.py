"""Each project's own Docker network (a bridge), which its job containers join: Docker's
isolation rules keep it from every other network (other projects', the default bridge where
builds run), and the engine (scripts/docker-up.sh) keeps it from the host's own services.

A network is named `dockyard-<projectId>` and labelled with the project. The engine does not
make names unique under concurrent creates, so every worker uses the oldest network of that
name and label, and a worker whose create lost such a race removes its own again.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from docker import APIClient
from docker.errors import APIError, NotFound

from dockyard.errors import RunFailed

LABEL_PROJECT = "dev.dockyard.project"
NAME_PREFIX = "dockyard-"
MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
NAME_TAKEN = 409
IN_USE = (403, 409)  # the engine's answers to removing a network that containers still use


def network_name(project_id: str) -> str:
    return f"{NAME_PREFIX}{project_id}"


def ensure_project_network(api: APIClient, project_id: str) -> str:
    """The id of the project's network, created when it has none yet."""
    existing = _oldest(_project_networks(api, project_id))
    if existing is not None:
        return existing
    created = _create(api, project_id)
    chosen = _oldest(_project_networks(api, project_id))
    if chosen is None:
        raise RunFailed(
            f"The network {network_name(project_id)} exists without the label {LABEL_PROJECT}: "
            "dockyard did not create it; remove or rename it"
        )
    if created is not None and created != chosen:
        remove_network(api, created)
    return chosen


def project_networks(api: APIClient) -> dict[str, str]:
    """Network id -> project id, of every network dockyard made for a project."""
    listed: list[dict[str, Any]] = api.networks(filters={"label": LABEL_PROJECT})
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


def _create(api: APIClient, project_id: str) -> str | None:
    """The new network's id; None when one of that name was created meanwhile."""
    try:
        created = api.create_network(
            network_name(project_id),
            driver="bridge",
            options=_options_like_the_default_bridge(api),
            check_duplicate=True,
            labels={LABEL_PROJECT: project_id},
        )
    except APIError as exc:
        if exc.status_code == NAME_TAKEN:
            return None
        raise
    return str(created["Id"])


def _project_networks(api: APIClient, project_id: str) -> list[dict[str, Any]]:
    # The engine's name filter matches substrings: only that very name counts.
    listed: list[dict[str, Any]] = api.networks(
        filters={"label": f"{LABEL_PROJECT}={project_id}", "name": network_name(project_id)}
    )
    return [network for network in listed if network["Name"] == network_name(project_id)]


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
