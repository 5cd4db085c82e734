"""Every setting of dockyard, read from env ``DOCKYARD_*`` and an optional TOML file.

Precedence: explicit arguments, then the environment, then the file named by
``DOCKYARD_CONFIG``, then the defaults below.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from dockyard.errors import DockyardError


class ContainerNetwork(StrEnum):
    PROJECT = "project"  # the project's own network (engine/networks.py)
    NONE = "none"
    BRIDGE = "bridge"  # the engine's default bridge, shared by every project
    # Unsafe: the container shares the worker's network, loopback services included (the
    # API, the database, the registry, the Docker engine if it listens on TCP).
    HOST = "host"


class DockerfileEngine(StrEnum):
    BUILDKIT = "buildkit"
    KANIKO = "kaniko"  # dockyard's daemonless engine: buildah (engine/buildah.py)


class BuildNetwork(StrEnum):
    DEFAULT = "default"  # BuildKit's: the engine's default bridge
    NONE = "none"
    HOST = "host"  # unsafe, as for job containers


class ContainerRuntime(StrEnum):
    AUTO = "auto"
    RUNC = "runc"
    RUNSC = "runsc"


class RunEngine(StrEnum):
    LOCAL = "local"
    SWARM = "swarm"


class RegistryLogin(BaseModel):
    """How to pull from a private registry; job deployments name it by its id."""

    registry: str
    username: str
    password: str


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "dockyard"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCKYARD_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in the data dir"
    )
    sqlite_busy_seconds: float = Field(
        default=30.0,
        gt=0,
        description="on SQLite, how long a write waits for a lock another connection (or "
        "process) holds; then a request is answered 503 database-unavailable and the worker "
        "tries again",
    )
    listen: str = Field(default="127.0.0.1:8088", pattern=r"^[^:\s]+:\d{1,5}$")
    public_url: str | None = Field(default=None, description="URL printed and linked to")
    metrics_listen: str | None = Field(
        default=None,
        pattern=r"^[^:\s]+:\d{1,5}$",
        description="host:port of a listener serving the Prometheus metrics without a token, "
        "on `dockyard worker` and `dockyard up` (for scrapers on a private network); unset: "
        "none, only the API's GET /metrics (with a token)",
    )
    docker_host: str = Field(
        default="unix:///var/run/docker.sock",
        validation_alias=AliasChoices("DOCKER_HOST", "DOCKYARD_DOCKER_HOST"),
    )
    registry: str = Field(default="127.0.0.1:5000", pattern=r"^[^/\s]+:\d{1,5}$")
    registry_autostart: bool = Field(
        default=True,
        description="start Debian's docker-registry on a loopback registry address "
        "when nothing answers there; it lets in only dockyard, with a password generated once "
        "into the data dir (registry/password, 0600)",
    )
    registry_username: str | None = Field(
        default=None,
        min_length=1,
        description="login of the registry at DOCKYARD_REGISTRY when it is not one dockyard "
        "starts (builds push and runs pull with it); with DOCKYARD_REGISTRY_PASSWORD",
    )
    registry_password: SecretStr | None = Field(
        default=None,
        min_length=1,
        description="password of DOCKYARD_REGISTRY_USERNAME at DOCKYARD_REGISTRY",
    )
    container_network: ContainerNetwork = Field(
        default=ContainerNetwork.PROJECT,
        description="the network of job containers: `project` (each project's own), `none`, "
        "`bridge` (the engine's default, shared by all projects) or `host` (unsafe: jobs reach "
        "every service of the worker's machine)",
    )
    build_network: BuildNetwork = Field(
        default=BuildNetwork.DEFAULT,
        description="the network of build steps: `default` (the engine's default bridge), "
        "`none`, or `host` (unsafe: build steps reach every service of the worker's machine)",
    )
    kaniko_network_image: str | None = Field(
        default=None,
        min_length=1,
        description="an image of the Docker engine that has `sleep` (e.g. `local/busybox:1`): "
        "kaniko build steps then get a network, that of a container of this image on the "
        "engine's default bridge (contained as BuildKit's steps are); unset: they have none. "
        "Needs the Docker engine on the worker's machine",
    )
    build_engines: list[DockerfileEngine] | None = Field(
        default=None,
        description="the Dockerfile build engines this worker offers, `buildkit` (needs the "
        'Docker engine) and `kaniko` (buildah, daemonless), e.g. `["kaniko"]`; unset: '
        "those this machine has (buildkit when the Docker engine answers, kaniko when buildah "
        "is on PATH). Builds of an engine a worker does not offer are left to others",
    )
    container_runtime: ContainerRuntime = Field(
        # Not `auto`: runsc (ptrace platform) doubles the time of work that makes system
        # calls (bench/BENCH.md, "Container runtime").
        default=ContainerRuntime.RUNC,
        description="the OCI runtime of job containers: `runc` (namespaces on the host's "
        "kernel), `runsc` (gVisor: the job's system calls go to a kernel in user space), or "
        "`auto` (runsc when the engine has it, else runc); a worker whose engine lacks the "
        "runtime named does not start",
    )
    run_engine: RunEngine = Field(
        default=RunEngine.LOCAL,
        description="where job runs execute: `local`, containers on the worker's Docker engine, "
        "or `swarm`, a replicated-job service per attempt on the Docker Swarm that engine "
        "manages (scripts/swarm-up.sh)",
    )
    max_concurrent_builds: int = Field(default=2, ge=1)
    max_concurrent_runs: int = Field(default=4, ge=1)
    secret_key: str | None = Field(default=None, description="base64 AES-256 key")
    key_settle_seconds: float = Field(
        default=60.0,
        ge=0,
        description="how long after a key rotation `dockyard secrets retire` waits before it "
        "drops old keys: running processes seal with the new key within a second, and a write "
        "sealed just before must have landed (more than DOCKYARD_SQLITE_BUSY_SECONDS)",
    )
    git_insteadof: dict[str, str] = Field(
        default_factory=dict,
        description="URL prefix -> replacement (a local path or a URL), applied by dockyard "
        "with git's rule (the longest matching prefix); a local result must stay inside the "
        "replacement's dir, a URL result passes the address policy",
    )
    webhook_secret: str | None = None
    webhook_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="repository URL -> its own webhook secret (else DOCKYARD_WEBHOOK_SECRET)",
    )
    team_id: str = Field(default="dockyard", pattern=r"^[a-z0-9][a-z0-9-]*$")
    log_level: str = "info"
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_lease_seconds: float = Field(
        default=15.0, gt=0, description="a worker silent this long has its work taken over"
    )
    shutdown_grace_seconds: float = Field(
        default=20.0,
        gt=0,
        description="how long a stopping worker waits for its work to be handed back; what "
        "is still pending then is left to lease expiry and recovery",
    )
    container_sweep_seconds: float = Field(
        default=300.0,
        gt=0,
        description="how often a worker removes containers left by concluded or deleted runs "
        "(also once when it starts); a running one goes only when seen on two sweeps",
    )
    build_attempts: int = Field(
        default=2, ge=1, description="starts of a build whose worker died before it is CRASHED"
    )
    build_timeout_seconds: float = Field(default=3600.0, gt=0)
    bundle_max_mb: int = Field(default=512, ge=1)
    bundle_timeout_seconds: float = Field(default=300.0, gt=0)
    fetch_allow: list[str] = Field(
        default_factory=list,
        description="networks (CIDR) or host names of this machine or private networks "
        "(any address that is not global) that git remotes, bundle URLs and notification "
        "webhooks may still name",
    )
    log_retention_days: int = Field(default=30, ge=1, description="older log lines are removed")
    log_retention_lines: int = Field(
        default=100_000, ge=100, description="lines kept of each build and run (the newest)"
    )
    log_max_lines_per_run: int = Field(
        default=1_000_000,
        ge=1,
        description="a run's container lines past this many are dropped, after one marker line "
        "(counted in dockyard_log_lines_dropped_total)",
    )
    log_max_mb_per_run: int = Field(
        default=256,
        ge=1,
        description="a run's container lines past this many MiB are dropped, after one marker "
        "line (counted in dockyard_log_lines_dropped_total)",
    )
    image_retention_days: int = Field(
        default=30,
        ge=0,
        description="`dockyard gc` removes images of builds older than this (the newest "
        "successful build of each job and service stays) and build cache unused as long",
    )
    gc_interval_seconds: float = Field(
        default=0,
        ge=0,
        description="every worker runs `dockyard gc` this often (the first time at its start), "
        "one worker of the installation at a time, and logs what it removed; 0: never",
    )
    max_request_mb: int = Field(default=16, ge=1, description="larger request bodies get 413")
    run_backoff_scale: float = Field(
        default=1.0,
        gt=0,
        description="multiplies the retry back-off of job runs (10 s, 20 s, ... 6 min)",
    )
    registry_retry_scale: float = Field(
        default=1.0,
        gt=0,
        description="multiplies the delays before a push or pull tries again a registry that "
        "does not answer (1, 2, 4, 8 s)",
    )
    usage_sample_seconds: float = Field(
        default=5.0,
        ge=0,
        description="seconds between two samples of a running job container's CPU, memory, "
        "network and disk use, and of a build's steps (0: none are taken)",
    )
    usage_max_samples: int = Field(
        default=720,
        ge=4,
        description="samples kept of a run's attempt or a build: reaching it, every other one "
        "is dropped (never the peak) and the interval doubles",
    )
    probe_time_scale: float = Field(
        default=1.0,
        gt=0,
        description="multiplies the initial delay and period of job health checks",
    )
    registry_credentials: dict[str, RegistryLogin] = Field(
        default_factory=dict,
        description="credentials id -> registry login: the operator's seed of registry "
        "credentials, for ids the API (/v1/integrations/registries) lacks",
    )
    token_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long an API process trusts a token it checked; a revoked token is "
        "refused within this time (0: every request looks the token up)",
    )
    cron_starting_deadline_seconds: float | None = Field(
        default=None,
        ge=0,
        description="a cron job's run due longer ago than this is skipped (Kubernetes' "
        "startingDeadlineSeconds); unset: the latest missed one always runs",
    )

    notification_timeout_seconds: float = Field(
        default=10.0, gt=0, description="longest wait for a notification target to answer"
    )
    notification_retry_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long a notification is retried (5 s back-off doubled each time, at "
        "most 10 min) before its delivery is marked failed",
    )
    notification_backoff_scale: float = Field(
        default=1.0, gt=0, description="multiplies the retry back-off of notifications"
    )
    notification_concurrency: int = Field(
        default=4, ge=1, description="notifications a worker sends at once (one per target)"
    )
    notification_failing_after: int = Field(
        default=5,
        ge=1,
        description="failed attempts in a row after which an integration shows as failing",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("DOCKYARD_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @model_validator(mode="after")
    def _registry_login_whole(self) -> Settings:
        if (self.registry_username is None) != (self.registry_password is None):
            raise ValueError(
                "give DOCKYARD_REGISTRY_USERNAME and DOCKYARD_REGISTRY_PASSWORD together"
            )
        return self

    @field_validator("data_dir")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'dockyard.db'}"

    @cached_property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @cached_property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @cached_property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.listen}"

    @cached_property
    def installation(self) -> str:
        """What tells this dockyard's objects on a shared Docker engine from another's (each
        has its own database): its registry, which every process of it names alike and where
        only its images live."""
        return self.registry

    @cached_property
    def registry_url(self) -> str:
        return f"http://{self.registry}"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


class InvalidSettings(DockyardError):
    code = "invalid-settings"


ENV_PREFIX = "DOCKYARD_"
# DOCKYARD_* variables that are not settings of a server: the CLI's, the scripts' and the
# tests' own.
NOT_SETTINGS = frozenset(
    {"CONFIG", "URL", "TOKEN", "PROJECT", "CONTEXT", "CLI_CONFIG", "PG_DB", "PG_ROLE"}
    | {"PG_PASSWORD", "FUZZ_EXAMPLES", "REQUIRE_BROWSER", "SOAK_SEED"}
)
# How alike a name must be to a setting's to be taken for its misspelling.
TYPO_CUTOFF = 0.85


def setting_names() -> list[str]:
    """Every setting's name (lower case, without the prefix: `max_concurrent_runs`)."""
    return list(Settings.model_fields)


def misspelled(given: Iterable[str], known: list[str]) -> list[str]:
    """Each name of `given` that is not in `known` but close to one, with what it meant."""
    problems = []
    for name in given:
        if name in known:
            continue
        meant = difflib.get_close_matches(name, known, n=1, cutoff=TYPO_CUTOFF)
        if meant:
            problems.append(f"{name} is not a setting: did you mean {meant[0]}?")
    return problems


def _environment_typos(environ: Mapping[str, str]) -> list[str]:
    known = [f"{ENV_PREFIX}{name.upper()}" for name in setting_names()]
    given = [
        name
        for name in environ
        if name.startswith(ENV_PREFIX) and name.removeprefix(ENV_PREFIX) not in NOT_SETTINGS
    ]
    return misspelled(given, known)


def _file_typos(environ: Mapping[str, str]) -> list[str]:
    """Keys of the DOCKYARD_CONFIG file that are no setting (every key of it is meant as one)."""
    known = setting_names()
    unknown = [key for key in _file_keys(environ) if key not in known]
    return [
        typo
        for key in unknown
        for typo in misspelled([key], known)
        or [f"{key} is not a setting ({environ['DOCKYARD_CONFIG']})"]
    ]


def _file_keys(environ: Mapping[str, str]) -> list[str]:
    """The top-level keys of the DOCKYARD_CONFIG file; none without one, or when it does not
    parse (pydantic-settings reports the file itself)."""
    config_file = environ.get("DOCKYARD_CONFIG")
    if not config_file or not Path(config_file).is_file():
        return []
    try:
        with Path(config_file).open("rb") as handle:
            return list(tomllib.load(handle))
    except tomllib.TOMLDecodeError:
        return []


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; a bad value, or a DOCKYARD_* variable or config file key
    that is a misspelled setting, raises InvalidSettings naming it (a typo would otherwise
    fall back to the default silently: SQLite, a fresh secret key)."""
    typos = _environment_typos(os.environ) + _file_typos(os.environ)
    if typos:
        raise InvalidSettings(f"invalid settings: {'; '.join(typos)}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"DOCKYARD_{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidSettings(f"invalid settings: {problems}") from exc
    except SettingsError as exc:
        raise InvalidSettings(f"invalid settings: {exc}") from exc


# ---- where each setting came from (`dockyard config`) --------------------------------------

# Words of a setting's (or a nested key's) name that make its text a secret, elided when shown.
SECRET_WORDS = frozenset({"password", "secret", "secrets", "token", "key"})
ELIDED = "***"
URL_PASSWORD = re.compile(r"(?P<user>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.IGNORECASE)


class Source(StrEnum):
    DEFAULT = "default"
    ENVIRONMENT = "environment"
    FILE = "file"


@dataclass(frozen=True)
class EffectiveSetting:
    """A setting's value (secrets elided) and where it came from: `origin` names the
    environment variable or the config file; None for a default."""

    name: str
    variable: str
    value: Any
    source: Source
    origin: str | None


def _variables_of(name: str) -> list[str]:
    """The environment variables a setting is read from, first match wins."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"{ENV_PREFIX}{name.upper()}"]


def _is_secret(name: str) -> bool:
    return not SECRET_WORDS.isdisjoint(name.lower().split("_"))


def elided(name: str, value: Any) -> Any:
    """`value` (JSON-shaped) with secrets replaced: the whole text of a secret-named setting
    or key (a dict's values, for a secret-named dict), and passwords in URLs."""
    if isinstance(value, dict):
        return {key: elided(name if _is_secret(name) else key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [elided(name, item) for item in value]
    if isinstance(value, str):
        return ELIDED if _is_secret(name) else URL_PASSWORD.sub(rf"\g<user>{ELIDED}@", value)
    return value


def effective_settings(
    settings: Settings, environ: Mapping[str, str] = os.environ
) -> list[EffectiveSetting]:
    """Every setting of `settings` as read from `environ` (its variables first, then the
    DOCKYARD_CONFIG file, then the default), secrets elided."""
    upper = {key.upper(): key for key in environ}  # variables are matched case-insensitively
    in_file = set(_file_keys(environ))
    values = settings.model_dump(mode="json")
    shown = []
    for name in setting_names():
        variables = _variables_of(name)
        given = next((variable for variable in variables if variable in upper), None)
        if given is not None:
            source, origin = Source.ENVIRONMENT, upper[given]
        elif name in in_file:
            source, origin = Source.FILE, environ["DOCKYARD_CONFIG"]
        else:
            source, origin = Source.DEFAULT, None
        value = values[name]
        if isinstance(getattr(settings, name), SecretStr):
            value = ELIDED
        shown.append(EffectiveSetting(name, variables[0], elided(name, value), source, origin))
    return shown
