"""`dockyard backup` and `dockyard restore` on the real parts: a live installation backed up
while a run goes on and restored into a fresh data dir, where its secrets open, its image pulls
by digest, its history reads the same and new work runs; a PostgreSQL round trip; and the
archives and targets restore refuses."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from dockyard.app import create_app
from dockyard.auth import service as auth_service
from dockyard.cli.main import app
from dockyard.config import Settings
from dockyard.db.session import run_in_session, sync_url
from dockyard.migrations import prepare_storage, schema_revisions
from dockyard.secrets.crypto import new_key_text
from tests.builds.conftest import LiveDockyard, docker_config
from tests.conftest import POSTGRES_URL, issue_token, postgres_database
from tests.engine.test_private_registry import PASSWORD, USER, private_registry  # noqa: F401
from tests.live import DOCKER_HOST, DockyardProcess
from tests.runs.conftest import FAST, busybox_job, serving
from tests.ui.conftest import vcs_job_body

pytestmark = pytest.mark.e2e


def dockyard(command: str, path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`dockyard <command> <path>` in a child process, with `env` added to ours."""
    return subprocess.run(
        [sys.executable, "-m", "dockyard", command, str(path)],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def installation(data_dir: Path, registry_port: int) -> dict[str, str]:
    return {
        "DOCKYARD_DATA_DIR": str(data_dir),
        "DOCKYARD_REGISTRY": f"127.0.0.1:{registry_port}",
    }


def history(live: LiveDockyard, job: str) -> dict[str, Any]:
    """What a reader sees of a job: the job, its secrets, its builds and its runs."""
    runs = live.get(f"/jobs/{job}/runs")["runs"]
    return {
        "job": live.get(f"/jobs/{job}"),
        "secrets": live.get(f"/jobs/{job}/runtime-environment"),
        "builds": live.get(f"/jobs/{job}/build")["builds"],
        "runs": [live.get(f"/jobs/{job}/runs/{run['id']}") for run in runs],
    }


def test_backup_while_a_run_goes_on_restores_a_working_installation(tmp_path: Path) -> None:
    with serving(tmp_path / "first") as live:
        job = busybox_job(
            live,
            "built",
            "unused",
            runtimeEnvironment={"TOKEN": "hunter2-secret"},
            deployment={
                "vcs": {
                    "projectUrl": live.sample.repo.url,
                    "projectType": "github",
                    "projectBranch": "main",
                },
                "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
            },
            buildSettings={"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
        )
        build = live.post(f"/jobs/{job}/build", {})["id"]
        assert live.wait_for(f"/jobs/{job}/build/{build}")["status"] == "SUCCESS"
        run = live.post(f"/jobs/{job}/runs", {})["id"]
        assert live.wait_for(f"/jobs/{job}/runs/{run}")["status"] == "SUCCESS"
        going_job = busybox_job(live, "going", "echo going; sleep 60")
        going = live.post(f"/jobs/{going_job}/runs", {})["id"]
        live.wait_for(
            f"/jobs/{going_job}/runs/{going}", lambda _: "going" in live.lines_of("run", going)
        )
        archive = tmp_path / "backup.tar.gz"

        made = dockyard(
            "backup", archive, installation(live.process.data_dir, live.process.registry_port)
        )

        assert made.returncode == 0, made.stderr
        assert archive.stat().st_mode & 0o777 == 0o600
        assert "not included: source caches" in made.stdout, made.stdout
        before = history(live, job)
        logs = live.lines_of("run", run)
        digest = live.get(f"/jobs/{job}/build/{build}")["registry"]["digest"]
        token = live.http.headers["Authorization"]
        live.http.delete(f"/v1/projects/{live.project}/jobs/{going_job}/runs/{going}")
        registry_port = live.process.registry_port
        sample = live.sample
        project = live.project

    restored_dir = tmp_path / "restored"
    done = dockyard("restore", archive, installation(restored_dir, registry_port))
    assert done.returncode == 0, done.stderr
    assert "restored the local registry's storage" in done.stdout, done.stdout
    assert (restored_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    process = DockyardProcess(
        data_dir=restored_dir,
        registry_port=registry_port,
        env={
            "DOCKYARD_GIT_INSTEADOF": json.dumps(sample.repo.insteadof),
            "DOCKYARD_WORKER_LEASE_SECONDS": "3",
            "DOCKYARD_WORKER_POLL_SECONDS": "0.5",
            **FAST,
        },
    ).start()
    try:
        process.wait_ready()
        with httpx.Client(
            base_url=process.url, headers={"Authorization": token}, timeout=30
        ) as http:
            restored = LiveDockyard(process, http, sample, project)
            assert history(restored, job) == before
            assert before["secrets"]["runtimeEnvironment"] == {"TOKEN": "hunter2-secret"}
            assert restored.lines_of("run", run) == logs and "hello v2" in logs
            image = f"127.0.0.1:{registry_port}/{project}/built@{digest}"
            pull_by_digest(restored, image)
            again = restored.post(f"/jobs/{job}/build", {"sha": sample.first})["id"]
            assert restored.wait_for(f"/jobs/{job}/build/{again}")["status"] == "SUCCESS"
            rerun = restored.post(f"/jobs/{job}/runs", {})["id"]
            assert restored.wait_for(f"/jobs/{job}/runs/{rerun}")["status"] == "SUCCESS"
            assert "hello v1" in restored.lines_of("run", rerun)
    finally:
        process.stop(signal.SIGTERM)


def pull_by_digest(live: LiveDockyard, image: str) -> None:
    config = docker_config(live.process.data_dir.parent / "docker", live.registry_login)
    pulled = subprocess.run(
        ["docker", "pull", "--quiet", image],
        env=os.environ | {"DOCKER_HOST": DOCKER_HOST, "DOCKER_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pulled.returncode == 0, pulled.stderr
    subprocess.run(["docker", "rmi", image], env={"DOCKER_HOST": DOCKER_HOST}, capture_output=True)


def external(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The settings of an installation on an external registry (nothing listens there)."""
    return {
        "DOCKYARD_DATA_DIR": str(data_dir),
        "DOCKYARD_REGISTRY": "127.0.0.1:1",
        "DOCKYARD_REGISTRY_AUTOSTART": "false",
    } | ({"DOCKYARD_DATABASE_URL": database_url} if database_url else {})


def with_token(data_dir: Path, database_url: str | None = None) -> str:
    """A migrated installation holding one token; its secret."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        registry="127.0.0.1:1",
        registry_autostart=False,
    )
    prepare_storage(settings)
    return asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda session: auth_service.issue_token(session, name="kept", permissions=[]),
        )
    )


def token_names(url: str) -> list[str]:
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        names = [name for (name,) in connection.execute(text("SELECT name FROM api_tokens"))]
    engine.dispose()
    return names


@pytest.mark.postgres
def test_postgres_round_trip(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("DOCKYARD_TEST_POSTGRES_URL is not set")
    with postgres_database(POSTGRES_URL) as source, postgres_database(POSTGRES_URL) as target:
        with_token(tmp_path / "source", source)
        archive = tmp_path / "pg.tar.gz"
        made = dockyard("backup", archive, external(tmp_path / "source", source))
        assert made.returncode == 0, made.stderr
        assert "registry: external, 0 images" in made.stdout, made.stdout

        done = dockyard("restore", archive, external(tmp_path / "target", target))

        assert done.returncode == 0, done.stderr
        assert "restored the postgresql database" in done.stdout, done.stdout
        assert "0 of 0 images" in done.stdout
        assert token_names(target) == ["kept"]
        assert schema_revisions(target)[0] == schema_revisions(source)[0]
        again = dockyard("restore", archive, external(tmp_path / "third", target))
        assert again.returncode == 1 and "already has dockyard tables" in again.stderr


@pytest.fixture
def sqlite_archive(tmp_path: Path) -> Path:
    with_token(tmp_path / "source")
    archive = tmp_path / "sqlite.tar.gz"
    made = dockyard("backup", archive, external(tmp_path / "source"))
    assert made.returncode == 0, made.stderr
    return archive


def test_sqlite_round_trip_on_an_external_registry(sqlite_archive: Path, tmp_path: Path) -> None:
    done = dockyard("restore", sqlite_archive, external(tmp_path / "target"))

    assert done.returncode == 0, done.stderr
    assert token_names(f"sqlite:///{tmp_path / 'target' / 'dockyard.db'}") == ["kept"]
    assert (tmp_path / "target" / "secret.key").read_bytes() == (
        tmp_path / "source" / "secret.key"
    ).read_bytes()


def test_restore_refuses_a_data_dir_that_is_not_empty(sqlite_archive: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine\n")

    done = dockyard("restore", sqlite_archive, external(tmp_path / "busy"))

    assert done.returncode == 1 and "is not empty" in done.stderr, done.stderr
    assert sorted(os.listdir(tmp_path / "busy")) == ["notes.txt"]


def rewritten(archive: Path, into: Path, change: Any) -> Path:
    """A copy of `archive` with `change(name, data)` applied to each member's bytes."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(into, "w:gz") as copy:
        for member in source.getmembers():
            handle = source.extractfile(member)
            assert handle is not None
            data = change(member.name, handle.read())
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return into


def test_restore_refuses_a_tampered_archive(sqlite_archive: Path, tmp_path: Path) -> None:
    def tamper(name: str, data: bytes) -> bytes:
        return data.replace(b"kept", b"evil") if name.startswith("database/") else data

    tampered = rewritten(sqlite_archive, tmp_path / "tampered.tar.gz", tamper)

    done = dockyard("restore", tampered, external(tmp_path / "target"))

    assert done.returncode == 1, done.stdout
    assert "does not match its manifest" in done.stderr and "database/dockyard.db" in done.stderr
    assert not (tmp_path / "target").exists()


def test_restore_refuses_a_newer_schema(sqlite_archive: Path, tmp_path: Path) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["schemaRevisions"] = ["9999_from_the_future"]
        return json.dumps(manifest).encode()

    future = rewritten(sqlite_archive, tmp_path / "future.tar.gz", newer)

    done = dockyard("restore", future, external(tmp_path / "target"))

    assert done.returncode == 1, done.stdout
    assert "9999_from_the_future" in done.stderr and "newer than this dockyard" in done.stderr
    assert not (tmp_path / "target").exists()


def test_a_configured_key_is_restored_on_request_and_its_secrets_open(tmp_path: Path) -> None:
    sealing, older = new_key_text(), new_key_text()
    source = Settings(
        data_dir=tmp_path / "source",
        secret_key=f"{sealing},{older}",
        registry="127.0.0.1:1",
        registry_autostart=False,
    )
    token = issue_token(source, name="admin", is_admin=True)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(source), headers=headers) as client:
        project = client.post("/v1/projects", json={"name": "Keyed"}).json()["data"]["id"]
        body = vcs_job_body("Sealed") | {"runtimeEnvironment": {"TOKEN": "sealed-by-setting"}}
        made = client.post(f"/v1/projects/{project}/jobs/manual", json=body)
        assert made.status_code == 200, made.text
    configured = external(tmp_path / "source") | {"DOCKYARD_SECRET_KEY": source.secret_key or ""}
    without = in_process("backup", tmp_path / "without.tar.gz", env=configured)
    assert "key: not included: DOCKYARD_SECRET_KEY" in without.stdout
    archive = tmp_path / "with-key.tar.gz"
    made_backup = in_process("backup", archive, "--include-configured-key", env=configured)
    assert "key: DOCKYARD_SECRET_KEY (included on request)" in made_backup.stdout

    in_process("restore", archive, env=external(tmp_path / "target"))  # no key set there

    key_file = tmp_path / "target" / "secret.key"
    assert key_file.read_text() == f"{sealing}\n{older}\n"
    assert key_file.stat().st_mode & 0o777 == 0o600
    target = Settings(
        data_dir=tmp_path / "target", registry="127.0.0.1:1", registry_autostart=False
    )
    with TestClient(create_app(target), headers=headers) as client:
        opened = client.get(f"/v1/projects/{project}/jobs/sealed/runtime-environment")
        assert opened.status_code == 200, opened.text
        assert opened.json()["data"]["runtimeEnvironment"] == {"TOKEN": "sealed-by-setting"}


def in_process(*args: str | Path, env: dict[str, str]) -> Result:
    """A `dockyard` command in this process (no interpreter start), with `env` set."""
    result = CliRunner().invoke(app, [str(arg) for arg in args], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_on_an_external_registry_the_images_of_successful_builds_are_listed_and_verified(
    tmp_path: Path,
    private_registry: str,  # noqa: F811
) -> None:
    on_it = {
        "DOCKYARD_REGISTRY": private_registry,
        "DOCKYARD_REGISTRY_AUTOSTART": "false",
        "DOCKYARD_REGISTRY_USERNAME": USER,
        "DOCKYARD_REGISTRY_PASSWORD": PASSWORD,
        "DOCKYARD_REGISTRY_RETRY_SCALE": "0.01",
    }
    with serving(tmp_path / "first", **on_it) as live:
        vcs = {"projectUrl": live.sample.repo.url, "projectType": "github", "projectBranch": "main"}
        job = busybox_job(
            live,
            "pushed",
            "unused",
            deployment={"vcs": vcs},
            buildSettings={"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
        )
        build = live.post(f"/jobs/{job}/build", {})["id"]
        assert live.wait_for(f"/jobs/{job}/build/{build}")["status"] == "SUCCESS"
        digest = live.get(f"/jobs/{job}/build/{build}")["registry"]["digest"]
        archive = tmp_path / "external.tar.gz"
        in_process("backup", archive, env={"DOCKYARD_DATA_DIR": str(live.process.data_dir)} | on_it)
        project = live.project

    with tarfile.open(archive, "r:gz") as opened:
        manifest = json.load(opened.extractfile("manifest.json"))
        listed = json.load(opened.extractfile("registry/images.json"))
    registry = manifest["included"]["registry"]
    assert registry == {"kind": "external", "registry": private_registry, "count": 1}
    assert "registry/images.json" in manifest["members"]
    assert not any(name.startswith("registry/local/") for name in manifest["members"])
    [image] = listed
    assert image["build"] == build and image["digest"] == digest
    assert image["image"].startswith(f"{private_registry}/{project}/pushed")

    restored = external(tmp_path / "restored") | on_it
    done = in_process("restore", archive, env=restored)
    assert f"1 of 1 images of successful builds answer at {private_registry}" in done.stdout
    elsewhere = external(tmp_path / "elsewhere") | {"DOCKYARD_REGISTRY_RETRY_SCALE": "0.01"}
    missing = CliRunner().invoke(app, ["restore", str(archive)], env=elsewhere)
    assert missing.exit_code == 1, missing.output
    assert f"missing: {image['image']}@{digest}" in missing.stderr
