"""Registry credentials under /v1/integrations/registries, as the official clients call them:
add, list, get, update (PATCH), delete. No reply shows a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dockyard.api.deps import SecretBoxDep, SessionDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import (
    RegistriesCreate,
    RegistriesDelete,
    RegistriesRead,
    RegistriesUpdate,
)
from dockyard.registries import service
from dockyard.registries.schemas import (
    RegistryCreate,
    RegistryList,
    RegistryPatch,
    RegistryResponse,
)
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/integrations/registries", tags=["registries"])

CredentialId = Annotated[str, Path(max_length=64, description="ID of the registry credentials")]


@router.post("")
async def add_registry_credentials(
    body: RegistryCreate, session: SessionDep, box: SecretBoxDep, _: RegistriesCreate
) -> Envelope[RegistryResponse]:
    """Add credentials; 409 if ones with that name's id exist. The password is sealed and
    never shown again, not even in this reply."""
    row = await service.create_credentials(session, box, body)
    return Envelope(data=service.response(row))


@router.get("")
async def list_registry_credentials(
    session: SessionDep, page: PageDep, _: RegistriesRead
) -> ListEnvelope[RegistryList]:
    result = await service.list_credentials(session, page)
    items = [service.response(row) for row in result.items]
    return ListEnvelope(data=RegistryList(credentials=items), pagination=pagination_of(result))


@router.get("/{credentialId}")
async def get_registry_credentials(
    credentialId: CredentialId, session: SessionDep, _: RegistriesRead
) -> Envelope[RegistryResponse]:
    row = await service.get_credentials(session, credentialId)
    return Envelope(data=service.response(row))


@router.patch("/{credentialId}")
async def update_registry_credentials(
    credentialId: CredentialId,
    body: RegistryPatch,
    session: SessionDep,
    box: SecretBoxDep,
    _: RegistriesUpdate,
) -> Envelope[RegistryResponse]:
    """Merge `credentials` field by field (a new password, username or scope) and replace
    `restrictions`."""
    row = await service.update_credentials(session, box, credentialId, body)
    return Envelope(data=service.response(row))


@router.delete("/{credentialId}")
async def delete_registry_credentials(
    credentialId: CredentialId, session: SessionDep, box: SecretBoxDep, _: RegistriesDelete
) -> Envelope[dict[str, str]]:
    """Delete the credentials; 409 naming the jobs and build services that use them."""
    await service.delete_credentials(session, box, credentialId)
    return Envelope(data={})
