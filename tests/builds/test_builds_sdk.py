"""The official `northflank` SDK starts, lists, reads and aborts builds of a job and a build
service on a live dockyard, and drops a service's build cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from northflank import ApiClient, ApiClientContext
from northflank.errors import ApiCallError

from tests.builds.conftest import CONCLUDE_TIMEOUT, LiveDockyard
from tests.builds.test_job_builds import image_file, vcs_job
from tests.builds.test_service_builds import service

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(live: LiveDockyard) -> ApiClient:
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    return ApiClient(context=ApiClientContext(api_token=token, base_url=live.process.url))


def concluded(read: Callable[[], Any]) -> dict[str, Any]:
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not (build := read().data)["concluded"]:
        assert time.monotonic() < deadline, build
        time.sleep(0.2)
    return dict(build)


def test_sdk_job_build(live: LiveDockyard, sdk: ApiClient) -> None:
    job = vcs_job(live, "sdk job")
    ids = {"project_id": live.project, "job_id": job}

    started = sdk.start.job.build(**ids, data={"sha": live.sample.first}).data

    build = concluded(lambda: sdk.get.job.build(**ids, build_id=started["id"]))
    assert build["status"] == "SUCCESS" and build["success"] is True
    assert image_file(live, build["registry"]["uri"], "/hello.txt") == "hello v1\n"
    listed = sdk.get.job.builds(**ids).data["builds"]
    assert [b["id"] for b in listed] == [started["id"]]
    with pytest.raises(ApiCallError) as concluded_already:
        sdk.abort.job.build(**ids, build_id=started["id"])
    assert concluded_already.value.status == 409


def test_sdk_service_build_abort_and_cache(live: LiveDockyard, sdk: ApiClient) -> None:
    service_id = service(live, "sdk service")
    ids = {"project_id": live.project, "service_id": service_id}

    started = sdk.start.service.build(**ids, data={"branch": "feature"}).data
    assert started["status"] == "QUEUED" and started["branch"] == "feature"
    build = concluded(lambda: sdk.get.service.build(**ids, build_id=started["id"]))
    assert build["status"] == "SUCCESS" and build["sha"] == live.sample.feature

    queued = sdk.start.service.build(**ids, data={"pullRequestId": 7}).data
    sdk.abort.service.build(**ids, build_id=queued["id"])
    aborted = concluded(lambda: sdk.get.service.build(**ids, build_id=queued["id"]))
    assert aborted["status"] == "ABORTED"

    sdk.reset.service.build_cache(**ids)
    walked = sdk.get.service.builds.all(**ids).data["builds"]
    assert [b["id"] for b in walked] == [queued["id"], started["id"]]
