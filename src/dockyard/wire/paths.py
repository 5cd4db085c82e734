"""The JSON path a validation error names, as the error envelope's `details` show it
(`vcsData.files[0].path`), and the errors model-level rules raise about one field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

UNION_TAG_PREFIX = "oneOf:"


def union_tag(variant: str) -> str:
    """The tag of a oneOf variant (pydantic `Tag`): pydantic puts it into an error's `loc`;
    `field_path` leaves it out, so errors name the user's JSON path."""
    return UNION_TAG_PREFIX + variant


def field_path(location: tuple[int | str, ...]) -> str:
    """('body', 'vcsData', 'files', 0, 'path') -> 'vcsData.files[0].path'; other sources keep
    their prefix ('query.per_page'); oneOf variant tags and pydantic's `[key]` marker (an
    invalid key of a map: `buildFiles./a/../b`) are left out."""
    source, *rest = location or ("body",)
    parts = [] if source == "body" else [str(source)]
    for part in rest:
        if isinstance(part, str) and (part.startswith(UNION_TAG_PREFIX) or part == "[key]"):
            continue
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts) or "body"


FIELD_RULE = "field_rule"


def field_error(field: str, message: str) -> PydanticCustomError:
    """An error a model-level rule raises about one of its fields (named by wire name), so the
    reply's details name that field rather than the object."""
    return PydanticCustomError(FIELD_RULE, message, {"field": field})


def error_path(error: Mapping[str, Any], source: tuple[str, ...] = ()) -> str:
    """The JSON path a validation error names; `source` prefixes its `loc` (("body",) for a
    model validated outside FastAPI's request parsing)."""
    if error["type"] == "json_invalid":
        return "body"
    location = (*source, *error["loc"])
    if error["type"] == FIELD_RULE:
        location = (*location, error["ctx"]["field"])
    return field_path(location)
