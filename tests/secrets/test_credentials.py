"""Registry logins named by id resolve from DOCKYARD_REGISTRY_CREDENTIALS, or say what to set."""

from __future__ import annotations

import pytest

from dockyard.config import Settings
from dockyard.engine.base import RegistryCredentials
from dockyard.secrets.credentials import CredentialsNotConfigured, registry_logins


def test_known_and_unknown_ids() -> None:
    settings = Settings(
        registry_credentials={"ghcr": {"registry": "ghcr.io", "username": "u", "password": "p"}}
    )
    assert registry_logins(settings, ["ghcr"]) == [RegistryCredentials("ghcr.io", "u", "p")]
    assert registry_logins(settings, []) == []
    with pytest.raises(CredentialsNotConfigured, match="DOCKYARD_REGISTRY_CREDENTIALS"):
        registry_logins(settings, ["nope"])
