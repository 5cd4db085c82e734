"""The README's "Your first build and run", exactly as written: its shell commands (a copy of
examples/hello made a git repository under ~/git) in bash, its `make up` line as a live
`dockyard up` with the environment that line sets, and its `dockyard` commands through the CLI
(the URL and the admin token those of the live server), on the real engine, registry and git."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from tests.live import DockyardProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECTION = "### Your first build and run"
SERVE = "make up"


def section_blocks() -> tuple[list[str], list[str]]:
    """The section's two blocks of commands: the server's terminal, then the client's."""
    section = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, blocks
    return blocks[0].splitlines(), blocks[1].splitlines()


def shell(line: str, home: Path) -> str:
    """`line` run by bash in the clone, as a newcomer's shell would, with no git identity or
    configuration of the machine's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env |= {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    done = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, (line, done.stderr)
    return done.stdout


def test_the_readme_first_build_and_run_greets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_lines, client_lines = section_blocks()
    *prepare, serve = server_lines
    assert serve.endswith(f" {SERVE}"), serve
    home = tmp_path / "home"
    home.mkdir()
    for line in prepare:
        shell(line, home)
    # The `make up` line's own assignments, expanded by bash.
    insteadof = shell(serve.removesuffix(SERVE) + "printenv DOCKYARD_GIT_INSTEADOF", home)
    process = DockyardProcess(
        tmp_path / "dockyard", env={"DOCKYARD_GIT_INSTEADOF": insteadof.strip()}
    ).start()
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    for name in ("DOCKYARD_URL", "DOCKYARD_TOKEN", "DOCKYARD_CONTEXT", "DOCKYARD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    outputs = []
    try:
        process.wait_ready()
        token = process.admin_token()
        assert token, process.output()
        for line in client_lines:
            line = line.replace("http://127.0.0.1:8088", process.url).replace("dky_...", token)
            words = shlex.split(line)
            assert words[0] == "dockyard", line
            result = CliRunner().invoke(app, words[1:])
            assert result.exit_code == 0, (line, result.output, result.exception)
            outputs.append(result.output)
    finally:
        process.stop()

    *_, built, ran = outputs
    assert "Pushed " in built and "SUCCESS" in built.splitlines()[-1], built
    assert "Hello from dockyard!" in ran and "GREETING=Hello from dockyard" in ran, ran
    assert "SUCCESS" in ran.splitlines()[-1], ran
