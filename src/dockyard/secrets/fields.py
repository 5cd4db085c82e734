"""Secret fields of a resource's wire body, sealed at rest one value per field path."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.secrets.crypto import SecretBox

FieldPath = tuple[str, ...]


def _pop_path(body: dict[str, Any], path: FieldPath) -> Any:
    *parents, last = path
    for parent in parents:
        body = body.get(parent) or {}
    return body.pop(last, None)


def _put_path(body: dict[str, Any], path: FieldPath, value: Any) -> None:
    *parents, last = path
    for parent in parents:
        body = body.setdefault(parent, {})
    body[last] = value


@dataclass(frozen=True)
class SecretFields:
    """The secret field paths of one kind of resource (`job`, `service`). A sealed value is
    bound to its resource and field (`<kind>:<uid>:<path>`), so it opens nowhere else."""

    kind: str
    paths: tuple[FieldPath, ...]
    read_permission: Permission

    def shown(
        self, principal: Principal, opened: dict[str, Any], public: dict[str, Any]
    ) -> dict[str, Any]:
        """The body a reply shows `principal`: the whole (`opened`) only to a holder of the
        secrets read permission, else the `public` part, as GET shows it to everyone."""
        return opened if principal.can(self.read_permission) else public

    def context(self, uid: str, key: str) -> str:
        return f"{self.kind}:{uid}:{key}"

    def seal(
        self, box: SecretBox, uid: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """`body` split into its public part and its secret fields, each sealed."""
        public = copy.deepcopy(body)
        sealed: dict[str, str] = {}
        for path in self.paths:
            value = _pop_path(public, path)
            if value is not None:
                key = ".".join(path)
                sealed[key] = box.seal_json(value, context=self.context(uid, key))
        return public, sealed

    def open(
        self, box: SecretBox, uid: str, public: dict[str, Any], sealed: dict[str, str]
    ) -> dict[str, Any]:
        """The whole body again, secrets included."""
        body = copy.deepcopy(public)
        for key, value in sealed.items():
            opened = box.open_json(value, context=self.context(uid, key))
            _put_path(body, tuple(key.split(".")), opened)
        return body
