"""Schemathesis fuzzes the REST API in-process from the app's own /openapi.json, as an admin,
over a project that holds a job, a build service, a queued build of each and a queued run.

What it proves, for every operation but /ready (which answers 503 by design while Docker or the
registry is away) and the WebSocket tails (not in the schema):
- no request, valid or not, gets a 5xx (but the repository list's documented 502: the links'
  servers cannot be reached from here);
- every 4xx is the error envelope {"error": {status, message, id, details}} with its status;
- every response has a status the schema documents and conforms to its schema there.

Then a stateful run follows OpenAPI links (added here to the served schema: the id a create
answers feeds the operations on that resource), so sequences such as create job → patch it →
start a build → abort it → delete the job are fuzzed too. And the published schema carries the
patterns, enums and bounds of the spec pages, which is what lets the fuzzer aim at them.

The budget is DOCKYARD_FUZZ_EXAMPLES examples per operation (default 5; derandomized, so a CI
run is reproducible and bounded); set e.g. DOCKYARD_FUZZ_EXAMPLES=200 for a long run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from structlog.testing import capture_logs

from dockyard.jobs.schemas import IMAGE_PATH_PATTERN
from dockyard.targets.schemas import DIRECTORY_PATTERN, FILE_PATH_PATTERN
from dockyard.vcs.schemas import PROJECT_URL_PATTERN, SELF_HOSTED_VCS_ID_PATTERN
from dockyard.wire.fields import DESCRIPTION_PATTERN, NAME_PATTERN
from tests.api.worlds import (
    PROJECTS,
    World,
    open_world,
    published_schema,
    served_operations,
    world_settings,
)

FUZZ_EXAMPLES = int(os.environ.get("DOCKYARD_FUZZ_EXAMPLES", "5"))
ENVELOPE_FIELDS = {"status", "message", "id", "details"}

# ---- the checks ----------------------------------------------------------------------------


@schemathesis.check
def error_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> None:
    """Every 4xx answers {"error": {status, message, id, details}} with its own status."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"not the error envelope: {body}"
    assert set(error) == ENVELOPE_FIELDS, f"not the error envelope: {body}"
    assert error["status"] == response.status_code, f"status {error['status']} in the body"
    assert isinstance(error["message"], str) and error["message"], "no message"
    assert isinstance(error["id"], str) and error["id"], "no id"
    assert isinstance(error["details"], dict), "details is not an object"


# The repository list asks the links' servers, whose names resolve to nothing here: its 502
# (documented, in the error envelope) is the one 5xx by design.
UPSTREAM = ("GET", "/v1/integrations/vcs/repos")


def no_server_error_but_upstream(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> None:
    """not_a_server_error, but the repository list's 502 in the error envelope."""
    if (case.method.upper(), case.path) == UPSTREAM and response.status_code == 502:
        assert response.json()["error"]["id"] == "upstream-error", response.text
        return
    not_a_server_error(ctx, response, case)


CHECKS = [
    no_server_error_but_upstream,
    status_code_conformance,
    response_schema_conformance,
    error_envelope,
]

# ---- the API under test --------------------------------------------------------------------


def is_fuzzed(path: str) -> bool:
    """All but /ready and the team aliases: what `served_operations` lists."""
    return path != "/ready" and not path.startswith("/v1/teams/")


# What each create answers an id of: (the parameter it fills, the paths that take it).
PRODUCERS = {
    ("POST", "/v1/projects"): ("projectId", "/v1/projects/"),
    ("POST", "/v1/projects/{projectId}/jobs/manual"): ("jobId", "/v1/projects/{projectId}/jobs/"),
    ("PUT", "/v1/projects/{projectId}/jobs/manual"): ("jobId", "/v1/projects/{projectId}/jobs/"),
    ("POST", "/v1/projects/{projectId}/services/build"): (
        "serviceId",
        "/v1/projects/{projectId}/services/",
    ),
    ("PUT", "/v1/projects/{projectId}/services/build"): (
        "serviceId",
        "/v1/projects/{projectId}/services/",
    ),
    ("POST", "/v1/projects/{projectId}/jobs/{jobId}/build"): (
        "buildId",
        "/v1/projects/{projectId}/jobs/{jobId}/build/",
    ),
    ("POST", "/v1/projects/{projectId}/services/{serviceId}/build"): (
        "buildId",
        "/v1/projects/{projectId}/services/{serviceId}/build/",
    ),
    ("POST", "/v1/projects/{projectId}/jobs/{jobId}/runs"): (
        "runId",
        "/v1/projects/{projectId}/jobs/{jobId}/runs/",
    ),
}


def path_parameters(path: str) -> set[str]:
    return {part[1:-1] for part in path.split("/") if part.startswith("{")}


def operation_ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()


def with_links(openapi: dict[str, Any]) -> dict[str, Any]:
    """The schema with OpenAPI links from each create to the operations on what it created: the
    new id from the reply's `data.id`, the other path parameters from the create's own."""
    paths = openapi["paths"]
    for (method, source), (parameter, prefix) in PRODUCERS.items():
        known = path_parameters(source) | {parameter}
        links = {
            f"{target_method.upper()} {target}": {
                "operationRef": operation_ref(target_method, target),
                "parameters": {
                    name: "$response.body#/data/id"
                    if name == parameter
                    else f"$request.path.{name}"
                    for name in path_parameters(target)
                },
            }
            for target, operations in paths.items()
            if is_fuzzed(target)
            and target.startswith(prefix)
            and parameter in path_parameters(target)
            and path_parameters(target) <= known
            for target_method in operations
        }
        paths[source][method.lower()]["responses"]["200"]["links"] = links
    return openapi


def seeded_ids(world: World) -> dict[str, list[str]]:
    """Per path parameter, the ids the world holds."""
    return {
        "projectId": list(PROJECTS),
        "jobId": [f"{name}-{kind}" for name in PROJECTS for kind in ("job", "bare-job")],
        "serviceId": [f"{name}-service" for name in PROJECTS],
        "buildId": [value for key, value in world.ids.items() if key.endswith("_build")],
        "runId": [value for key, value in world.ids.items() if key.endswith("_run")],
    }


def fuzz_config(token: str, ids: dict[str, list[str]]) -> schemathesis.Config:
    """Admin headers; path ids drawn mostly from the seeded ones (else generated); a bounded,
    deterministic budget."""
    return schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "dictionaries": {parameter: {"values": values} for parameter, values in ids.items()},
            "parameters": {
                f"path.{parameter}": {"dictionary": parameter, "probability": 0.8}
                for parameter in ids
            },
            "generation": {"max-examples": FUZZ_EXAMPLES, "deterministic": True},
            "phases": {"stateful": {"max-steps": 10}},
        }
    )


def no_names(host: str, *_: Any, **__: Any) -> Any:
    """A resolver that knows no name (the fuzzer's bundle URLs never reach DNS), after encoding
    the name as the real one does first."""
    host.encode("idna")
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(scope="module")
def fuzzed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The seeded world's app (SQLite) as schemathesis sees it, links added; its own lifespan
    starts with the first request, the world's having ended."""
    settings_ = world_settings(tmp_path_factory.mktemp("fuzz") / "data", None)
    with open_world(settings_) as world:
        app = world.client.app
        openapi = world.client.get("/openapi.json").json()
        config = fuzz_config(world.tokens["admin"], seeded_ids(world))
    schema = schemathesis.openapi.from_dict(with_links(openapi), config=config)
    schema.app = app  # requests go to the app in-process, as from_asgi would send them
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", no_names)
        try:
            yield schema
        finally:
            asgi.shutdown_lifespans()


BOUNDED = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# ---- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("label", served_operations())
def test_no_5xx_and_every_4xx_in_the_envelope(fuzzed_api: Any, label: str) -> None:
    method, path = label.split(" ", 1)
    operation = fuzzed_api[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @BOUNDED
    @given(case=cases)
    def fuzz(case: schemathesis.Case[Any]) -> None:
        with capture_logs():  # a 5xx's traceback is in the failure; rendering it would be slow
            case.call_and_validate(checks=CHECKS)

    fuzz()


def test_stateful_sequences_along_the_links(fuzzed_api: Any) -> None:
    unfollowed = r"^/(ready|v1/teams/)"
    machine = fuzzed_api.exclude(path_regex=unfollowed).as_state_machine()
    failed: list[str] = []

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case[Any], **kwargs: Any
        ) -> None:
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
            except Exception as exc:
                failed.append(f"{case.method} {case.formatted_path}: {exc}")
                raise

    try:
        with capture_logs():
            Sequences.run(settings=settings(BOUNDED, max_examples=2 * FUZZ_EXAMPLES))
    except FlakyStrategyDefinition:
        # All sequences share one app, so a replayed sequence may meet other data than the first
        # time and Hypothesis calls that flaky: no finding, unless a check had failed on the way.
        assert not failed, failed


# ---- the schema carries the spec pages' rules ---------------------------------------------

JOBS = "POST /v1/projects/{projectId}/jobs/manual"
SERVICES = "POST /v1/projects/{projectId}/services/build"
SERVICE_PATCH = "PATCH /v1/projects/{projectId}/services/build/{serviceId}"
JOB_BUILD = "POST /v1/projects/{projectId}/jobs/{jobId}/build"
SERVICE_BUILD = "POST /v1/projects/{projectId}/services/{serviceId}/build"
BUILD_SOURCE = "POST /v1/projects/{projectId}/jobs/{jobId}/build-source"
RESOURCE_ID = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
SERVICE_ID = r"^[a-zA-Z](-?[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*)?$"
CREDENTIALS_ID = r"^[A-Za-z0-9-]+$"
PROJECT_TYPES = ["bitbucket", "gitlab", "github", "self-hosted", "azure"]
STORAGE_SIZES = {"enum": [16384, 32768, 65536], "minimum": 16384, "maximum": 65536}


def _resolved(openapi: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its $ref followed and an optional's `anyOf [X, null]` unwrapped to X."""
    while True:
        if "$ref" in node:
            node = openapi["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node and {"type": "null"} in node["anyOf"] and len(node["anyOf"]) == 2:
            node = next(choice for choice in node["anyOf"] if choice != {"type": "null"})
        else:
            return node


def _child(openapi: dict[str, Any], node: dict[str, Any], name: str) -> dict[str, Any]:
    """A property (of whichever oneOf variant has it), or `[]`: an array's items."""
    node = _resolved(openapi, node)
    if name == "[]":
        return dict(node["items"])
    for variant in node.get("oneOf", [node]):
        properties = _resolved(openapi, variant).get("properties", {})
        if name in properties:
            return dict(properties[name])
    raise KeyError(name)


def request_field(openapi: dict[str, Any], label: str, *names: str) -> dict[str, Any]:
    """The schema of a request body field (`names`: its path), or of a query parameter."""
    method, path = label.split(" ", 1)
    operation = openapi["paths"][path][method.lower()]
    if names[0] == "query":
        found = next(p for p in operation["parameters"] if p["name"] == names[1])
        return _resolved(openapi, found["schema"])
    node = operation["requestBody"]["content"]["application/json"]["schema"]
    for name in names:
        node = _child(openapi, node, name)
    return _resolved(openapi, node)


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    return published_schema()


@pytest.mark.parametrize(
    ("label", "where", "rules"),
    [
        (JOBS, "name", {"pattern": NAME_PATTERN, "minLength": 3, "maxLength": 52}),
        (SERVICES, "name", {"pattern": NAME_PATTERN, "minLength": 3, "maxLength": 54}),
        (JOBS, "description", {"pattern": DESCRIPTION_PATTERN, "maxLength": 200}),
        (JOBS, "tags.[]", {"pattern": RESOURCE_ID, "minLength": 3, "maxLength": 100}),
        (JOBS, "billing.deploymentPlan", {"pattern": RESOURCE_ID, "minLength": 3}),
        (SERVICE_PATCH, "billing.buildPlan", {"pattern": RESOURCE_ID, "maxLength": 100}),
        (JOBS, "infrastructure.architecture", {"enum": ["x86", "arm"]}),
        (JOBS, "backoffLimit", {"type": "integer", "minimum": 0}),
        (JOBS, "runOnSourceChange", {"enum": ["never", "cd-promote", "always"]}),
        (JOBS, "activeDeadlineSeconds", {"type": "integer", "minimum": 1}),
        (JOBS, "deployment.vcs.projectUrl", {"pattern": PROJECT_URL_PATTERN}),
        (JOBS, "deployment.vcs.projectType", {"enum": PROJECT_TYPES}),
        (JOBS, "deployment.vcs.selfHostedVcsId", {"pattern": SELF_HOSTED_VCS_ID_PATTERN}),
        (JOBS, "deployment.vcs.vcsLinkId", {"minLength": 24, "maxLength": 24}),
        (JOBS, "deployment.external.credentials", {"pattern": CREDENTIALS_ID}),
        (JOBS, "deployment.external.imagePath", {"pattern": IMAGE_PATH_PATTERN}),
        (JOBS, "deployment.internal.id", {"pattern": SERVICE_ID, "minLength": 3, "maxLength": 54}),
        (
            JOBS,
            "deployment.internal.buildSHA",
            {
                "oneOf": [
                    {
                        "type": "string",
                        "maxLength": 40,
                        "minLength": 40,
                        "pattern": "^[0-9a-fA-F]{40}$",
                    },
                    {"type": "string", "const": "latest"},
                ]
            },
        ),
        (
            JOBS,
            "deployment.docker.configType",
            {
                "enum": [
                    "default",
                    "customEntrypoint",
                    "customCommand",
                    "customEntrypointCustomCommand",
                ]
            },
        ),
        (
            JOBS,
            "deployment.buildpack.configType",
            {
                "enum": [
                    "default",
                    "customProcess",
                    "customCommand",
                    "customEntrypointCustomCommand",
                    "originalEntrypointCustomCommand",
                ]
            },
        ),
        (JOBS, "deployment.storage.ephemeralStorage.storageSize", {"minimum": 1024}),
        (JOBS, "deployment.storage.shmSize", {"minimum": 64}),
        (JOBS, "deployment.gracePeriodSeconds", {"minimum": 15, "maximum": 600}),
        (JOBS, "buildSettings.storage.ephemeralStorage.storageSize", STORAGE_SIZES),
        (JOBS, "buildConfiguration.storage.ephemeralStorage.storageSize", STORAGE_SIZES),
        (JOBS, "buildSettings.dockerfile.buildEngine", {"enum": ["buildkit", "kaniko"]}),
        (JOBS, "buildSettings.dockerfile.dockerFilePath", {"pattern": FILE_PATH_PATTERN}),
        (JOBS, "buildSettings.dockerfile.dockerWorkDir", {"pattern": DIRECTORY_PATTERN}),
        (JOBS, "buildSettings.buildpack.buildContext", {"pattern": DIRECTORY_PATTERN}),
        (JOBS, "buildConfiguration.pathIgnoreRules.[]", {"maxLength": 260}),
        (JOBS, "buildConfiguration.ciIgnoreFlags.[]", {"maxLength": 72}),
        (JOBS, "buildConfiguration.dockerCredentials.[]", {"pattern": CREDENTIALS_ID}),
        (JOBS, "healthChecks.[].protocol", {"enum": ["HTTP", "CMD", "TCP"]}),
        (
            JOBS,
            "healthChecks.[].type",
            {"enum": ["livenessProbe", "readinessProbe", "startupProbe"]},
        ),
        (JOBS, "healthChecks.[].path", {"pattern": FILE_PATH_PATTERN}),
        (JOBS, "healthChecks.[].port", {"minimum": 1}),
        (JOBS, "healthChecks.[].initialDelaySeconds", {"minimum": 1, "maximum": 180}),
        (JOBS, "healthChecks.[].periodSeconds", {"minimum": 10, "maximum": 600}),
        (JOBS, "healthChecks.[].timeoutSeconds", {"minimum": 1, "maximum": 60}),
        (JOBS, "healthChecks.[].failureThreshold", {"minimum": 1, "maximum": 255}),
        (JOBS, "healthChecks.[].successThreshold", {"minimum": 1, "maximum": 255}),
        (JOBS, "runtimeEnvironment", {"additionalProperties": False}),
        (JOBS, "runtimeFiles", {"additionalProperties": False}),
        (JOBS, "dockerSecretMounts", {"additionalProperties": False}),
        (SERVICE_PATCH, "buildSource", {"enum": ["git", "bundle"]}),
        (SERVICE_PATCH, "vcsData.projectType", {"enum": PROJECT_TYPES}),
        (
            SERVICE_PATCH,
            "buildConfiguration.branchRestrictions.[]",
            {"pattern": r"^[^?:@$~ \[\]{}]*$"},
        ),
        (SERVICE_PATCH, "buildConfiguration.prRestrictions.[]", {"pattern": r"^[^?:@$~ \[\]{}]*$"}),
        (SERVICE_PATCH, "buildSettings.buildpack.builder", {"type": "string"}),
        (JOB_BUILD, "sha", {"minLength": 40, "maxLength": 40}),
        (JOB_BUILD, "overrides.docker.dockerFilePath", {"pattern": FILE_PATH_PATTERN}),
        (SERVICE_BUILD, "sha", {"minLength": 40, "maxLength": 40}),
        (SERVICE_BUILD, "pullRequestId", {"type": "integer", "minimum": 1}),
        (BUILD_SOURCE, "projectUrl", {"pattern": PROJECT_URL_PATTERN}),
        (BUILD_SOURCE, "projectType", {"enum": PROJECT_TYPES}),
        (BUILD_SOURCE, "selfHostedVcsId", {"pattern": SELF_HOSTED_VCS_ID_PATTERN}),
        ("GET /v1/projects", "query.per_page", {"minimum": 1, "maximum": 100}),
        ("GET /v1/projects/{projectId}/jobs/{jobId}/logs", "query.lineLimit", {"maximum": 10000}),
        (
            "GET /v1/projects/{projectId}/jobs/{jobId}/logs",
            "query.direction",
            {"enum": ["forward", "backward"]},
        ),
    ],
)
def test_the_schema_carries_the_spec_rules(
    published: dict[str, Any], label: str, where: str, rules: dict[str, Any]
) -> None:
    field = request_field(published, label, *where.split("."))
    assert {key: field.get(key) for key in rules} == rules, field


def test_builders_are_the_pages_fifteen(published: dict[str, Any]) -> None:
    builder = request_field(published, JOBS, "buildSettings", "buildpack", "builder")
    assert len(builder["enum"]) == 15 and {"HEROKU_24", "PAKETO_FULL"} <= set(builder["enum"])
