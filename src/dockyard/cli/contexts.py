"""Where the CLI finds its server: named contexts (URL, token, default project) in a config
file only its owner can read, chosen by `--context`, DOCKYARD_CONTEXT or the current one.
DOCKYARD_URL and DOCKYARD_TOKEN, when both set, stand in for any file (CI scripts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from dockyard.errors import DockyardError

CONFIG_ENV = "DOCKYARD_CLI_CONFIG"


class Context(BaseModel):
    url: str
    token: str
    project: str | None = None


class ContextFile(BaseModel):
    current: str | None = None
    contexts: dict[str, Context] = {}


def config_path() -> Path:
    if configured := os.environ.get(CONFIG_ENV):
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "dockyard" / "cli.json"


def load() -> ContextFile:
    path = config_path()
    if not path.exists():
        return ContextFile()
    try:
        return ContextFile.model_validate_json(path.read_bytes())
    except (ValidationError, OSError) as exc:
        raise DockyardError(f"cannot read {path}: {exc}") from exc


def save(config: ContextFile) -> Path:
    """Write the file with mode 0600 (it holds tokens), replacing it atomically."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps(config.model_dump(exclude_none=True), indent=2) + "\n")
    os.replace(partial, path)
    return path


def resolve(name: str | None) -> Context:
    """The context to talk to: the environment's URL and token, else `name`, else the
    current context of the file."""
    url, token = os.environ.get("DOCKYARD_URL"), os.environ.get("DOCKYARD_TOKEN")
    if url and token and not name:
        return Context(url=url, token=token, project=os.environ.get("DOCKYARD_PROJECT"))
    config = load()
    chosen = name or os.environ.get("DOCKYARD_CONTEXT") or config.current
    if chosen is None:
        raise DockyardError("not logged in: run `dockyard login --url URL --token TOKEN`")
    if chosen not in config.contexts:
        known = ", ".join(sorted(config.contexts)) or "none"
        raise DockyardError(f"no context named {chosen!r} (known: {known})")
    return config.contexts[chosen]
