"""Wire models of registry credentials, in the official clients' shapes
(AddRegistryCredentialsRequest / Response, ListRegistryCredentialsResponse,
UpdateRegistryCredentialsRequest). dockyard keeps username / password logins (providers
dockerhub, github, gitlab and custom); the cloud providers' token exchanges are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dockyard.wire.fields import Name, ResourceId
from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import field_error

Provider = Literal["acr", "ecr", "gar", "dockerhub", "dhi", "github", "gitlab", "custom", "legacy"]
SUPPORTED_PROVIDERS = ("dockerhub", "github", "gitlab", "custom")
# The registry each provider logs in to when `registryUrl` is not given (Docker Hub's key is
# the one the docker client writes into its configuration).
PROVIDER_REGISTRIES = {
    "dockerhub": "https://index.docker.io/v1/",
    "github": "ghcr.io",
    "gitlab": "registry.gitlab.com",
}
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
RegistryUrl = Annotated[
    str,
    Field(
        max_length=253,
        pattern=r"^(https?://)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?$",
    ),
]
Username = Annotated[str, Field(min_length=1, max_length=256)]
Password = Annotated[str, Field(min_length=1, max_length=4096)]


class Scope(RequestModel):
    pull: bool = True
    push: bool = False


class LoginPatch(RequestModel):
    username: Username | None = None
    password: Password | None = None
    scope: Scope | None = None


class RegistryLogin(LoginPatch):
    """A stored login: its password is sealed apart, so the stored spec has none."""

    username: Username
    scope: Scope = Field(default_factory=Scope)


class NewRegistryLogin(RegistryLogin):
    password: Password


class Restrictions(RequestModel):
    """A restricted login serves only the jobs and build services of `projects`."""

    restricted: bool = False
    projects: list[ResourceId] = Field(default_factory=list, max_length=100)


class RegistryPatch(RequestModel):
    """Update body (PATCH .../{credentialId}): `credentials` merge field by field (a login
    without `password` keeps the stored one); `restrictions` replace the stored ones."""

    credentials: LoginPatch | None = None
    restrictions: Restrictions | None = None


class RegistrySpec(RequestModel):
    """Every stored spec (no password), re-validated whole after a change."""

    name: Name
    provider: Provider
    registry_url: RegistryUrl | None = None
    credentials: RegistryLogin
    restrictions: Restrictions = Field(default_factory=Restrictions)

    @model_validator(mode="after")
    def _consistent(self) -> RegistrySpec:
        if self.provider not in SUPPORTED_PROVIDERS:
            raise field_error(
                "provider",
                f"{self.provider!r} credentials are not supported by dockyard, which keeps "
                f"username and password logins: use one of {', '.join(SUPPORTED_PROVIDERS)}",
            )
        if self.provider == "custom" and self.registry_url is None:
            raise field_error("registryUrl", "custom credentials name their registry")
        if self.restrictions.restricted and not self.restrictions.projects:
            raise field_error("restrictions", "restricted credentials name their projects")
        return self

    def registry(self) -> str:
        """The registry the login is for, as a docker client configuration keys it: its host
        (and port); Docker Hub's by the key the docker client writes for it."""
        url = self.registry_url or PROVIDER_REGISTRIES[self.provider]
        host = url.removeprefix("https://").removeprefix("http://").partition("/")[0]
        return PROVIDER_REGISTRIES["dockerhub"] if host in DOCKER_HUB_HOSTS else host


class RegistryCreate(RegistrySpec):
    """Create body: the login has its password."""

    credentials: NewRegistryLogin


class ShownScope(WireModel):
    pull: bool
    push: bool


class ShownLogin(WireModel):
    """What replies show of a login: its scope, never the password."""

    scope: ShownScope


class ShownRestrictions(WireModel):
    restricted: bool
    projects: list[str]


class CredentialRefresh(WireModel):
    """Username and password logins are never refreshed: always healthy."""

    status: Literal["healthy", "retrying", "suspended"] = "healthy"
    failure_count: int = 0
    retry_delay: int = 0


class RegistryResponse(WireModel):
    id: str
    name: str
    provider: Provider
    registry_url: str
    credentials: ShownLogin
    restrictions: ShownRestrictions
    registry_credential_refresh: CredentialRefresh
    created_at: Timestamp
    updated_at: Timestamp


class RegistryList(WireModel):
    credentials: list[RegistryResponse]
