"""What a run's overrides may change with the permission to run a job alone, and what needs
the permission to change the job itself."""

from __future__ import annotations

from typing import Any

from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

# What a token holding only "Run Job" may set on a run: its own variables and its plan. The
# image, entrypoint, command, files and mounts decide what code runs next to the job's
# secrets, so they need the permission that could change the job itself.
RUN_ONLY_OVERRIDES = frozenset({"runtimeEnvironment", "billing"})
# Variables that make a shell, the dynamic loader or a language runtime load or run code
# named in their value (bash expands BASH_ENV and PS4 with command substitution): setting
# one would change what the job executes, like overriding its command.
CODE_LOADING_VARIABLES = frozenset(
    {
        "BASH_ENV",
        "BASHOPTS",
        "ENV",
        "PS4",
        "PROMPT_COMMAND",
        "SHELLOPTS",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "NODE_OPTIONS",
        "NODE_PATH",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONWARNINGS",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "_JAVA_OPTIONS",
    }
)


def loads_code(name: str) -> bool:
    return name.upper() in CODE_LOADING_VARIABLES


def require_override_permission(principal: Principal, overrides: dict[str, Any]) -> None:
    environment = overrides.get("runtimeEnvironment") or {}
    if overrides.keys() - RUN_ONLY_OVERRIDES or any(map(loads_code, environment)):
        principal.require(Permission.JOBS_UPDATE)
