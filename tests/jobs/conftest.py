"""Fixtures of job tests: the create page's example body."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import page_examples


@pytest.fixture
def create_example() -> dict[str, Any]:
    return page_examples("create-manual-job.md")[0]
