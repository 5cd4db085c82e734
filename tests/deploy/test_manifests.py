"""The files under deploy/ agree with the code.

Parsed only (no docker, no kubectl): every DOCKYARD_* name is a setting of
`dockyard.config.Settings`, each dockyard container's environment loads as settings, one
dockyard image everywhere, commands are subcommands of the `dockyard` Typer app, HTTP probes
are routes of `create_app()` on the port the container listens on, database URLs use a driver
the code can run, and the Kubernetes objects reference each other consistently.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
import typer.main
import yaml
from pydantic import AliasChoices
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from dockyard import __version__
from dockyard.app import create_app
from dockyard.cli.main import app as cli_app
from dockyard.config import Settings, load_settings
from dockyard.db.session import Database, is_sqlite, sync_url

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
STACK = DEPLOY / "swarm" / "stack.yml"
STACK_TOML = DEPLOY / "swarm" / "dockyard.toml.example"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"

DOCKYARD_IMAGE = f"dockyard:{__version__}"
# Images of other projects the deployments use (each pinned to a tag); any other image must be
# dockyard's own.
THIRD_PARTY_IMAGES = {"postgres", "registry", "docker"}
PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)")
HTTP_URL = re.compile(r"https?://[^/\s'\"]+:(\d+)(/[^\s'\"]*)")
NAME_IN_TEXT = re.compile(r"\bDOCKYARD_[A-Z0-9_]+\b")


# ---- what the code says -------------------------------------------------------------------


def setting_env_names() -> set[str]:
    """The environment names Settings reads: each field's alias choices, else prefix+name,
    and the names its source customisation reads itself (DOCKYARD_CONFIG)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    source = inspect.getsource(Settings)
    names |= set(re.findall(r"os\.environ\.get\(\s*\"(DOCKYARD_\w+)\"", source))
    return names


SETTING_NAMES = setting_env_names()


class CommandGroup(Protocol):
    """A click group (typer vendors its own click, so matched by shape)."""

    commands: dict[str, Any]


def cli_commands() -> CommandGroup:
    command = typer.main.get_command(cli_app)
    assert isinstance(getattr(command, "commands", None), dict)
    return cast(CommandGroup, command)


def get_routes() -> set[str]:
    """GET paths the app serves (from its OpenAPI schema, as scripts/routes_table.py reads
    them: included routers are not flattened into `app.routes`)."""
    app = create_app(Settings())
    return {path for path, operations in app.openapi()["paths"].items() if "get" in operations}


# ---- what the deploy files say ------------------------------------------------------------


def yaml_documents(path: Path) -> list[Any]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def load_yaml(path: Path) -> dict[str, Any]:
    (document,) = yaml_documents(path)
    assert isinstance(document, dict), path
    return document


def kubernetes_files() -> list[Path]:
    return sorted(KUBERNETES.glob("*.yaml"))


def kubernetes_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in kubernetes_files()
        if path.name != "kustomization.yaml"
        for document in yaml_documents(path)
    ]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def dockerfile_json(keyword: str) -> list[str]:
    (value,) = [rest for kw, rest in dockerfile_instructions() if kw == keyword]
    parsed = yaml.safe_load(value)  # JSON exec form
    assert isinstance(parsed, list), f"{keyword} must use the exec (JSON) form"
    return [str(word) for word in parsed]


@dataclass
class Container:
    """One container (compose or swarm service, Kubernetes container) of any deployment."""

    where: str
    image: str
    args: list[str] | None
    env: dict[str, str | None]  # None: from a secret, not written in the file
    http_probes: list[tuple[str, int | str]] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_dockyard(self) -> bool:
        return image_repository(self.image) not in THIRD_PARTY_IMAGES

    def effective_env(self) -> dict[str, str | None]:
        """The image's ENV, then the container's."""
        return {**dockerfile_env(), **self.env} if self.is_dockyard else dict(self.env)

    def settings(self, monkeypatch: pytest.MonkeyPatch) -> Settings:
        return settings_from_env(self.effective_env(), monkeypatch)


def image_repository(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].split("@", 1)[0]


def compose_env(service: dict[str, Any]) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.partition("=") for item in environment)
        return {name: value for name, _, value in pairs}
    return {str(name): None if value is None else str(value) for name, value in environment.items()}


def healthcheck_probes(service: dict[str, Any]) -> list[tuple[str, int | str]]:
    test = (service.get("healthcheck") or {}).get("test") or []
    text = test if isinstance(test, str) else " ".join(str(word) for word in test)
    return [(path, int(port)) for port, path in HTTP_URL.findall(text)]


def compose_containers(path: Path) -> list[Container]:
    services = load_yaml(path)["services"]
    return [
        Container(
            where=f"{path.relative_to(DEPLOY)}:{name}",
            image=str(service["image"]),
            args=[str(word) for word in service["command"]] if "command" in service else None,
            env=compose_env(service),
            http_probes=healthcheck_probes(service),
            raw=service,
        )
        for name, service in services.items()
    ]


def config_maps() -> dict[tuple[str, str], dict[str, str]]:
    return {
        (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): {
            str(k): str(v) for k, v in (obj.get("data") or {}).items()
        }
        for _, obj in kubernetes_objects()
        if obj["kind"] == "ConfigMap"
    }


def pod_templates() -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(file, workload object, its pod template) of Deployments and StatefulSets."""
    for path, obj in kubernetes_objects():
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield path, obj, obj["spec"]["template"]


def pod_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def kubernetes_containers() -> list[Container]:
    maps = config_maps()
    found = []
    for path, obj, pod in pod_templates():
        namespace = obj["metadata"].get("namespace", "")
        for spec in pod_containers(pod):
            env: dict[str, str | None] = {}
            for source in spec.get("envFrom", []):
                if "configMapRef" in source:
                    env.update(maps[(namespace, source["configMapRef"]["name"])])
            for item in spec.get("env", []):
                env[item["name"]] = str(item["value"]) if "value" in item else None
            ports = {
                str(p.get("name", p["containerPort"])): p["containerPort"]
                for p in spec.get("ports", [])
            }
            probes = [
                (spec[kind]["httpGet"]["path"], spec[kind]["httpGet"]["port"])
                for kind in ("readinessProbe", "livenessProbe", "startupProbe")
                if "httpGet" in spec.get(kind, {})
            ]
            found.append(
                Container(
                    where=f"{path.relative_to(DEPLOY)}:{obj['metadata']['name']}/{spec['name']}",
                    image=str(spec["image"]),
                    args=[*spec.get("command", []), *spec.get("args", [])] or None,
                    env=env,
                    http_probes=probes,
                    ports=ports,
                    raw=spec,
                )
            )
    return found


def all_containers() -> list[Container]:
    return [*compose_containers(COMPOSE), *compose_containers(STACK), *kubernetes_containers()]


def dockyard_containers() -> list[Container]:
    return [container for container in all_containers() if container.is_dockyard]


def settings_from_env(env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as the container would load them: its environment alone (secret values and
    ${...} / $(...) substitutions replaced by a placeholder; the TOML file named by
    DOCKYARD_CONFIG replaced by the example shipped beside the stack)."""
    for name in list(os.environ):
        if name.startswith("DOCKYARD_") or name == "DOCKER_HOST":
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name == "DOCKYARD_CONFIG":
            value = str(STACK_TOML)
        monkeypatch.setenv(name, PLACEHOLDER.sub("x", value) if value is not None else "x")
    return load_settings()


def deploy_text_files() -> list[Path]:
    return sorted(path for path in DEPLOY.rglob("*") if path.is_file())


# ---- every file parses ----------------------------------------------------------------------


def test_every_deploy_file_parses() -> None:
    for path in deploy_text_files():
        name = path.name
        if name.endswith((".yml", ".yaml")):
            assert yaml_documents(path), f"{path} holds no YAML document"
        elif name.endswith(".toml.example"):
            tomllib.loads(path.read_text())
        elif name == "Dockerfile":
            assert dockerfile_instructions()[0][0] == "FROM"
        elif name.endswith((".md", ".dockerignore")):
            path.read_text()
        elif name == ".env.example":
            for line in path.read_text().splitlines():
                assert not line.strip() or line.startswith("#") or "=" in line, (path, line)
        else:
            pytest.fail(f"{path}: no check knows this kind of file; add one to {__file__}")


# ---- settings -------------------------------------------------------------------------------


def test_every_dockyard_name_is_a_setting() -> None:
    """Any DOCKYARD_* word anywhere under deploy/ (env keys, ConfigMaps, comments, README)."""
    unknown = {
        f"{path.relative_to(DEPLOY)}: {name}"
        for path in deploy_text_files()
        for name in NAME_IN_TEXT.findall(path.read_text())
        if name not in SETTING_NAMES
    }
    assert not unknown, f"not settings of dockyard.config.Settings: {sorted(unknown)}"
    for container in all_containers():
        for name in container.env:
            if name.startswith("DOCKYARD_") or name == "DOCKER_HOST":
                assert name in SETTING_NAMES, (container.where, name)


def test_each_dockyard_container_loads_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    containers = dockyard_containers()
    assert len(containers) >= 6, [c.where for c in containers]
    for container in containers:
        try:
            container.settings(monkeypatch)
        except Exception as exc:
            pytest.fail(f"{container.where}: {exc}")


def test_toml_example_keys_are_settings() -> None:
    # Settings ignores unknown keys: a misspelt one would be dropped without a word.
    keys = set(tomllib.loads(STACK_TOML.read_text()))
    assert keys <= set(Settings.model_fields), keys - set(Settings.model_fields)
    assert {"database_url", "secret_key"} <= keys


def test_processes_share_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without DOCKYARD_SECRET_KEY each container would make its own key file, and workers
    could not open what the API sealed."""
    for container in dockyard_containers():
        assert container.settings(monkeypatch).secret_key, f"{container.where}: no secret key"


# ---- image ----------------------------------------------------------------------------------


def test_one_dockyard_image_everywhere() -> None:
    for container in all_containers():
        if container.is_dockyard:
            assert container.image == DOCKYARD_IMAGE, container.where
        else:
            tag = container.image.rsplit(":", 1)[-1] if ":" in container.image else ""
            assert tag and tag != "latest", f"{container.where}: pin {container.image}"
    for path in deploy_text_files():
        for tag in re.findall(r"\bdockyard:(\d[\w.-]*)", path.read_text()):
            assert tag == __version__, f"{path.relative_to(DEPLOY)} names dockyard:{tag}"


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    bases = [rest.split()[0] for kw, rest in instructions if kw == "FROM"]
    assert all(base.startswith("python:3.11-slim") for base in bases), bases
    assert dockerfile_json("ENTRYPOINT") == ["dockyard"]
    (script,) = entry_points(group="console_scripts", name="dockyard")
    assert script.value == "dockyard.cli.main:main"
    assert any(kw == "RUN" and "pip install ." in rest for kw, rest in instructions)
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    check_command(dockerfile_json("CMD"), "Dockerfile CMD")
    exposed = {int(port) for kw, rest in instructions if kw == "EXPOSE" for port in rest.split()}
    listen = dockerfile_env()["DOCKYARD_LISTEN"]
    assert exposed == {int(listen.rsplit(":", 1)[1])}


# ---- commands -------------------------------------------------------------------------------


def check_command(args: list[str], where: str) -> None:
    """`args` are what follows the `dockyard` entrypoint: a subcommand (and, of a group, one
    of its subcommands)."""
    group = cli_commands()
    if args and args[0] == "dockyard":
        args = args[1:]
    assert args, f"{where}: no dockyard subcommand"
    command = group.commands.get(args[0])
    assert command is not None, (
        f"{where}: `dockyard {args[0]}` is no command of {sorted(group.commands)}"
    )
    if isinstance(getattr(command, "commands", None), dict):
        assert len(args) > 1 and args[1] in command.commands, (
            f"{where}: `dockyard {' '.join(args[:2])}` is no command of {sorted(command.commands)}"
        )


def test_commands_are_dockyard_subcommands() -> None:
    commands: dict[str, str] = {}
    for container in dockyard_containers():
        assert container.args, f"{container.where}: say which dockyard command runs"
        check_command(container.args, container.where)
        commands[container.where] = container.args[0]
    served = set(commands.values())
    assert {"api", "worker"} <= served, commands


def test_commands_in_instructions_are_dockyard_subcommands() -> None:
    """`dockyard X Y` in the README and in comments (after a backtick, `exec SERVICE` or `--`)."""
    pattern = re.compile(r"(?:`|exec \S+ |-- )dockyard ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)")
    seen = 0
    for path in deploy_text_files():
        for words in pattern.findall(path.read_text()):
            check_command(words.split(), str(path.relative_to(DEPLOY)))
            seen += 1
    assert seen, "no dockyard command named in deploy/"


# ---- probes and ports ------------------------------------------------------------------------


def test_http_probes_are_routes_on_the_listen_port(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = get_routes()
    probed = 0
    for container in dockyard_containers():
        listen_port = container.settings(monkeypatch).listen_port
        for path, port in container.http_probes:
            assert path in routes, (
                f"{container.where}: {path} is no GET route ({sorted(routes)[:5]}...)"
            )
            number = container.ports[port] if isinstance(port, str) else port
            assert number == listen_port, (
                f"{container.where}: probe on {number}, listens on {listen_port}"
            )
            probed += 1
        for name, number in container.ports.items():
            assert number == listen_port, f"{container.where}: port {name}={number}"
        if container.args and container.args[0] == "api":
            assert container.http_probes, f"{container.where}: the API needs a health check"
    assert probed


def test_kubernetes_api_has_both_probes() -> None:
    for container in kubernetes_containers():
        if container.is_dockyard and container.args and container.args[0] == "api":
            for kind in ("readinessProbe", "livenessProbe"):
                assert "httpGet" in container.raw.get(kind, {}), (container.where, kind)


# ---- database -------------------------------------------------------------------------------


def database_urls() -> list[tuple[str, str]]:
    urls = [
        (container.where, str(container.env["DOCKYARD_DATABASE_URL"]))
        for container in dockyard_containers()
        if container.env.get("DOCKYARD_DATABASE_URL")
    ]
    urls.append((STACK_TOML.name, tomllib.loads(STACK_TOML.read_text())["database_url"]))
    return urls


def test_database_urls_use_a_driver_the_code_runs() -> None:
    urls = database_urls()
    assert len(urls) >= 4, urls
    for where, raw in urls:
        url = PLACEHOLDER.sub("x", raw)
        assert not is_sqlite(url), f"{where}: several processes need PostgreSQL, not SQLite"
        try:
            database = Database(url)  # the async engine the API and workers use
            asyncio.run(database.dispose())
            create_engine(sync_url(url)).dispose()  # and the sync one of the migrations
        except Exception as exc:
            pytest.fail(f"{where}: {make_url(url).drivername} is no driver dockyard runs: {exc}")
        # psycopg 3 is the PostgreSQL driver dockyard depends on (pyproject.toml).
        assert make_url(url).drivername == "postgresql+psycopg", (where, raw)


def test_kubernetes_database_url_names_the_postgres_service() -> None:
    services = {
        (obj["metadata"]["name"], port["port"])
        for _, obj in kubernetes_objects()
        if obj["kind"] == "Service"
        for port in obj["spec"]["ports"]
    }
    for container in kubernetes_containers():
        raw = container.env.get("DOCKYARD_DATABASE_URL")
        if raw:
            url = make_url(PLACEHOLDER.sub("x", raw))
            assert (url.host, url.port or 5432) in services, (container.where, raw)


# ---- Kubernetes -----------------------------------------------------------------------------


def test_kubernetes_objects_are_well_formed() -> None:
    objects = kubernetes_objects()
    assert objects
    for path, obj in objects:
        assert obj.get("apiVersion") and obj.get("kind"), path
        assert (obj.get("metadata") or {}).get("name"), (path, obj.get("kind"))
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "dockyard", (path, obj["metadata"])
    kinds = {obj["kind"] for _, obj in objects}
    assert {"Deployment", "StatefulSet", "Service", "ConfigMap", "PersistentVolumeClaim"} <= kinds


def test_workload_selectors_match_their_pods() -> None:
    for path, obj, pod in pod_templates():
        selector = obj["spec"]["selector"]["matchLabels"]
        labels = pod["metadata"]["labels"]
        assert selector and selector.items() <= labels.items(), (path, obj["metadata"]["name"])


def test_services_select_existing_pods_and_ports() -> None:
    pods = [(obj["metadata"].get("namespace"), pod) for _, obj, pod in pod_templates()]
    for path, obj in kubernetes_objects():
        if obj["kind"] != "Service":
            continue
        selector = obj["spec"]["selector"]
        namespace = obj["metadata"].get("namespace")
        selected = [
            pod
            for pod_namespace, pod in pods
            if pod_namespace == namespace and selector.items() <= pod["metadata"]["labels"].items()
        ]
        assert selected, f"{path}: Service {obj['metadata']['name']} selects no pod"
        for port in obj["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for pod in selected:
                offered = {
                    key
                    for spec in pod_containers(pod)
                    for p in spec.get("ports", [])
                    for key in (p["containerPort"], p.get("name"))
                }
                assert target in offered, (path, obj["metadata"]["name"], target)


def test_statefulsets_name_their_service() -> None:
    services = {
        obj["metadata"]["name"] for _, obj in kubernetes_objects() if obj["kind"] == "Service"
    }
    for path, obj in kubernetes_objects():
        if obj["kind"] == "StatefulSet":
            assert obj["spec"]["serviceName"] in services, path
            assert obj["spec"]["volumeClaimTemplates"], path


def test_kubernetes_references_exist() -> None:
    """ConfigMaps, Secrets (and their keys) and PVCs that pods use are defined (the Secret in
    secret.example.yaml, which the operator creates)."""
    objects = kubernetes_objects()
    defined = {(obj["kind"], obj["metadata"]["name"]) for _, obj in objects}
    secret_keys = {
        (obj["metadata"]["name"], key)
        for _, obj in objects
        if obj["kind"] == "Secret"
        for key in {**(obj.get("data") or {}), **(obj.get("stringData") or {})}
    }
    for path, obj, pod in pod_templates():
        where = f"{path.name}:{obj['metadata']['name']}"
        for volume in pod["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert ("PersistentVolumeClaim", claim) in defined, (where, claim)
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in defined, where
        mounts_known = {v["name"] for v in pod["spec"].get("volumes", [])}
        mounts_known |= {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for spec in pod_containers(pod):
            for mount in spec.get("volumeMounts", []):
                assert mount["name"] in mounts_known, (where, mount["name"])
            for source in spec.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in defined, where
            for item in spec.get("env", []):
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert (ref["name"], ref["key"]) in secret_keys, (where, ref)


def test_kubernetes_containers_have_resources() -> None:
    for container in kubernetes_containers():
        resources = container.raw.get("resources") or {}
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind) or {}), (container.where, kind)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(KUBERNETES / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {
        path.name
        for path in kubernetes_files()
        if path.name != "kustomization.yaml" and not path.name.endswith(".example.yaml")
    }
    assert listed == present, (sorted(listed - present), sorted(present - listed))


def test_kubernetes_registry_address_is_the_registry_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = {
        f"{obj['metadata']['name']}:{port['port']}"
        for _, obj in kubernetes_objects()
        if obj["kind"] == "Service"
        for port in obj["spec"]["ports"]
    }
    containers = kubernetes_containers()
    insecure = {
        arg.split("=", 1)[1]
        for c in containers
        for arg in c.args or []
        if arg.startswith("--insecure-registry=")
    }
    for container in containers:
        if container.is_dockyard:
            registry = container.settings(monkeypatch).registry
            assert registry in services, (container.where, registry)
            if container.args and container.args[0] == "worker":
                assert registry in insecure, (
                    "the worker's engine must accept the plain-HTTP registry"
                )


# ---- compose and swarm ----------------------------------------------------------------------


def test_compose_services(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    assert {"api", "worker", "postgres", "registry"} <= set(services)
    assert any("docker.sock" in str(v) for v in services["worker"].get("volumes", []))
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith(("/", ".")):
                assert source in (compose.get("volumes") or {}), (name, source)
    address = compose_env(services["registry"])["REGISTRY_HTTP_ADDR"]
    for container in compose_containers(COMPOSE):
        if container.is_dockyard:
            assert container.settings(monkeypatch).registry == address, container.where


def test_swarm_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = load_yaml(STACK)
    services = stack["services"]
    assert {"api", "worker", "postgres", "registry"} <= set(services)
    declared = set(stack.get("secrets") or {})
    for name, service in services.items():
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            assert source in declared, (name, source)
    for container in compose_containers(STACK):
        if container.env.get("DOCKYARD_RUN_ENGINE") == "swarm":
            constraints = container.raw["deploy"]["placement"]["constraints"]
            assert "node.role == manager" in constraints, container.where
        if container.is_dockyard and container.args and container.args[0] == "worker":
            assert any("docker.sock" in str(v) for v in container.raw.get("volumes", []))
    published = {
        f"127.0.0.1:{port['published']}"
        for service in services.values()
        for port in service.get("ports", [])
    }
    for container in compose_containers(STACK):
        if container.is_dockyard:
            settings = container.settings(monkeypatch)
            assert settings.registry in published, container.where
            url = make_url(PLACEHOLDER.sub("x", settings.resolved_database_url))
            assert f"{url.host}:{url.port}" in published, container.where
