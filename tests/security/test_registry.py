"""A hostile project against dockyard's own registry, on a live `dockyard up` (its local
registry, the real engine): without dockyard's login the registry answers nothing, an
overwritten tag does not change what a build's runs run, and `imagePath` cannot name another
project's image there."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from docker.errors import ImageNotFound

from dockyard.engine.dockercli import DOCKER_CLI
from dockyard.engine.registry import MANIFEST_MEDIA_TYPES
from tests.builds.conftest import LiveDockyard, docker_config, push_base_image
from tests.gitrepos import GitRepo
from tests.live import DOCKER_HOST, free_port
from tests.runs.conftest import busybox_job, connect, serving

pytestmark = pytest.mark.e2e


def docker_cli(
    *args: str, config: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The docker CLI with the client configuration (logins) in `config` only."""
    env = os.environ | {"DOCKER_HOST": DOCKER_HOST, "DOCKER_CONFIG": str(config)}
    return subprocess.run(
        [DOCKER_CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def password_file(live: LiveDockyard) -> Path:
    return live.process.data_dir / "registry" / "password"


def pushed_digest(live: LiveDockyard, repository: str, tag: str) -> str | None:
    """The digest `repository:tag` names in the registry, asked with dockyard's login."""
    login = live.registry_login
    found = httpx.head(
        f"http://{live.registry}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_MEDIA_TYPES},
        auth=(login.username, login.password),
    )
    return found.headers.get("Docker-Content-Digest") if found.status_code == 200 else None


def vcs_job(live: LiveDockyard, name: str, url: str, command: str, engine: str = "buildkit") -> str:
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": url, "projectType": "github", "projectBranch": "main"},
            "docker": {"configType": "customCommand", "customCommand": command},
        },
        "buildSettings": {
            "dockerfile": {
                "buildEngine": engine,
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    }
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def built(live: LiveDockyard, job: str) -> dict[str, Any]:
    build = live.post(f"/jobs/{job}/build", {})
    done = live.wait_for(f"/jobs/{job}/build/{build['id']}")
    assert done["status"] == "SUCCESS", live.lines(build["id"])
    return done


def run_lines(live: LiveDockyard, job: str) -> tuple[dict[str, Any], list[str]]:
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")
    return run, live.lines_of("run", run_id)


def forget_locally(client: docker.DockerClient, *references: str) -> None:
    """Drop these references of images from the engine, so that a run has to pull."""
    for reference in references:
        with contextlib.suppress(ImageNotFound):
            client.images.remove(reference)


def assert_build_from_is_refused(live: LiveDockyard, name: str, image: str) -> None:
    """A job whose Dockerfile is `FROM image` fails to build: the registry answers 401."""
    derived = GitRepo(live.sample.repo.root, f"acme/{name}")
    derived.commit({"Dockerfile": f"FROM {image}\nRUN echo derived >> /hello.txt\n"})
    job = vcs_job(live, name, derived.url, "cat /hello.txt")
    build = live.post(f"/jobs/{job}/build", {})
    done = live.wait_for(f"/jobs/{job}/build/{build['id']}")
    assert done["status"] == "FAILURE", live.lines(build["id"])
    assert "401 Unauthorized" in "\n".join(live.lines(build["id"])), live.lines(build["id"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("registry-security")) as live:
        yield live


@pytest.fixture(scope="module")
def docker_client() -> docker.DockerClient:
    return docker.DockerClient(base_url=DOCKER_HOST)


@pytest.fixture(scope="module")
def victim(live: LiveDockyard) -> dict[str, Any]:
    """A successful build of a job of the sample repository (`cat /hello.txt`: hello v2)."""
    job = vcs_job(live, "victim", live.sample.repo.url, "cat /hello.txt")
    return {"job": job, "build": built(live, job)}


def test_the_registry_answers_nobody_without_dockyards_login(
    live: LiveDockyard, victim: dict[str, Any], tmp_path: Path
) -> None:
    image = victim["build"]["registry"]["uri"]
    repository, _, tag = image.removeprefix(f"{live.registry}/").rpartition(":")
    base = f"http://{live.registry}/v2"
    anonymous = [
        ("GET", "/_catalog"),
        ("GET", f"/{repository}/tags/list"),
        ("GET", f"/{repository}/manifests/{tag}"),
        ("HEAD", f"/{repository}/manifests/{tag}"),
        ("DELETE", f"/{repository}/manifests/sha256:{'0' * 64}"),
        ("POST", f"/{repository}/blobs/uploads/"),
    ]
    for method, path in anonymous:
        assert httpx.request(method, f"{base}{path}").status_code == 401, (method, path)
    wrong = httpx.get(f"{base}/_catalog", auth=("dockyard", "guessed"))
    assert wrong.status_code == 401

    nobody = docker_config(tmp_path / "nobody")
    pulled = docker_cli("pull", image, config=nobody)
    assert pulled.returncode != 0 and "no basic auth credentials" in pulled.stderr, pulled
    planted = f"{live.registry}/{live.project}/planted:{uuid.uuid4().hex[:8]}"
    assert docker_cli("tag", "local/busybox:1", planted, config=nobody).returncode == 0
    try:
        pushed = docker_cli("push", planted, config=nobody)
        assert pushed.returncode != 0 and "no basic auth credentials" in pushed.stderr, pushed
    finally:
        docker_cli("rmi", planted, config=nobody)

    # The build's image is still there, for dockyard.
    assert pushed_digest(live, repository, tag) == victim["build"]["registry"]["digest"]


def test_a_run_pulls_its_image_with_dockyards_login(
    live: LiveDockyard, victim: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    """The victim's image is dropped from the engine: its run pulls it from the registry."""
    registry = victim["build"]["registry"]
    repository = registry["uri"].rpartition(":")[0]
    assert registry["digest"].startswith("sha256:")
    forget_locally(docker_client, registry["uri"], f"{repository}@{registry['digest']}")

    run, lines = run_lines(live, victim["job"])
    assert run["status"] == "SUCCESS", lines
    assert "hello v2" in lines
    assert any(f"{repository}@{registry['digest']}" in line for line in lines) or any(
        "Downloaded newer image" in line for line in lines
    ), lines


def test_a_build_cannot_base_itself_on_an_image_of_dockyards_registry(
    live: LiveDockyard, victim: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    """Every project's images are in dockyard's registry: a build gets no login to it, and
    the engine keeps no tag of a pushed build (a local tag would serve `FROM` as well)."""
    image = victim["build"]["registry"]["uri"]
    with pytest.raises(ImageNotFound):
        docker_client.images.get(image)
    assert_build_from_is_refused(live, "derived", image)


def test_a_kaniko_build_cannot_base_itself_on_another_projects_image(
    live: LiveDockyard, victim: dict[str, Any]
) -> None:
    """buildah gets dockyard's login for the base images' namespace (`local/`) only."""
    push_base_image(live)
    image = victim["build"]["registry"]["uri"]
    derived = GitRepo(live.sample.repo.root, "acme/derived-kaniko")
    derived.commit({"Dockerfile": f"FROM {image}\nRUN echo derived >> /hello.txt\n"})
    job = vcs_job(live, "derived kaniko", derived.url, "cat /hello.txt", engine="kaniko")
    build = live.post(f"/jobs/{job}/build", {})
    done = live.wait_for(f"/jobs/{job}/build/{build['id']}")
    assert done["status"] == "FAILURE", live.lines(build["id"])
    assert "unauthorized: authentication required" in "\n".join(live.lines(build["id"]))


def test_an_image_a_run_pulled_serves_no_other_build(
    live: LiveDockyard, victim: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    """A run pulls its image by digest; the engine keeps no reference of it once the
    container holds it, so another project's `FROM <image>@<digest>` has to ask the
    registry, which refuses a build (it gets no login)."""
    registry = victim["build"]["registry"]
    pinned = f"{registry['uri'].rpartition(':')[0]}@{registry['digest']}"
    run, lines = run_lines(live, victim["job"])
    assert run["status"] == "SUCCESS", lines
    with pytest.raises(ImageNotFound):
        docker_client.images.get(pinned)

    assert_build_from_is_refused(live, "pinned", pinned)


def test_an_overwritten_tag_does_not_change_what_a_build_runs(
    live: LiveDockyard, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    """An attacker holding dockyard's login pushes their own image under a build's tag (from
    the same engine, so the local tag moves too): the build's next run still runs the image
    the build pushed, the digest recorded then."""
    job = vcs_job(live, "overwritten", live.sample.repo.url, "cat /hello.txt")
    build = built(live, job)
    image, digest = build["registry"]["uri"], build["registry"]["digest"]
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "Dockerfile").write_text(
        f"FROM local/busybox:1\nRUN echo attacker {uuid.uuid4().hex} > /hello.txt\n"
    )
    stolen = docker_config(tmp_path / "stolen", live.registry_login)  # read from the data dir
    try:
        made = docker_cli("build", "-t", image, ".", config=stolen, cwd=tmp_path / "evil")
        assert made.returncode == 0, made.stderr
        pushed = docker_cli("push", image, config=stolen)
        assert pushed.returncode == 0, pushed.stderr
        repository, _, tag = image.removeprefix(f"{live.registry}/").rpartition(":")
        assert pushed_digest(live, repository, tag) != digest  # the tag is the attacker's

        run, lines = run_lines(live, job)
        assert run["status"] == "SUCCESS", lines
        assert "hello v2" in lines
        assert not any("attacker" in line for line in lines), lines
    finally:
        forget_locally(docker_client, image)


def other_projects_image(live: LiveDockyard, host: str) -> str:
    return f"{host}:{live.registry.rpartition(':')[2]}/another-project/its-job:{'a' * 40}"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.3.4", "0.0.0.0", "LOCALHOST"])
def test_image_path_may_not_name_dockyards_registry(live: LiveDockyard, host: str) -> None:
    image = other_projects_image(live, host)
    jobs = f"/v1/projects/{live.project}/jobs"
    name = f"thief-{uuid.uuid4().hex[:6]}"
    external = {"external": {"imagePath": image}}
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": external,
    }
    refused = [
        live.http.post(f"{jobs}/manual", json=body),
        live.http.put(f"{jobs}/manual", json=body),
        live.http.post(f"{jobs}/cron", json=body | {"schedule": "0 * * * *"}),
    ]
    harmless = busybox_job(live, f"{name}-busybox", "true")
    refused += [
        live.http.patch(f"{jobs}/manual/{harmless}", json={"deployment": external}),
        live.http.post(f"{jobs}/{harmless}/runs", json={"deployment": external}),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert "deployment.external.imagePath" in error["details"], error
        assert "use deployment.internal" in error["message"], error
    # Another port of this machine is another registry: not dockyard's.
    elsewhere = f"127.0.0.1:1/another-project/its-job:{'a' * 40}"
    allowed = live.http.patch(
        f"{jobs}/manual/{harmless}", json={"deployment": {"external": {"imagePath": elsewhere}}}
    )
    assert allowed.status_code == 200, allowed.text


def test_the_worker_refuses_an_image_path_that_names_the_registry_it_has_now(
    tmp_path: Path,
) -> None:
    """A job stored while the registry was elsewhere: once DOCKYARD_REGISTRY names the
    address its imagePath gives, its run fails naming the field instead of pulling."""
    live = connect(tmp_path)
    try:
        job = busybox_job(live, "stale", "true")
        port = free_port()
        image = f"127.0.0.1:{port}/another-project/its-job:{'a' * 40}"
        live.http.patch(
            f"/v1/projects/{live.project}/jobs/manual/{job}",
            json={"deployment": {"external": {"imagePath": image}}},
        ).raise_for_status()
        live.process.stop(signal.SIGTERM)
        live.process.registry_port = port
        live.process.start().wait_ready()

        run_id = live.post(f"/jobs/{job}/runs", {})["id"]
        run = live.wait_for(f"/jobs/{job}/runs/{run_id}")
        assert run["status"] == "FAILED"
        assert "deployment.external.imagePath" in run["message"], run
        assert any("use deployment.internal" in line for line in live.lines_of("run", run_id))
    finally:
        live.http.close()
        live.process.stop(signal.SIGTERM)


def test_the_password_is_private_and_never_shown(
    live: LiveDockyard, victim: dict[str, Any]
) -> None:
    path = password_file(live)
    password = path.read_text()
    assert len(password) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    htpasswd = path.parent / "htpasswd"
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o600
    assert password not in htpasswd.read_text()  # bcrypt

    replies = [
        live.http.get("/ready"),
        live.http.get(f"/v1/projects/{live.project}/jobs/{victim['job']}"),
        live.http.get(f"/v1/projects/{live.project}/jobs/{victim['job']}/build"),
        live.http.get(f"/v1/projects/{live.project}/jobs/{victim['job']}/runs"),
    ]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert password not in reply.text
    assert password not in live.process.output()
    assert password not in (path.parent / "registry.log").read_text(errors="replace")
    with contextlib.closing(sqlite3.connect(live.process.data_dir / "dockyard.db")) as db:
        stored = "\n".join(line for (line,) in db.execute("SELECT line FROM log_lines"))
    assert stored and password not in stored
