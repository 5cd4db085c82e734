"""Request bodies as JSON (wire names): what a PATCH gave, a JSON merge, and re-validation of a
merged whole with errors named by JSON path. Shared by every resource with PATCH semantics."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dockyard.errors import Invalid
from dockyard.wire.paths import error_path

Model = TypeVar("Model", bound=BaseModel)


def wire_body(model: BaseModel) -> dict[str, Any]:
    """`model` as JSON with wire names, unset optional fields left out."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def changes_of(patch: BaseModel) -> dict[str, Any]:
    """The fields a request body gave, by wire name; an explicit top-level null is kept (as
    None) so that it clears the stored field."""
    fields = type(patch).model_fields
    cleared = {
        fields[name].alias or name: None
        for name in patch.model_fields_set
        if getattr(patch, name) is None
    }
    return cleared | patch.model_dump(mode="json", by_alias=True, exclude_unset=True)


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """`data` as `model`, or Invalid naming the first failing field by its JSON path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(error_path(error, source=("body",)), error["msg"]) from exc


def merged(
    stored: dict[str, Any], patch: dict[str, Any], only: frozenset[str] | None = None
) -> dict[str, Any]:
    """JSON merge: null removes a field, an object merges into the stored one (at this level
    only the fields in `only`, when given), anything else replaces the stored value."""
    result = dict(stored)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif (
            isinstance(value, dict)
            and isinstance(result.get(key), dict)
            and (only is None or key in only)
        ):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
