"""Constrained field types the spec pages share (names, descriptions, tags)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# The pages' name pattern, verbatim.
NAME_PATTERN = r"^[a-zA-Z]((-|\s)?[a-zA-Z0-9]+((-|\s)[a-zA-Z0-9]+)*)?$"
# The pages' description pattern lists these characters: letters, digits, . , ? whitespace
# \ / ' " ( ) [ ] ; ` % ^ & * - _ : ! (rewritten with Python's escaping).
DESCRIPTION_PATTERN = r"^[a-zA-Z0-9.,?\s\\/'\"()\[\];`%^&*\-_:!]+$"

Name = Annotated[str, Field(min_length=3, max_length=52, pattern=NAME_PATTERN)]
Description = Annotated[str, Field(max_length=200, pattern=DESCRIPTION_PATTERN)]
ResourceTag = Annotated[
    str, Field(min_length=3, max_length=100, pattern=r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$")
]
# A project's (or another resource's) id: its name as a slug.
ResourceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
