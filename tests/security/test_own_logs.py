"""dockyard's own output never carries a secret value held in a crashing frame's locals."""

from __future__ import annotations

import subprocess
import sys

SECRET = "s3cr3t-build-arg-value-7f1c"

CRASH = f"""
import structlog
from dockyard.logging import configure_logging

configure_logging()
log = structlog.get_logger()

def build(build_arguments):
    raise RuntimeError("engine failed")

try:
    build({{"TOKEN": "{SECRET}"}})
except RuntimeError:
    log.exception("build crashed")
"""


def test_a_logged_exception_shows_no_locals() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH], capture_output=True, text=True, timeout=60, check=True
    )
    output = result.stdout + result.stderr
    assert "engine failed" in output
    assert SECRET not in output
