"""A run that prints its secrets encoded (base64 of its whole environment, a multi-line key,
a secret across the 16 KiB line limit) stores none of them: the stored logs hold neither the
values nor their base64."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.logs.masking import MASK, base64_fragments
from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job, serving

SECRET = "s3cr3t-masked-v4lue"
KEY = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABgQC\nZm9vYmFyYmF6cXV4\n-----END KEY-----"
# 16 380 characters, then the secret: the engine cuts the line inside it.
LEAKS = 'env | base64 -w 0; echo; echo "$KEY"; head -c 16380 /dev/zero | tr "\\0" x; echo "$SECRET"'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(Path(tmp_path_factory.mktemp("masking"))) as live:
        yield live


@pytest.mark.e2e
def test_encoded_and_multi_line_secrets_are_masked_in_stored_logs(live: LiveDockyard) -> None:
    job = busybox_job(live, "encoder", LEAKS, runtimeEnvironment={"SECRET": SECRET, "KEY": KEY})
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    lines = [
        line["log"]
        for line in live.http.get(f"/v1/projects/{live.project}/jobs/{job}/logs").json()["data"]
    ]
    text = "\n".join(lines)
    assert len(lines) >= 6 and MASK in text, lines
    leaked = {SECRET, *KEY.splitlines()[1:3]}
    for value in (SECRET, KEY):
        leaked |= base64_fragments(value.encode())
    assert not [form for form in leaked if form in text]
    assert any(line.startswith("x" * 16_380) and line.endswith(MASK[:4]) for line in lines)
