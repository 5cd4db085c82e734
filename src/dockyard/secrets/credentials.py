"""Registry logins: dockyard's own, for the registry at DOCKYARD_REGISTRY, and the operator's
seed of the ones named by id in jobs and build services (`buildConfiguration.dockerCredentials`,
`deployment.external.credentials`), configured in DOCKYARD_REGISTRY_CREDENTIALS; the API's
registry credentials come first (registries/service.py `registry_logins`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from dockyard.config import Settings
from dockyard.engine.base import RegistryCredentials
from dockyard.engine.registry import is_loopback_address, names_registry
from dockyard.errors import DockyardError, Invalid

LOCAL_REGISTRY_USER = "dockyard"


def starts_local_registry(settings: Settings) -> bool:
    """Whether `dockyard up` starts the registry itself when none answers there."""
    return settings.registry_autostart and is_loopback_address(settings.registry)


def local_registry_dir(settings: Settings) -> Path:
    return settings.data_dir / "registry"


def registry_login(settings: Settings) -> RegistryCredentials | None:
    """dockyard's login to its registry, found the same way by every process sharing the
    settings and data dir (API, worker, `dockyard gc`, `dockyard up`): the operator's
    DOCKYARD_REGISTRY_USERNAME and _PASSWORD when set; for a registry dockyard starts, its
    password generated once into the data dir; else none (a registry without auth)."""
    if settings.registry_username is not None and settings.registry_password is not None:
        return RegistryCredentials(
            settings.registry,
            settings.registry_username,
            settings.registry_password.get_secret_value(),
        )
    if not starts_local_registry(settings):
        return None
    password = _generated_password(local_registry_dir(settings) / "password")
    return RegistryCredentials(settings.registry, LOCAL_REGISTRY_USER, password)


EXTERNAL_IMAGE_PATH = "deployment.external.imagePath"


def refuse_own_registry(image: str, registry: str) -> None:
    """Invalid (naming `deployment.external.imagePath`) when an external image is in
    dockyard's own registry at `registry`, where every project's builds are: a job runs a
    build's image through `deployment.internal`, which checks that it is its project's."""
    if names_registry(image, registry):
        raise Invalid(
            EXTERNAL_IMAGE_PATH,
            f"{image!r} is in dockyard's own registry ({registry}): use deployment.internal "
            "to run the image of a build",
        )


def _generated_password(path: Path) -> str:
    """The password in `path` (0600), made there by the first process that asks; written
    whole to a private file first and linked into place, so that a process racing it reads
    the winner's password and never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return path.read_text().strip()
    draft = path.with_name(f".{path.name}-{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
    return path.read_text().strip()


class CredentialsNotConfigured(DockyardError):
    status = 409
    code = "credentials-not-configured"


def registry_logins(settings: Settings, ids: Sequence[str]) -> list[RegistryCredentials]:
    """The seeded logins `ids` name (DOCKYARD_REGISTRY_CREDENTIALS)."""
    logins = []
    for credentials_id in ids:
        login = settings.registry_credentials.get(credentials_id)
        if login is None:
            raise CredentialsNotConfigured(
                f"Registry credentials {credentials_id!r} are not configured on this dockyard "
                "(add them with POST /v1/integrations/registries, or "
                "DOCKYARD_REGISTRY_CREDENTIALS)",
                {"credentials": credentials_id},
            )
        logins.append(RegistryCredentials(login.registry, login.username, login.password))
    return logins
