"""What both Dockerfile builders (BuildKit's `docker build`, buildah) take alike: the source
paths checked inside the source, the target stage, build arguments passed through the
builder's environment (`--build-arg NAME` alone, never the value on a command line any local
user can read), and secrets as 0600 files mounted with `--secret id=NAME,src=FILE`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from dockyard.engine.paths import inside
from dockyard.errors import BuildFailed

# The `id=NAME,src=FILE` csv syntax of `--secret` must not see a `,` or `=` in a name.
SECRET_ID = re.compile(r"[A-Za-z0-9_.-]+")
BUILD_ARG_NAME = re.compile(r"[^=\s]+")
# Docker's predefined proxy arguments are build arguments users legitimately set, but Go's
# HTTP client would also read them from the builder's environment and send the build context
# and registry logins through that proxy: they stay on the command line.
PROXY_ARGS = frozenset({"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"})
STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def source_paths(source_dir: Path, dockerfile: str, context: str) -> tuple[Path, Path]:
    """The Dockerfile and the context dir, both relative to `source_dir` (a leading `/` is its
    root) and inside it; BuildFailed when either is missing."""
    root = source_dir.resolve()
    dockerfile_path = inside(root, dockerfile, "Dockerfile path")
    context_dir = inside(root, context, "Build context path")
    if not dockerfile_path.is_file():
        raise BuildFailed(f"Dockerfile {dockerfile} does not exist in the source")
    if not context_dir.is_dir():
        raise BuildFailed(f"Build context {context} is not a directory of the source")
    return dockerfile_path, context_dir


def target_option(target: str | None) -> list[str]:
    if target is None:
        return []
    if not STAGE_NAME.fullmatch(target):
        raise BuildFailed(f"Invalid build target {target!r}: not a stage name")
    return [f"--target={target}"]


def build_arg_env(
    build_args: Mapping[str, str], reserved: re.Pattern[str], builder: str
) -> dict[str, str]:
    """The build arguments the builder takes from its environment: all but the proxy ones.
    A name the `builder` itself reads from its environment (`reserved`) is refused: as a
    build argument it would steer the builder."""
    env = {}
    for name, value in build_args.items():
        if not BUILD_ARG_NAME.fullmatch(name):
            raise BuildFailed(f"Invalid build argument name {name!r}")
        if reserved.fullmatch(name):
            raise BuildFailed(f"Invalid build argument name {name!r}: {builder} reads it itself")
        if name.lower() not in PROXY_ARGS:
            env[name] = value
    return env


def build_arg_options(build_args: Mapping[str, str], env: Mapping[str, str]) -> Iterator[str]:
    for name, value in build_args.items():
        yield f"--build-arg={name}" if name in env else f"--build-arg={name}={value}"


def write_secrets(scratch: Path, secrets: Mapping[str, bytes]) -> list[str]:
    """Each secret into a 0600 file of `scratch`; the `--secret` options that mount them."""
    for secret_id in secrets:
        if not SECRET_ID.fullmatch(secret_id):
            raise BuildFailed(
                f"Invalid secret mount name {secret_id!r}: letters, digits, '_', '.', '-'"
            )
    options = []
    for index, (secret_id, value) in enumerate(secrets.items()):
        path = scratch / f"secret-{index}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(value)
        options.append(f"--secret=id={secret_id},src={path}")
    return options
