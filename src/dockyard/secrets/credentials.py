"""Registry logins named by id in jobs and build services (`buildConfiguration.dockerCredentials`,
`deployment.external.credentials`), configured in DOCKYARD_REGISTRY_CREDENTIALS."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.config import Settings
from dockyard.engine.base import RegistryCredentials
from dockyard.errors import DockyardError


class CredentialsNotConfigured(DockyardError):
    status = 409
    code = "credentials-not-configured"


def registry_logins(settings: Settings, ids: Sequence[str]) -> list[RegistryCredentials]:
    logins = []
    for credentials_id in ids:
        login = settings.registry_credentials.get(credentials_id)
        if login is None:
            raise CredentialsNotConfigured(
                f"Registry credentials {credentials_id!r} are not configured on this dockyard "
                "(DOCKYARD_REGISTRY_CREDENTIALS)",
                {"credentials": credentials_id},
            )
        logins.append(RegistryCredentials(login.registry, login.username, login.password))
    return logins
