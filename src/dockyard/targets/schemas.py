"""What jobs and build services share as build targets: how their image is built
(buildSettings: oneOf dockerfile | buildpack, buildConfiguration, build arguments, secret
files), their plans, and the status of their latest build (BuildStatus, the spec pages' enum,
whose rules are in builds/status.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag

from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import union_tag


class BuildStatus(StrEnum):
    QUEUED = "QUEUED"
    PENDING = "PENDING"
    UNSCHEDULABLE = "UNSCHEDULABLE"
    STARTING = "STARTING"
    CLONING = "CLONING"
    BUILDING = "BUILDING"
    UPLOADING = "UPLOADING"
    ABORTED = "ABORTED"
    FAILURE = "FAILURE"
    SUBMISSION_FAILURE = "SUBMISSION_FAILURE"
    SUCCESS = "SUCCESS"
    CRASHED = "CRASHED"
    IN_PROGRESS = "IN_PROGRESS"


DEFAULT_CI_IGNORE_FLAGS: tuple[str, ...] = (
    "[skip ci]",
    "[ci skip]",
    "[no ci]",
    "[skip nf]",
    "[nf skip]",
    "[northflank skip]",
    "[skip northflank]",
)


def one_of_keys(*keys: str, otherwise: str) -> Discriminator:
    """A oneOf told apart by which key is present: the first of `keys` in the object picks its
    variant (tagged `union_tag(key)`); a second one is then an unknown field of that variant, so
    the error names it. Without any, the `otherwise` variant is taken."""

    def variant(value: Any) -> str:
        present = value if isinstance(value, dict) else getattr(value, "model_fields_set", ())
        return union_tag(next((key for key in keys if key in present), otherwise))

    return Discriminator(variant)


# ---- paths ---------------------------------------------------------------------------------

# The pages' path patterns (the character class written unambiguously).
FILE_PATH_PATTERN = r"^/([a-zA-Z0-9._-]+/)*[a-zA-Z0-9._-]+$"
DIRECTORY_PATTERN = r"^/([a-zA-Z0-9._-]+/)*[a-zA-Z0-9._-]*$"
PARENT_SEGMENT_PATTERN = r"(^|/)\.\.(/|$)"


def no_parent_segments(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("must not contain '..' segments")
    return path


NoParentSegments = AfterValidator(no_parent_segments)
_NOT_PARENT = {"not": {"pattern": PARENT_SEGMENT_PATTERN}}

FilePath = Annotated[
    str,
    Field(pattern=FILE_PATH_PATTERN, max_length=1024, json_schema_extra=_NOT_PARENT),
    NoParentSegments,
]
DirectoryPath = Annotated[
    str,
    Field(pattern=DIRECTORY_PATTERN, max_length=1024, json_schema_extra=_NOT_PARENT),
    NoParentSegments,
]

# ---- buildSettings -------------------------------------------------------------------------

# The pages give `one of 16384 … 524288` together with `min 16384, max 65536`: the sizes that
# satisfy both are accepted.
BuildStorageSize = Annotated[
    Literal[16384, 32768, 65536],
    Field(
        description="Ephemeral storage per build in MB",
        json_schema_extra={"minimum": 16384, "maximum": 65536},
    ),
]
BuildEngine = Literal["buildkit", "kaniko"]
Builder = Literal[
    "HEROKU_24",
    "HEROKU_22",
    "HEROKU_22_CLASSIC",
    "HEROKU_20",
    "HEROKU_18",
    "GOOGLE_22",
    "GOOGLE_V1",
    "CNB_ALPINE",
    "CNB_BIONIC",
    "PAKETO_JAMMY_TINY",
    "PAKETO_JAMMY_BASE",
    "PAKETO_JAMMY_FULL",
    "PAKETO_TINY",
    "PAKETO_BASE",
    "PAKETO_FULL",
]


class BuildEphemeralStorage(RequestModel):
    storage_size: BuildStorageSize | None = None


class BuildStorage(RequestModel):
    ephemeral_storage: BuildEphemeralStorage | None = None


class BuildkitOptions(RequestModel):
    use_cache: bool | None = Field(None, description="Use persistent storage to cache layers.")
    cache_storage_size: int | None = Field(None, ge=1, description="Cache storage in MB.")
    use_internal_cache: bool | None = Field(None, description="DEPRECATED, no effect.")
    internal_cache_storage: float | None = Field(None, description="DEPRECATED, no effect.")


class DockerfileOptions(RequestModel):
    use_cache: bool | None = Field(None, description="DEPRECATED, no effect.")
    build_engine: BuildEngine = "buildkit"
    docker_file_path: FilePath = Field(description="The file path of the Dockerfile.")
    docker_work_dir: DirectoryPath = Field(description="The working directory of the build.")
    buildkit: BuildkitOptions | None = None


class BuildpackOptions(RequestModel):
    builder: Builder = "HEROKU_24"
    buildpack_locators: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = None
    build_context: DirectoryPath | None = None
    use_cache: bool | None = None


class DockerfileBuildSettings(RequestModel):
    """Build from a Dockerfile."""

    storage: BuildStorage | None = None
    dockerfile: DockerfileOptions


class BuildpackBuildSettings(RequestModel):
    """Build from a Buildpack."""

    storage: BuildStorage | None = None
    buildpack: BuildpackOptions


BuildSettings = Annotated[
    Annotated[DockerfileBuildSettings, Tag(union_tag("dockerfile"))]
    | Annotated[BuildpackBuildSettings, Tag(union_tag("buildpack"))],
    one_of_keys("dockerfile", "buildpack", otherwise="dockerfile"),
    Field(description="Build engine: exactly one of `dockerfile`, `buildpack`."),
]

# ---- buildConfiguration --------------------------------------------------------------------

PathIgnoreRule = Annotated[str, Field(max_length=260)]
CiIgnoreFlag = Annotated[str, Field(max_length=72)]
CredentialsId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$", max_length=100)]
# Not on the pages: a Dockerfile stage name, so it can never read as a docker option.
DockerfileTarget = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", max_length=100)]


def default_ci_ignore_flags() -> list[str]:
    return list(DEFAULT_CI_IGNORE_FLAGS)


class BuildConfiguration(RequestModel):
    """The buildConfiguration fields jobs and build services share (services add branch and
    pull-request restrictions)."""

    path_ignore_rules: list[PathIgnoreRule] | None = None
    is_allow_list: bool | None = None
    ci_ignore_flags_enabled: bool | None = None
    ci_ignore_flags: list[CiIgnoreFlag] = Field(default_factory=default_ci_ignore_flags)
    dockerfile_target: DockerfileTarget | None = None
    docker_credentials: list[CredentialsId] | None = None
    include_git_folder: bool | None = None
    full_git_clone: bool | None = None
    storage: BuildStorage | None = None


# ---- build arguments and secret files ------------------------------------------------------

# A map whose keys must all match the key pattern, as the schema says too: JSON Schema's
# `patternProperties` alone would let any other key through.
ONLY_MATCHING_KEYS = Field(json_schema_extra={"additionalProperties": False})

# "Keys may only contain letters, numbers, hyphens, forward slashes and dots"; the pages' own
# examples also use `_` (ARGUMENT_1), so it is allowed too.
VariableName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_./-]+$", max_length=256)]
Variables = Annotated[
    dict[VariableName, Annotated[str, Field(max_length=65536)]], ONLY_MATCHING_KEYS
]
BuildArguments = Variables

BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# The encodings a file's bytes may be written in (Node's Buffer names, as the clients use).
FileEncoding = Literal["utf-8", "utf8", "ascii", "latin1", "binary", "base64", "hex"]


class SecretFile(RequestModel):
    """A secret file: base64 `data`, written in `encoding`."""

    data: str = Field(pattern=BASE64_PATTERN, max_length=1_048_576, description="base64")
    encoding: FileEncoding = "utf-8"


SecretFiles = Annotated[dict[FilePath, SecretFile], ONLY_MATCHING_KEYS]
BuildFiles = SecretFiles
# "Must be a valid Docker secret mount identifier".
DockerSecretMountId = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", max_length=128)]
DockerSecretMounts = Annotated[dict[DockerSecretMountId, SecretFile], ONLY_MATCHING_KEYS]


# ---- resource fields jobs and build services share -----------------------------------------

PlanId = Annotated[
    str, Field(min_length=3, max_length=100, pattern=r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$")
]


class GpuConfiguration(RequestModel):
    gpu_type: str = Field(min_length=1, max_length=100)
    gpu_count: int | None = Field(None, ge=1)
    timesliced: bool | None = None


class Gpu(RequestModel):
    enabled: bool | None = None
    configuration: GpuConfiguration | None = None


class Infrastructure(RequestModel):
    architecture: Literal["x86", "arm"] | None = None


class LatestBuild(WireModel):
    status: BuildStatus
    last_transition_time: Timestamp | None = None


class BuildStatusOfTarget(WireModel):
    """`status` of a job or build service: `build` appears once it has a build."""

    build: LatestBuild | None = None
