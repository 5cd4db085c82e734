"""`dockyard up` from an empty data dir: starts a registry, answers /ready, prints the URL and
an admin token that drives it through the official `northflank` Python SDK."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from northflank import ApiClient, ApiClientContext
from northflank.errors import ApiCallError

from tests.live import DockyardProcess

pytestmark = pytest.mark.e2e


def test_up_from_empty_data_dir(dockyard_process: DockyardProcess) -> None:
    dockyard_process.start().wait_ready()
    assert f"dockyard is up at {dockyard_process.url}" in dockyard_process.output()
    assert f"dashboard: {dockyard_process.url}/ui/" in dockyard_process.output()
    token = dockyard_process.admin_token()
    assert token, dockyard_process.output()

    login = httpx.get(f"{dockyard_process.url}/ui/", follow_redirects=True)
    assert login.status_code == 200 and "API token" in login.text, login.text[:200]
    assert httpx.get(f"{dockyard_process.url}/ui/static/vendor/htmx.min.js").status_code == 200

    ready = httpx.get(f"{dockyard_process.url}/ready").json()["data"]
    assert ready == {"database": "ok", "docker": "ok", "registry": "ok"}
    registry = f"http://127.0.0.1:{dockyard_process.registry_port}/v2/"
    assert httpx.get(registry).status_code == 401  # only dockyard gets in
    password = (dockyard_process.data_dir / "registry" / "password").read_text()
    assert httpx.get(registry, auth=("dockyard", password)).status_code == 200

    api = ApiClient(context=ApiClientContext(api_token=token, base_url=dockyard_process.url))
    created = api.create.project(data={"name": "Smoke Test", "description": "from the SDK"})
    assert created.data["id"] == "smoke-test"
    assert created.data["lifecycleStatus"] == "created"
    assert api.get.project(project_id="smoke-test").data["name"] == "Smoke Test"
    listed = api.list.projects()
    assert [p["id"] for p in listed.data["projects"]] == ["smoke-test"]
    assert listed.pagination is not None and listed.pagination.has_next_page is False

    with pytest.raises(ApiCallError) as clash:
        api.create.project(data={"name": "smoke test"})
    assert clash.value.status == 409

    api.delete.project(project_id="smoke-test")
    with pytest.raises(ApiCallError) as gone:
        api.get.project(project_id="smoke-test")
    assert gone.value.status == 404

    bad = ApiClient(context=ApiClientContext(api_token="dky_wrong", base_url=dockyard_process.url))
    with pytest.raises(ApiCallError) as denied:
        bad.list.projects()
    assert denied.value.status == 401


def test_second_start_keeps_data_and_prints_no_new_token(dockyard_process: DockyardProcess) -> None:
    dockyard_process.start().wait_ready()
    token = dockyard_process.admin_token()
    assert token
    api = ApiClient(context=ApiClientContext(api_token=token, base_url=dockyard_process.url))
    api.create.project(data={"name": "Survivor"})
    dockyard_process.stop()

    dockyard_process.start().wait_ready()
    assert dockyard_process.admin_token() is None
    assert api.get.project(project_id="survivor").data["id"] == "survivor"


def test_up_refuses_without_a_registry_it_may_start(dockyard_process: DockyardProcess) -> None:
    dockyard_process.env["DOCKYARD_REGISTRY_AUTOSTART"] = "false"
    dockyard_process.start()
    assert dockyard_process.process is not None
    assert dockyard_process.process.wait(timeout=60) == 1
    assert "no registry answers" in dockyard_process.output()


def test_api_and_worker_run_as_separate_processes(tmp_path: Path) -> None:
    api = DockyardProcess(data_dir=tmp_path / "shared", command="api").start()
    worker = DockyardProcess(data_dir=tmp_path / "shared", command="worker").start()
    try:
        api.wait_ready(path="/health")  # `api` starts no registry of its own
        assert api.admin_token() is None  # only `up` bootstraps the admin token
        deadline = time.monotonic() + 30
        while "worker started" not in worker.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "worker started" in worker.output()
        assert worker.stop(signal.SIGTERM) == 0
        assert "worker stopped" in worker.output()
    finally:
        api.stop(signal.SIGKILL)
        worker.stop(signal.SIGKILL)


def test_bad_setting_is_one_clear_line(dockyard_process: DockyardProcess) -> None:
    dockyard_process.env["DOCKYARD_MAX_CONCURRENT_BUILDS"] = "zero"
    dockyard_process.start()
    assert dockyard_process.process is not None
    assert dockyard_process.process.wait(timeout=60) == 1
    assert "DOCKYARD_MAX_CONCURRENT_BUILDS" in dockyard_process.output()
    assert "Traceback" not in dockyard_process.output()
